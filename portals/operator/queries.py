"""What the console reads (no writes here): the tenants table, one tenant's record with its
domains, migration history and platform audit trail, and the migrate-all report.

Reads run on the request's shared-schema session; lifecycle changes go through tenants.service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel.audit import PlatformAuditEntry
from app.kernel.i18n import lazy
from portals.tables import Column, Filter, TableSpec
from tenants.migrations import LIVE_STATUSES, head
from tenants.models import Tenant, TenantMigrationLog
from tenants.service import TenantNotFound

STATUSES = (
    ("active", lazy("Active")),
    ("suspended", lazy("Suspended")),
    ("deleted", lazy("Deleted")),
    ("purged", lazy("Purged")),
)
SCHEMA_STATES = (("behind", lazy("Behind head")), ("failed", lazy("Migration failed")))


def _schema_filter(stmt: Select[Any], value: str) -> Select[Any]:
    if value == "failed":
        return stmt.where(Tenant.migration_error.is_not(None))
    return stmt.where(
        Tenant.status.in_(LIVE_STATUSES), Tenant.schema_revision.is_distinct_from(head("tenant"))
    )


def _search(stmt: Select[Any], q: str) -> Select[Any]:
    like = f"%{q.replace('%', '').replace('_', '')}%"
    return stmt.where(or_(Tenant.slug.ilike(like), Tenant.name.ilike(like)))


TENANTS_TABLE = TableSpec(
    columns=[
        Column("slug", "Slug", Tenant.slug),
        Column("name", "Name", Tenant.name),
        Column("status", "Status", Tenant.status),
        Column("edition", "Edition", Tenant.edition),
        Column("schema_revision", "Schema revision", Tenant.schema_revision),
        Column("migration_error", "Migration error"),
        Column("created_at", "Created", Tenant.created_at),
    ],
    default_sort="slug",
    filters=[
        Filter("status", "Status", lambda stmt, v: stmt.where(Tenant.status == v), STATUSES),
        Filter("schema", "Schema", _schema_filter, SCHEMA_STATES),
    ],
    search=_search,
    tiebreak=Tenant.id,
)


def tenants_statement(status_filter: str | None) -> Select[Any]:
    """Purged tombstones only show when asked for: they are history, not customers."""
    stmt = select(Tenant)
    return stmt if status_filter == "purged" else stmt.where(Tenant.status != "purged")


async def tenant_by_slug(db: AsyncSession, slug: str) -> Tenant:
    """Any registry row, tombstones included (their page shows the history)."""
    tenant = (await db.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one_or_none()
    if tenant is None:
        raise TenantNotFound(slug)
    return tenant


async def audit_trail(db: AsyncSession, tenant_id: int, limit: int = 50) -> list[PlatformAuditEntry]:
    """Platform changes to the tenant's registry row and to its shared-schema rows (domains, API
    clients). Those rows are recognised by their creation entry, the one that records their
    ``tenant_id`` (an update entry holds only the columns that changed)."""
    tid = str(tenant_id)
    audit = PlatformAuditEntry
    owned = (
        select(audit.entity_id)
        .where(
            audit.entity_type.in_(("tenant_domains", "api_clients")),
            audit.after["tenant_id"].astext == tid,
        )
        .scalar_subquery()
    )
    mine = or_(
        (audit.entity_type == "tenants") & (audit.entity_id == tid),
        audit.entity_type.in_(("tenant_domains", "api_clients")) & audit.entity_id.in_(owned),
    )
    stmt = select(audit).where(mine).order_by(audit.id.desc()).limit(limit)
    return list((await db.execute(stmt)).scalars())


async def migration_history(db: AsyncSession, tenant_id: int, limit: int = 10) -> list[TenantMigrationLog]:
    stmt = (
        select(TenantMigrationLog)
        .where(TenantMigrationLog.tenant_id == tenant_id)
        .order_by(TenantMigrationLog.finished_at.desc(), TenantMigrationLog.id.desc())
        .limit(limit)
    )
    return list((await db.execute(stmt)).scalars())


@dataclass(frozen=True)
class MigrationRun:
    run_id: str
    finished_at: datetime
    tenants: int
    failed: int
    duration_ms: int


async def latest_runs(db: AsyncSession, limit: int = 20) -> list[MigrationRun]:
    log = TenantMigrationLog
    stmt = (
        select(
            log.run_id,
            func.max(log.finished_at),
            func.count(),
            func.count().filter(log.ok.is_(False)),
            func.max(log.duration_ms),
        )
        .group_by(log.run_id)
        .order_by(func.max(log.finished_at).desc())
        .limit(limit)
    )
    return [MigrationRun(*row) for row in (await db.execute(stmt)).all()]


async def run_results(db: AsyncSession, run_id: str) -> list[tuple[TenantMigrationLog, str]]:
    stmt = (
        select(TenantMigrationLog, Tenant.slug)
        .join(Tenant, Tenant.id == TenantMigrationLog.tenant_id)
        .where(TenantMigrationLog.run_id == run_id)
        .order_by(TenantMigrationLog.ok, Tenant.slug)
    )
    return [(row[0], row[1]) for row in (await db.execute(stmt)).all()]


async def recent_failures(db: AsyncSession, limit: int = 20) -> list[tuple[TenantMigrationLog, str]]:
    stmt = (
        select(TenantMigrationLog, Tenant.slug)
        .join(Tenant, Tenant.id == TenantMigrationLog.tenant_id)
        .where(TenantMigrationLog.ok.is_(False))
        .order_by(TenantMigrationLog.finished_at.desc(), TenantMigrationLog.id.desc())
        .limit(limit)
    )
    return [(row[0], row[1]) for row in (await db.execute(stmt)).all()]


@dataclass(frozen=True)
class SchemaSummary:
    live: int
    at_head: int
    behind: int
    failing: int


async def schema_summary(db: AsyncSession) -> SchemaSummary:
    target = head("tenant")
    live = Tenant.status.in_(LIVE_STATUSES)
    row = (
        await db.execute(
            select(
                func.count().filter(live),
                func.count().filter(live, Tenant.schema_revision == target),
                func.count().filter(live, Tenant.schema_revision.is_distinct_from(target)),
                func.count().filter(live, Tenant.migration_error.is_not(None)),
            )
        )
    ).one()
    return SchemaSummary(*row)


async def failing_tenants(db: AsyncSession) -> list[Tenant]:
    stmt = (
        select(Tenant)
        .where(Tenant.status.in_(LIVE_STATUSES), Tenant.migration_error.is_not(None))
        .order_by(case((Tenant.status == "active", 0), else_=1), Tenant.slug)
    )
    return list((await db.execute(stmt)).scalars())
