"""Shared pieces of the JSON API tests: API clients with tokens, bearer HTTP clients, row counts.

Tests here never change the shared personas (other suites sign in as them): they create their
own users, teams and invitations, with unique markers, and assert exact values on those.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.security.permissions import (
    ADMIN_AUDIT_READ,
    ADMIN_TEAMS_MANAGE,
    ADMIN_USERS_MANAGE,
    ADMIN_USERS_READ,
)
from app.security.services.api_clients import IssuedClient
from tests.helpers import http
from tests.world import TenantWorld

ADMIN_SCOPES = [ADMIN_AUDIT_READ, ADMIN_TEAMS_MANAGE, ADMIN_USERS_MANAGE, ADMIN_USERS_READ]
PROBLEM = "application/problem+json"
# Tables an API write may touch, counted before and after a refused request ("nothing written").
TENANT_TABLES = ("users", "user_roles", "invitations", "teams", "audit_log", "idempotency_keys")


def marker() -> str:
    return f"m{uuid.uuid4().hex[:10]}"


async def new_client(tenant: TenantWorld, scopes: list[str], name: str = "API test") -> IssuedClient:
    from tenants.service import create_api_client

    return await create_api_client(tenant.slug, name=name, scopes=scopes)


async def token_for(app: Any, tenant: TenantWorld, issued: IssuedClient, scope: str | None = None) -> str:
    data = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    async with http(app, tenant.host) as c:
        r = await c.post("/oauth/token", data=data, auth=(issued.client.client_id, issued.client_secret))
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


@asynccontextmanager
async def bearer(app: Any, host: str, token: str) -> AsyncIterator[httpx.AsyncClient]:
    async with http(app, host) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


@pytest.fixture(scope="session")
async def acme_admin(app: Any, acme: TenantWorld) -> IssuedClient:
    """An acme API client holding the administration scopes."""
    return await new_client(acme, ADMIN_SCOPES, name="Acme admin integration")


@pytest.fixture
async def api(app: Any, acme: TenantWorld, acme_admin: IssuedClient) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP client on acme's host with a fresh token of ``acme_admin``."""
    async with bearer(app, acme.host, await token_for(app, acme, acme_admin)) as c:
        yield c


async def row_counts(tenant: TenantWorld) -> dict[str, int]:
    from app.kernel.db import get_database

    async with get_database().engine.connect() as conn:
        counts = {
            t: (await conn.execute(text(f'SELECT count(*) FROM "{tenant.schema}".{t}'))).scalar_one()
            for t in TENANT_TABLES
        }
        counts["outbox"] = (await conn.execute(text("SELECT count(*) FROM public.outbox"))).scalar_one()
    return counts


def problem_of(r: httpx.Response) -> dict[str, Any]:
    assert r.headers["content-type"] == PROBLEM, (r.status_code, r.headers["content-type"], r.text)
    body: dict[str, Any] = r.json()
    assert body["status"] == r.status_code
    assert body["type"] == f"https://tessera.dev/problems/{body['code']}"
    return body


async def create_user(tenant: TenantWorld, email: str, full_name: str, roles: list[str], **kw: Any) -> int:
    from app.security.services.users import create_user as create
    from tenants.service import in_tenant

    async with in_tenant(tenant.slug) as (session, _ref):
        user = await create(
            session, email=email, full_name=full_name, password="correct horse battery", role_keys=roles, **kw
        )
        return user.id


async def create_team(tenant: TenantWorld, name: str) -> int:
    from app.security.services.teams import create_team as create
    from tenants.service import in_tenant

    async with in_tenant(tenant.slug) as (session, _ref):
        return (await create(session, name=name, manager_id=None)).id


async def foreign_user(tenant: TenantWorld) -> int:
    """A user of ``tenant`` whose id no other tenant of the test world has (ids are per schema)."""
    from app.kernel.db import get_database

    table = f'"{tenant.schema}".users'
    async with get_database().engine.begin() as conn:  # far above any other tenant's ids, never backwards
        await conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"GREATEST(3000000, (SELECT coalesce(max(id), 0) + 1 FROM {table})), false)"
            )
        )
    return await create_user(tenant, f"{marker()}@example.com", "Foreign Person", ["sales_rep"])
