"""Running the two Alembic tracks (PLAT-2).

* ``upgrade_shared`` — the public schema.
* ``migrate_all`` — every tenant behind head, found with one query, in a bounded pool of worker
  processes; one transaction per tenant with ``lock_timeout``; each tenant's outcome recorded in
  ``tenants.schema_revision`` / ``migration_error`` and ``tenant_migration_log``. A failure in one
  tenant never stops the others, and a re-run picks up exactly the tenants still behind.
* ``tenant_ddl_script`` — the tenant track rendered offline as one SQL script; provisioning runs
  it under the new schema's ``search_path`` instead of replaying Alembic online (fast sign-up).

Why processes: Alembic's ``op``/``context`` are module-global proxies, so two migrations cannot
interleave in one interpreter (threads or asyncio tasks would corrupt each other's context).
"""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import os
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import Connection, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.kernel.db import asyncpg_url, utcnow, validate_schema_name
from app.settings import get_settings
from tenants.models import Tenant, TenantMigrationLog

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "migrations" / "alembic.ini"
LIVE_STATUSES = ("active", "suspended", "deleted")  # purged tenants have no schema


def alembic_config(track: str) -> Config:
    cfg = Config(str(ALEMBIC_INI), ini_section=track)
    cfg.set_main_option("script_location", script_location(track))
    return cfg


def script_location(track: str) -> str:
    """Where a track's scripts live. ``TESSERA_TENANT_SCRIPT_LOCATION`` lets the fault tests run a
    copy of the tenant history with one extra migration (tests/tenants); unset, it is the repo's."""
    default = str(ALEMBIC_INI.parent / track)
    return (os.environ.get("TESSERA_TENANT_SCRIPT_LOCATION") or default) if track == "tenant" else default


@lru_cache(maxsize=2)
def _script(track: str) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(track))


def head(track: str) -> str:
    heads = _script(track).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the {track} track must have exactly one head, found {heads}")
    return heads[0]


def is_known_revision(track: str, revision: str) -> bool:
    """Whether this code's history holds ``revision`` (restore refuses archives from newer code)."""
    try:
        return _script(track).get_revision(revision) is not None
    except (RevisionError, CommandError):
        return False


# --- shared track ---------------------------------------------------------------------------


def upgrade_shared(connection: Connection) -> None:
    """Bring the public schema to head on ``connection`` (sync; use via ``run_sync``)."""
    cfg = alembic_config("shared")
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


async def shared_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        exists = await conn.scalar(text("SELECT to_regclass('public.alembic_version_shared') IS NOT NULL"))
        if not exists:
            return None
        return await conn.scalar(text("SELECT version_num FROM public.alembic_version_shared"))


# --- tenant track ---------------------------------------------------------------------------


@lru_cache(maxsize=4)
def tenant_ddl_script(revision: str | None = None) -> str:
    """The tenant track from nothing to ``revision`` (default head) as one schema-less SQL script."""
    cfg = alembic_config("tenant")
    buf = io.StringIO()
    cfg.output_buffer = buf
    command.upgrade(cfg, revision or head("tenant"), sql=True)
    return buf.getvalue()


def upgrade_tenant(connection: Connection, schema: str, *, lock_timeout: str = "5s") -> None:
    """Upgrade one tenant schema to head inside the caller's transaction (sync; ``run_sync``)."""
    script = _script("tenant")
    cfg = alembic_config("tenant")
    cfg.attributes.update(
        connection=connection, schema=validate_schema_name(schema), lock_timeout=lock_timeout
    )

    def _upgrade(rev: Any, _ctx: Any) -> Any:
        return script._upgrade_revs("head", rev)

    with EnvironmentContext(cfg, script, fn=_upgrade, destination_rev="head"):
        script.run_env()


@dataclass
class TenantResult:
    tenant_id: int
    slug: str
    from_revision: str | None
    to_revision: str | None
    ok: bool
    error: str | None
    duration_ms: int


@dataclass
class MigrateReport:
    run_id: str
    shared_revision: str | None
    tenant_head: str
    results: list[TenantResult] = field(default_factory=list)
    elapsed_s: float = 0.0
    stale_spares_dropped: int = 0
    unknown_slugs: list[str] = field(default_factory=list)  # asked for by --tenant, not live here

    @property
    def failed(self) -> list[TenantResult]:
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.unknown_slugs


def _engine(url: str, pool_size: int = 2) -> AsyncEngine:
    return create_async_engine(asyncpg_url(url), pool_size=pool_size, max_overflow=0)


async def _migrate_one(
    engine: AsyncEngine, run_id: str, target: str, row: tuple[int, str, str, str | None], lock_timeout: str
) -> TenantResult:
    tenant_id, slug, schema, before = row
    started = time.perf_counter()
    error: str | None = None
    try:
        async with engine.begin() as conn:
            await conn.run_sync(upgrade_tenant, schema, lock_timeout=lock_timeout)
            # Registry and schema move together: the registry never claims a revision the schema lacks.
            await conn.execute(
                update(Tenant)
                .where(Tenant.id == tenant_id)
                .values(schema_revision=target, migrated_at=utcnow(), migration_error=None)
            )
    except Exception as exc:  # one tenant's failure is reported, never fatal to the run
        error = f"{type(exc).__name__}: {exc}"[:2000]
    duration = int((time.perf_counter() - started) * 1000)
    async with engine.begin() as conn:
        if error:
            await conn.execute(update(Tenant).where(Tenant.id == tenant_id).values(migration_error=error))
        await conn.execute(
            insert(TenantMigrationLog).values(
                run_id=run_id,
                tenant_id=tenant_id,
                from_revision=before,
                to_revision=None if error else target,
                ok=error is None,
                error=error,
                duration_ms=duration,
                finished_at=utcnow(),
            )
        )
    return TenantResult(tenant_id, slug, before, None if error else target, error is None, error, duration)


async def _migrate_chunk_async(
    url: str, run_id: str, target: str, rows: list[tuple[int, str, str, str | None]], lock_timeout: str
) -> list[TenantResult]:
    engine = _engine(url)
    try:
        return [await _migrate_one(engine, run_id, target, row, lock_timeout) for row in rows]
    finally:
        await engine.dispose()


def _migrate_chunk(
    args: tuple[str, str, str, list[tuple[int, str, str, str | None]], str],
) -> list[TenantResult]:
    return asyncio.run(_migrate_chunk_async(*args))


async def tenants_behind(
    engine: AsyncEngine, target: str, slugs: Iterable[str] | None = None
) -> list[tuple[int, str, str, str | None]]:
    """The one query that decides the work: live tenants whose schema is not at ``target``."""
    stmt = (
        select(Tenant.id, Tenant.slug, Tenant.schema_name, Tenant.schema_revision)
        .where(Tenant.status.in_(LIVE_STATUSES), Tenant.schema_revision.is_distinct_from(target))
        .order_by(Tenant.id)
    )
    if slugs is not None:
        stmt = stmt.where(Tenant.slug.in_(list(slugs)))
    async with engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(stmt)).all()]  # type: ignore[misc]


def migrate_all(
    url: str | None = None,
    *,
    parallelism: int | None = None,
    slugs: Iterable[str] | None = None,
    lock_timeout: str = "5s",
    include_shared: bool = True,
) -> MigrateReport:
    """Shared schema to head, then every tenant behind head. Synchronous: it owns its processes."""
    url = url or get_settings().database_url or ""
    started = time.perf_counter()
    target = head("tenant")
    run_id = str(uuid.uuid4())

    wanted = sorted(set(slugs)) if slugs is not None else None

    async def _prepare() -> tuple[str | None, list[tuple[int, str, str, str | None]], list[str]]:
        engine = _engine(url)
        try:
            if include_shared:
                async with engine.begin() as conn:
                    await conn.run_sync(upgrade_shared)
            unknown: list[str] = []
            if wanted:  # a typo in --tenant must not pass for "nothing to do"
                async with engine.connect() as conn:
                    live = set(
                        (
                            await conn.execute(
                                select(Tenant.slug).where(
                                    Tenant.slug.in_(wanted), Tenant.status.in_(LIVE_STATUSES)
                                )
                            )
                        ).scalars()
                    )
                unknown = [s for s in wanted if s not in live]
            return await shared_revision(engine), await tenants_behind(engine, target, wanted), unknown
        finally:
            await engine.dispose()

    shared_rev, rows, unknown = asyncio.run(_prepare())
    report = MigrateReport(
        run_id=run_id, shared_revision=shared_rev, tenant_head=target, unknown_slugs=unknown
    )
    workers = max(1, min(parallelism or get_settings().migrate_parallelism, len(rows)))
    if rows:
        chunks = [rows[i::workers] for i in range(workers)]
        if workers == 1:
            report.results = _migrate_chunk((url, run_id, target, rows, lock_timeout))
        else:
            # fork: children start with no engine (the parent disposed its own) and skip re-imports.
            ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                for part in pool.map(
                    _migrate_chunk, [(url, run_id, target, c, lock_timeout) for c in chunks]
                ):
                    report.results.extend(part)
    report.results.sort(key=lambda r: r.tenant_id)
    if include_shared and not slugs:
        report.stale_spares_dropped = asyncio.run(_drop_stale_spares(url))
    report.elapsed_s = time.perf_counter() - started
    return report


async def _drop_stale_spares(url: str) -> int:
    """Spare schemas (tenants/spares.py) left at an older head are dropped; the job refills."""
    from tenants.spares import drop_stale_spares

    engine = _engine(url)
    try:
        return await drop_stale_spares(engine)
    finally:
        await engine.dispose()
