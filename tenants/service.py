"""Tenant lifecycle (PLAT-1): list, suspend, resume, soft delete, purge — and acting inside one
tenant from the command line (users, API clients)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel import context
from app.kernel.audit import audited
from app.kernel.context import Actor
from app.kernel.db import get_database, unit_of_work, utcnow, validate_schema_name
from app.kernel.errors import Conflict, NotFound
from app.kernel.i18n import lazy
from app.kernel.logging import get_logger
from app.security import api_tokens
from app.security.models import ApiClient
from app.security.services.api_clients import IssuedClient, create_client
from app.security.services.users import create_user
from app.settings import get_settings
from tenants.models import Tenant
from tenants.routing import directory, tenant_ref

log = get_logger("tessera.tenants")


class TenantNotFound(NotFound):
    def __init__(self, slug: str) -> None:
        super().__init__(lazy("tenant"), code="tenant_not_found")
        self.params = {"what": f"tenant {slug}"}


async def list_tenants(include_purged: bool = False) -> list[Tenant]:
    async with get_database().shared_session() as s:
        stmt = select(Tenant).order_by(Tenant.slug)
        if not include_purged:
            stmt = stmt.where(Tenant.status != "purged")
        return list((await s.execute(stmt)).scalars())


async def get_tenant(session: AsyncSession, slug: str, *, lock: bool = False) -> Tenant:
    stmt = select(Tenant).where(Tenant.slug == slug)
    tenant = (await session.execute(stmt.with_for_update() if lock else stmt)).scalar_one_or_none()
    if tenant is None or tenant.status == "purged":
        raise TenantNotFound(slug)
    return tenant


@asynccontextmanager
async def _platform_change(actor: Actor | None = None) -> AsyncIterator[AsyncSession]:
    with context.bound(
        actor=actor
        or (context.current().actor if context.current().actor.kind != "anonymous" else Actor.system("cli"))
    ):
        async with unit_of_work(get_database().shared_session()) as s:
            yield s
    directory.invalidate()


async def suspend_tenant(slug: str, reason: str = "", actor: Actor | None = None) -> Tenant:
    async with _platform_change(actor) as s:
        t = await get_tenant(s, slug, lock=True)
        if t.status == "deleted":
            raise Conflict("tenant_deleted", "A deleted tenant cannot be suspended.")
        async with audited(s, "tenant.suspended"):
            t.status, t.suspended_at, t.suspended_reason = "suspended", utcnow(), reason or None
    return t


async def resume_tenant(slug: str, actor: Actor | None = None) -> Tenant:
    async with _platform_change(actor) as s:
        t = await get_tenant(s, slug, lock=True)
        async with audited(s, "tenant.resumed"):
            t.status, t.suspended_at, t.suspended_reason = "active", None, None
            t.deleted_at, t.purge_after = None, None
    return t


async def delete_tenant(slug: str, actor: Actor | None = None) -> Tenant:
    """Step one of two: access ends now; the schema is dropped after the grace period."""
    async with _platform_change(actor) as s:
        t = await get_tenant(s, slug, lock=True)
        async with audited(s, "tenant.deleted"):
            t.status, t.deleted_at = "deleted", utcnow()
            t.purge_after = utcnow() + timedelta(days=get_settings().tenant_purge_grace_days)
    return t


async def purge_tenant(slug: str, force: bool = False, actor: Actor | None = None) -> Tenant:
    """Step two: drop the schema and every shared row of the tenant; the registry row stays as a
    tombstone (status ``purged``) so its history remains auditable."""
    async with _platform_change(actor) as s:
        t = await get_tenant(s, slug, lock=True)
        if t.status != "deleted":
            raise Conflict("tenant_not_deleted", "Only a deleted tenant can be purged; delete it first.")
        if not force and t.purge_after and t.purge_after > utcnow():
            raise Conflict(
                "tenant_in_grace_period",
                "The tenant is in its grace period until {until}.",
                params={"until": t.purge_after.isoformat(timespec="minutes")},
            )
        schema = validate_schema_name(t.schema_name)
        await s.execute(select(1))  # keep the row lock while dropping
        conn = await s.connection()
        await conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        client_ids = list(
            (await s.execute(select(ApiClient.id).where(ApiClient.tenant_id == t.id))).scalars()
        )
        for table in ("api_clients", "tenant_domains"):
            await conn.exec_driver_sql(f"DELETE FROM public.{table} WHERE tenant_id = {int(t.id)}")
        async with audited(s, "tenant.purged"):
            t.status, t.purged_at, t.schema_revision = "purged", utcnow(), None
            # Free the address and the schema name for a new sign-up. The id comes first so that
            # truncating a long slug can never give back the original (or another tombstone's) value.
            t.slug = f"purged~{t.id}~{t.slug}"[:40]
            t.schema_name = f"purged~{t.id}~{schema}"[:63]
    get_database().forget_tenant(schema)
    for client_id in client_ids:  # live bearer tokens die with their clients
        await api_tokens.revoke_client(client_id)
    return t


async def purge_due_tenants() -> list[str]:
    async with get_database().shared_session() as s:
        due = (
            (
                await s.execute(
                    select(Tenant.slug).where(Tenant.status == "deleted", Tenant.purge_after <= utcnow())
                )
            )
            .scalars()
            .all()
        )
    purged, failed = [], []
    for slug in due:
        try:
            await purge_tenant(slug)
        except Exception as exc:  # one stuck tenant must not block the others; the job is retried
            log.error("purge failed", tenant=slug, error=repr(exc))
            failed.append(slug)
        else:
            purged.append(slug)
    if failed:
        raise RuntimeError(f"purge failed for {', '.join(failed)} (purged: {', '.join(purged) or '-'})")
    return purged


@asynccontextmanager
async def in_tenant(slug: str, actor: Actor | None = None) -> AsyncIterator[tuple[AsyncSession, Any]]:
    """A unit of work inside one tenant's schema, as ``actor`` (default: the CLI)."""
    async with get_database().shared_session() as s:
        t = await get_tenant(s, slug)
    ref = tenant_ref(t)
    with context.bound(tenant=ref, actor=actor or Actor.system("cli")):
        async with unit_of_work(get_database().tenant_session(ref.schema)) as session:
            yield session, ref


async def create_user_in_tenant(
    slug: str, *, email: str, full_name: str, password: str, role_keys: list[str]
) -> int:
    async with in_tenant(slug) as (session, _ref):
        user = await create_user(
            session, email=email, full_name=full_name, password=password, role_keys=role_keys
        )
        return user.id


async def create_api_client(
    slug: str, *, name: str, scopes: list[str], acting_user: str | None = None
) -> IssuedClient:
    async with in_tenant(slug) as (session, ref):
        return await create_client(session, ref, None, name=name, scopes=scopes, acting_user=acting_user)
