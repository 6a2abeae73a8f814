"""Backup and restore of ONE tenant (PLAT-12), without a ``pg_dump`` binary.

An export is a ``.tar.gz``::

    manifest.json            slug, name, settings, schema revision, tables, row counts, sequences
    tenant/<table>.copy      every table of the tenant schema, PostgreSQL COPY text format
    shared/<table>.copy      the tenant's rows of shared tables (api_clients, tenant_domains)

It is read in one REPEATABLE READ snapshot, so the tables agree with each other. COPY text
format round-trips every type exactly and does not depend on type OIDs (binary COPY of arrays
of enums would).

Restore, in ONE transaction: a registry row, the schema built from the tenant DDL script *at
the archive's revision* (``tenant_ddl_script(revision)``), the data copied in (foreign keys are
dropped and re-added, so table order and cycles do not matter, and re-adding them validates
every row), sequences set, the shared rows re-attached, then the tenant track upgraded to head.
A failure anywhere leaves nothing behind. An archive from newer code (unknown revision) is
refused. API clients and domains that are in use by another tenant (restoring a copy beside
the original) are skipped and counted: credentials and host names are never shared.
"""

from __future__ import annotations

import json
import re
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app.kernel import context
from app.kernel.audit import PlatformAuditEntry, audited
from app.kernel.context import Actor
from app.kernel.db import get_database, utcnow, validate_schema_name
from app.kernel.errors import DomainError, FieldError, ValidationFailed
from app.settings import get_settings
from tenants.migrations import head, is_known_revision, tenant_ddl_script, upgrade_tenant
from tenants.models import Tenant
from tenants.provisioning import RESERVED_SLUGS, SLUG_RE, SlugTaken, schema_for
from tenants.routing import directory
from tenants.service import get_tenant

FORMAT = "tessera-tenant-export"
FORMAT_VERSION = 1
# The tenant's rows of shared tables, and the column that ties them to the tenant.
SHARED_TABLES = {"api_clients": "tenant_id", "tenant_domains": "tenant_id"}
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ArchiveInvalid(DomainError):
    status = 400
    title = "Archive not valid"

    def __init__(self, reason: str) -> None:
        super().__init__(
            "archive_invalid", "This is not a usable tenant export: {reason}", params={"reason": reason}
        )


class ArchiveRevisionUnknown(DomainError):
    status = 409
    title = "Archive from newer code"

    def __init__(self, revision: str) -> None:
        super().__init__(
            "archive_revision_unknown",
            "The archive's schema revision {revision} is unknown to this version of Tessera; "
            "restore it with the release that wrote it (or a later one).",
            params={"revision": revision},
        )


@dataclass
class Restored:
    slug: str
    tenant_id: int
    from_revision: str
    revision: str
    rows: dict[str, int] = field(default_factory=dict)
    shared_restored: dict[str, int] = field(default_factory=dict)
    shared_skipped: dict[str, int] = field(default_factory=dict)


# --- export ---------------------------------------------------------------------------------


def default_export_path(slug: str) -> Path:
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return get_settings().data_dir / "exports" / f"{slug}-{stamp}.tar.gz"


async def export_tenant(slug: str, output: str | Path | None = None) -> Path:
    """Write the archive (atomically: a half-written file never carries the final name)."""
    db = get_database()
    async with db.shared_session() as s:
        tenant = await get_tenant(s, slug)
    path = Path(output) if output else default_export_path(slug)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tessera-export-") as tmp:
        work = Path(tmp)
        manifest = await _dump(db.engine, tenant, work)
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        partial = path.with_name(path.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(work / "manifest.json", arcname="manifest.json")
            for entry in [*manifest["tables"], *manifest["shared"]]:
                tar.add(work / entry["file"], arcname=entry["file"])
        partial.replace(path)
    await _record_export(tenant, path, manifest)
    return path


async def _dump(engine: AsyncEngine, tenant: Tenant, work: Path) -> dict[str, Any]:
    schema = validate_schema_name(tenant.schema_name)
    (work / "tenant").mkdir()
    (work / "shared").mkdir()
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            await conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            raw = await _driver(conn)
            revision = await raw.fetchval(f'SELECT version_num FROM "{schema}".alembic_version')
            tables = []
            for name, columns in await _tables(raw, schema):
                file = f"tenant/{name}.copy"
                status = await raw.copy_from_query(
                    f'SELECT {_cols(columns)} FROM "{schema}"."{name}"',
                    output=str(work / file),
                    format="text",
                )
                tables.append({"name": name, "columns": columns, "rows": _copied(status), "file": file})
            sequences = {
                r["sequencename"]: r["last_value"]
                for r in await raw.fetch(
                    "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = $1 ORDER BY 1",
                    schema,
                )
            }
            shared = []
            for name, key in SHARED_TABLES.items():
                columns = [c for _n, c in await _columns(raw, "public", name)]
                file = f"shared/{name}.copy"
                status = await raw.copy_from_query(
                    f'SELECT {_cols(columns)} FROM public."{name}" WHERE "{key}" = $1 ORDER BY id',
                    tenant.id,
                    output=str(work / file),
                    format="text",
                )
                shared.append({"name": name, "columns": columns, "rows": _copied(status), "file": file})
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "slug": tenant.slug,
        "name": tenant.name,
        "status": tenant.status,
        "settings": {
            "edition": tenant.edition,
            "locale": tenant.locale,
            "timezone": tenant.timezone,
            "currency": tenant.currency,
            "database_key": tenant.database_key,
        },
        "schema_revision": revision,
        "created_at": tenant.created_at.isoformat(),
        "exported_at": utcnow().isoformat(),
        "tables": tables,
        "row_counts": {t["name"]: t["rows"] for t in tables},
        "sequences": sequences,
        "shared": shared,
    }


async def _record_export(tenant: Tenant, path: Path, manifest: dict[str, Any]) -> None:
    """A whole-tenant copy leaving the database is the most sensitive read there is: audit it."""
    ctx = context.current()
    actor = ctx.actor if ctx.actor.kind != "anonymous" else Actor.system("cli")
    async with get_database().engine.begin() as conn:
        await conn.execute(
            insert(PlatformAuditEntry).values(
                at=utcnow(),
                actor_kind=actor.kind,
                actor_id=actor.id,
                actor_label=actor.label[:254],
                action="tenants.export",
                event="tenant.exported",
                entity_type="tenants",
                entity_id=str(tenant.id),
                before=None,
                after={
                    "file": path.name,
                    "schema_revision": manifest["schema_revision"],
                    "rows": sum(manifest["row_counts"].values()),
                },
                ip=ctx.ip,
                user_agent=(ctx.user_agent or "")[:500] or None,
                request_id=ctx.request_id,
            )
        )


# --- restore --------------------------------------------------------------------------------


async def restore_tenant(archive: str | Path, as_slug: str | None = None) -> Restored:
    """Recreate a tenant from an export, under its own slug or ``as_slug``, at head revision."""
    with tempfile.TemporaryDirectory(prefix="tessera-restore-") as tmp:
        work = Path(tmp)
        manifest = _unpack(Path(archive), work)
        slug = (as_slug or manifest["slug"]).strip()
        _check_slug(slug)
        revision = manifest["schema_revision"]
        if not is_known_revision("tenant", revision):
            raise ArchiveRevisionUnknown(revision)
        return await _load(get_database().engine, manifest, slug, work)


def _unpack(archive: Path, work: Path) -> dict[str, Any]:
    """Read only the members the manifest names, by exact name (no path from the archive is used)."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            manifest = json.loads(_member(tar, "manifest.json"))
            _check_manifest(manifest)
            for kind in ("tables", "shared"):
                for entry in manifest[kind]:
                    target = work / f"{kind}-{entry['name']}.copy"
                    target.write_bytes(_member(tar, entry["file"]))
                    entry["local"] = str(target)
    except (tarfile.TarError, OSError, ValueError, KeyError, TypeError) as exc:
        raise ArchiveInvalid(str(exc) or type(exc).__name__) from exc
    return manifest


def _member(tar: tarfile.TarFile, name: str) -> bytes:
    member = tar.getmember(name)
    handle = tar.extractfile(member) if member.isfile() else None
    if handle is None:
        raise ValueError(f"{name} is not a file")
    return handle.read()


def _check_manifest(m: dict[str, Any]) -> None:
    if m.get("format") != FORMAT or m.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"unsupported format {m.get('format')!r} version {m.get('format_version')!r}")
    for kind, folder in (("tables", "tenant"), ("shared", "shared")):
        for entry in m[kind]:
            names = [entry["name"], *entry["columns"]]
            if not all(isinstance(n, str) and _IDENT.match(n) for n in names):
                raise ValueError(f"bad identifier in {entry['name']!r}")
            if entry["file"] != f"{folder}/{entry['name']}.copy" or (
                kind == "shared" and entry["name"] not in SHARED_TABLES
            ):
                raise ValueError(f"unexpected member {entry['file']!r}")
            if not isinstance(entry["rows"], int):
                raise ValueError(f"bad row count for {entry['name']!r}")


def _check_slug(slug: str) -> None:
    if not SLUG_RE.match(slug):
        raise ValidationFailed(
            [FieldError("slug", "Use 3–40 lower-case letters, digits or hyphens, starting with a letter.")]
        )
    if slug in RESERVED_SLUGS or "--" in slug:
        raise ValidationFailed([FieldError("slug", "This address is reserved; choose another.")])


async def _load(engine: AsyncEngine, manifest: dict[str, Any], slug: str, work: Path) -> Restored:
    schema = schema_for(slug)
    revision = manifest["schema_revision"]
    target = head("tenant")
    async with engine.begin() as conn:
        if await conn.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
            raise SlugTaken(slug)
        tenant_id = await _insert_registry_row(conn, manifest, slug, schema, revision)
        await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        raw = await _driver(conn)
        await raw.execute(f'SET LOCAL search_path TO "{schema}"')
        await raw.execute(tenant_ddl_script(revision))
        result = Restored(slug=slug, tenant_id=tenant_id, from_revision=revision, revision=revision)
        result.rows = await _copy_tenant_tables(raw, schema, manifest)
        await _restore_sequences(raw, schema, manifest["sequences"])
        for entry in manifest["shared"]:
            restored, skipped = await _copy_shared(raw, entry, tenant_id)
            result.shared_restored[entry["name"]], result.shared_skipped[entry["name"]] = restored, skipped
        await raw.execute("SET LOCAL search_path TO public")
        if revision != target:  # same transaction: a restore that cannot reach head leaves nothing
            await conn.run_sync(upgrade_tenant, schema, lock_timeout="30s")
            await conn.execute(
                update(Tenant)
                .where(Tenant.id == tenant_id)
                .values(schema_revision=target, migrated_at=utcnow())
            )
            result.revision = target
    get_database().forget_tenant(schema)
    directory.invalidate()  # the host may be cached as unknown in this process
    return result


async def _insert_registry_row(
    conn: AsyncConnection, m: dict[str, Any], slug: str, schema: str, revision: str
) -> int:
    settings = m["settings"]
    session = AsyncSession(bind=conn, info={})
    actor = context.current().actor
    with context.bound(actor=actor if actor.kind != "anonymous" else Actor.system("restore")):
        async with audited(session, "tenant.restored"):
            tenant = Tenant(
                slug=slug,
                name=m["name"],
                schema_name=schema,
                status="active",
                edition=settings["edition"],
                locale=settings["locale"],
                timezone=settings["timezone"],
                currency=settings["currency"],
                database_key=settings.get("database_key", "default"),
                schema_revision=revision,
                migrated_at=utcnow(),
            )
            session.add(tenant)
    return tenant.id


async def _copy_tenant_tables(raw: asyncpg.Connection, schema: str, m: dict[str, Any]) -> dict[str, int]:
    existing = dict(await _tables(raw, schema))
    for entry in m["tables"]:
        missing = set(entry["columns"]) - set(existing.get(entry["name"], []))
        if missing:
            raise ArchiveInvalid(
                f"table {entry['name']} has no column(s) {', '.join(sorted(missing))} "
                f"at revision {m['schema_revision']}"
            )
    foreign_keys = await raw.fetch(
        "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) AS def FROM pg_constraint c "
        "JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE n.nspname = $1 AND c.contype = 'f' ORDER BY 1, 2",
        schema,
    )
    for fk in foreign_keys:
        await raw.execute(f'ALTER TABLE "{schema}"."{fk["relname"]}" DROP CONSTRAINT "{fk["conname"]}"')
    # Migrations may seed rows (default settings, lookup data): the archive's rows replace them.
    if existing:
        await raw.execute("TRUNCATE " + ", ".join(f'"{schema}"."{t}"' for t in existing))
    rows: dict[str, int] = {}
    for entry in m["tables"]:
        table = f'"{schema}"."{entry["name"]}"'
        await raw.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")  # the data is already complete
        status = await raw.copy_to_table(
            entry["name"], schema_name=schema, source=entry["local"], columns=entry["columns"], format="text"
        )
        await raw.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        rows[entry["name"]] = _copied(status)
        if rows[entry["name"]] != entry["rows"]:
            raise ArchiveInvalid(
                f"table {entry['name']}: {rows[entry['name']]} rows, manifest says {entry['rows']}"
            )
    for fk in foreign_keys:  # validates every restored row against its parent
        await raw.execute(
            f'ALTER TABLE "{schema}"."{fk["relname"]}" ADD CONSTRAINT "{fk["conname"]}" {fk["def"]}'
        )
    return rows


async def _restore_sequences(raw: asyncpg.Connection, schema: str, sequences: dict[str, int | None]) -> None:
    """Sequences continue where the original stopped (ids of deleted rows are never reused), and
    never below the highest identity value actually present."""
    present = {
        r["sequencename"]
        for r in await raw.fetch("SELECT sequencename FROM pg_sequences WHERE schemaname = $1", schema)
    }
    for name, value in sequences.items():
        if name in present and value is not None and _IDENT.match(name):
            await raw.execute(f'SELECT setval(\'"{schema}"."{name}"\', {int(value)}, true)')
    identities = await raw.fetch(
        "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND a.attidentity <> '' "
        "AND NOT a.attisdropped",
        schema,
    )
    for r in identities:
        table, column = f'"{schema}"."{r["relname"]}"', r["attname"]
        top = await raw.fetchval(f'SELECT max("{column}") FROM {table}')
        seq = await raw.fetchval("SELECT pg_get_serial_sequence($1, $2)", table, column)
        if top is None or seq is None:
            continue
        last, called = await raw.fetchrow(f"SELECT last_value, is_called FROM {seq}")
        if not called or last < top:
            await raw.execute(f"SELECT setval('{seq}', {int(top)}, true)")


async def _copy_shared(raw: asyncpg.Connection, entry: dict[str, Any], tenant_id: int) -> tuple[int, int]:
    name, key = entry["name"], SHARED_TABLES[entry["name"]]
    current = [c for _n, c in await _columns(raw, "public", name)]
    unknown = set(entry["columns"]) - set(current)
    if unknown:
        raise ArchiveInvalid(f"shared table {name} has no column(s) {', '.join(sorted(unknown))}")
    staging = f"_restore_{name}"
    await raw.execute(
        f'CREATE TEMP TABLE "{staging}" (LIKE public."{name}" INCLUDING DEFAULTS) ON COMMIT DROP'
    )
    await raw.copy_to_table(staging, source=entry["local"], columns=entry["columns"], format="text")
    columns = [c for c in entry["columns"] if c != "id"]
    values = ", ".join("$1" if c == key else f'"{c}"' for c in columns)
    status = await raw.execute(
        f'INSERT INTO public."{name}" ({_cols(columns)}) SELECT {values} FROM pg_temp."{staging}" '
        "ORDER BY id ON CONFLICT DO NOTHING",
        tenant_id,
    )
    restored = int(status.rsplit(" ", 1)[-1])
    return restored, entry["rows"] - restored


# --- catalogue helpers -----------------------------------------------------------------------


async def _driver(conn: AsyncConnection) -> asyncpg.Connection:
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def _tables(raw: asyncpg.Connection, schema: str) -> list[tuple[str, list[str]]]:
    """Plain and partitioned tables (not partitions: their rows come through the parent), minus
    Alembic's version table, which the DDL script writes itself."""
    rows = await raw.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
        "AND c.relname <> 'alembic_version' ORDER BY c.relname",
        schema,
    )
    return [(r["relname"], [c for _n, c in await _columns(raw, schema, r["relname"])]) for r in rows]


async def _columns(raw: asyncpg.Connection, schema: str, table: str) -> list[tuple[int, str]]:
    """Stored columns in table order; generated columns are recomputed, never copied."""
    rows = await raw.fetch(
        "SELECT a.attnum, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 "
        "AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum",
        schema,
        table,
    )
    return [(r["attnum"], r["attname"]) for r in rows]


def _cols(columns: list[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _copied(status: str) -> int:
    """asyncpg returns the command tag, e.g. ``COPY 42``."""
    return int(status.rsplit(" ", 1)[-1])


def archive_manifest(archive: str | Path) -> dict[str, Any]:
    """The manifest of an archive, for display and tests."""
    with tarfile.open(archive, "r:gz") as tar:
        return json.loads(_member(tar, "manifest.json"))
