"""Ready tenant schemas (PLAT-1): sign-up renames one instead of creating ~50 tables on the spot.

The full tenant DDL grows with every context (44 tables with CRM; finance, supply chain, HR and
the hospital edition add more), and running it costs hundreds of milliseconds of catalog work.
So a small pool of *spare* schemas — the tenant track at head, empty, named
``tenant__spare_<hex>`` (no slug can produce a double underscore) — is kept ready by a
platform job, and provisioning claims one in its own transaction:

    SELECT ... FROM public.spare_schemas WHERE revision = head FOR UPDATE SKIP LOCKED LIMIT 1
    DELETE that row; ALTER SCHEMA tenant__spare_ab12 RENAME TO tenant_acme

A rename is a catalog update of one row: tables, indexes, sequences, constraints and triggers
refer to each other by OID, so they follow. Function *settings* hold names as text, so a
function created with ``SET search_path FROM CURRENT`` (docs/architecture.md, tenant migration
rules) is re-pointed at the new name in the same transaction. If provisioning fails, the rename
rolls back and the spare is still there. With no spare at head (pool empty, or a release
changed the tenant head) provisioning runs the DDL itself, as before.

``tessera migrate`` drops spares left at an older revision; the job refills the pool every
minute, and a claim publishes ``tenants.spare_claimed`` in the sign-up's transaction so its
replacement is built right after (one refill at a time, under an advisory lock).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import DateTime, String, delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.kernel.db import SharedBase, get_database, utcnow, validate_schema_name
from app.kernel.events import Event, subscribe
from app.kernel.logging import get_logger
from app.kernel.periodic import periodic
from app.settings import get_settings
from tenants.migrations import head, tenant_ddl_script

SPARE_PREFIX = "tenant__spare_"
log = get_logger("tessera.tenants")


class SpareSchema(SharedBase):
    """A ready, empty tenant schema at ``revision`` of the tenant track, waiting for a sign-up."""

    __tablename__ = "spare_schemas"
    __audit__ = False  # platform plumbing; the tenant it becomes is audited at provisioning

    schema_name: Mapped[str] = mapped_column(String(63), primary_key=True)
    revision: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


async def run_tenant_script(conn: AsyncConnection, schema: str, script: str) -> None:
    """The tenant track's offline DDL inside ``schema``, in one round trip (simple protocol)."""
    await conn.exec_driver_sql(f'SET LOCAL search_path TO "{validate_schema_name(schema)}"')
    raw = await conn.get_raw_connection()
    await raw.driver_connection.execute(script)  # type: ignore[union-attr]
    await conn.exec_driver_sql("SET LOCAL search_path TO public")


async def create_spare(engine: AsyncEngine) -> str:
    """One new spare schema at the tenant head (its own transaction)."""
    schema = validate_schema_name(SPARE_PREFIX + secrets.token_hex(6))
    async with engine.begin() as conn:
        await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        await run_tenant_script(conn, schema, tenant_ddl_script())
        row = {"schema_name": schema, "revision": head("tenant"), "created_at": utcnow()}
        await conn.execute(insert(SpareSchema).values(**row))
    return schema


async def claim_spare(conn: AsyncConnection, schema: str) -> bool:
    """Turn a spare at the tenant head into ``schema`` inside the caller's transaction.

    False when none is ready (the caller then creates the schema itself). Concurrent sign-ups
    skip each other's locked rows, so two never claim the same spare.
    """
    schema = validate_schema_name(schema)
    spare = await conn.scalar(
        select(SpareSchema.schema_name)
        .where(SpareSchema.revision == head("tenant"))
        .order_by(SpareSchema.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if spare is None:
        return False
    spare = validate_schema_name(spare)
    await conn.execute(delete(SpareSchema).where(SpareSchema.schema_name == spare))
    await conn.exec_driver_sql(f'ALTER SCHEMA "{spare}" RENAME TO "{schema}"')
    await _repoint_functions(conn, spare, schema)
    return True


async def _repoint_functions(conn: AsyncConnection, old: str, new: str) -> None:
    """Functions whose ``search_path`` setting names the old schema get the new name."""
    rows = await conn.execute(
        text(
            "SELECT p.oid::regprocedure::text AS sig, c.setting "
            "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace, "
            "LATERAL unnest(p.proconfig) AS c(setting) "
            "WHERE n.nspname = :schema AND c.setting LIKE 'search_path=%'"
        ),
        {"schema": new},
    )
    for sig, setting in rows.all():
        paths = [p.strip().strip('"') for p in setting.split("=", 1)[1].split(",")]
        value = ", ".join(f'"{new if p == old else p}"' for p in paths if p)
        await conn.exec_driver_sql(f"ALTER FUNCTION {sig} SET search_path TO {value}")


async def drop_stale_spares(engine: AsyncEngine) -> int:
    """Drop spares not at the tenant head (after a release); returns how many."""
    target = head("tenant")
    async with engine.begin() as conn:
        stale = list(
            (
                await conn.execute(
                    select(SpareSchema.schema_name)
                    .where(SpareSchema.revision != target)
                    .with_for_update(skip_locked=True)
                )
            ).scalars()
        )
        for schema in stale:
            await conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{validate_schema_name(schema)}" CASCADE')
        if stale:
            await conn.execute(delete(SpareSchema).where(SpareSchema.schema_name.in_(stale)))
    return len(stale)


REFILL_LOCK = 0x7E55_5BA2  # pg advisory lock: one refill at a time (the job and claim reactions)
SPARE_CLAIMED = "tenants.spare_claimed"


async def refill(engine: AsyncEngine, target: int | None = None) -> int:
    """Drop stale spares and create new ones until ``target`` (SPARE_SCHEMAS) are ready. One refill
    runs at a time (advisory lock): a second caller returns 0 at once instead of overshooting."""
    async with engine.connect() as lock:
        if not await lock.scalar(select(func.pg_try_advisory_lock(REFILL_LOCK))):
            return 0
        try:
            return await _refill(engine, target)
        finally:
            await lock.scalar(select(func.pg_advisory_unlock(REFILL_LOCK)))


async def _refill(engine: AsyncEngine, target: int | None) -> int:
    want = get_settings().spare_schemas if target is None else target
    await drop_stale_spares(engine)
    async with engine.connect() as conn:
        ready = int(
            await conn.scalar(
                select(func.count()).select_from(SpareSchema).where(SpareSchema.revision == head("tenant"))
            )
            or 0
        )
    created = 0
    for _ in range(max(0, want - ready)):
        await create_spare(engine)
        created += 1
    return created


@subscribe(SPARE_CLAIMED, max_retries=3, time_limit_ms=5 * 60_000)
async def refill_after_a_claim(_event: Event, _session: AsyncSession) -> None:
    """A sign-up took a spare (provisioning publishes this in its transaction): build its
    replacement now rather than at the next minute, so a second sign-up finds the pool full."""
    created = await refill(get_database().engine)
    if created:
        log.info("spare tenant schemas created after a sign-up", created=created)


@periodic("tenants.refill_spare_schemas", every=timedelta(minutes=1), per_tenant=False)
async def refill_spare_schemas(_session: AsyncSession) -> int:
    """The platform job: keep SPARE_SCHEMAS ready (each spare in its own transaction)."""
    created = await refill(get_database().engine)
    if created:
        log.info("spare tenant schemas created", created=created)
    return created
