"""Helpers for CRM tests: act as a persona inside a tenant, count rows, snapshot tables.

    async with acting_as(acme, "alice") as (session, principal):
        lead = await leads.create_lead(session, principal, {...})

``acting_as`` binds the persona as the actor (so audit rows name them) and commits at the end,
like a request does; raise inside it (or use ``pytest.raises`` around a call) to roll back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel.context import Actor
from app.security.principal import Principal, load_user_principal
from tenants.service import in_tenant
from tests.world import TenantWorld


@asynccontextmanager
async def acting_as(tenant: TenantWorld, persona: str) -> AsyncIterator[tuple[AsyncSession, Principal]]:
    user_id = tenant.users[persona]
    async with in_tenant(tenant.slug, Actor(kind="user", id=user_id, label=persona)) as (session, ref):
        principal = await load_user_principal(session, ref, user_id)
        assert principal is not None
        yield session, principal


async def count_rows(tenant: TenantWorld, table: str, where: str = "true", **params: Any) -> int:
    """Rows of a tenant table (for "nothing was written" checks)."""
    async with in_tenant(tenant.slug) as (session, _):
        stmt = text(f'SELECT count(*) FROM "{tenant.schema}"."{table}" WHERE {where}')
        return int((await session.execute(stmt, params)).scalar_one())


async def table_counts(tenant: TenantWorld, *tables: str) -> dict[str, int]:
    """Row counts of several tables at once: compare before and after a refused write."""
    return {t: await count_rows(tenant, t) for t in tables}


async def outbox_count(topic: str) -> int:
    from app.kernel.db import get_database
    from app.kernel.outbox import OutboxEvent

    async with get_database().shared_session() as session:
        stmt = select(func.count()).select_from(OutboxEvent).where(OutboxEvent.topic == topic)
        return int((await session.execute(stmt)).scalar_one())


@asynccontextmanager
async def api_as(app: Any, tenant: TenantWorld, scopes: list[str]) -> AsyncIterator[Any]:
    """An HTTP client on the tenant's host with a fresh bearer token holding ``scopes``.

    async with api_as(app, acme, [CRM_LEAD_READ, CRM_LEAD_WRITE]) as api:
        r = await api.post("/api/v1/crm/leads", json={...})
    """
    from tests.api.conftest import bearer, new_client, token_for

    issued = await new_client(tenant, scopes, name="CRM API test")
    async with bearer(app, tenant.host, await token_for(app, tenant, issued)) as client:
        yield client


def problem_of(response: Any) -> dict[str, Any]:
    """The RFC 9457 body of an error response (asserts the media type and the stable type URI)."""
    from tests.api.conftest import problem_of as check

    return check(response)
