"""The tenant lifecycle as its users see it (PLAT-1): suspended → 403 page and 403 API problem,
resumed → access again, deleted → 404, purged → gone for good and the slug free again; unknown
hosts → 404 page or problem, never a 500."""

from __future__ import annotations

import html
from typing import Any

import pytest
from litestar import Request, get

from app.security.permissions import ADMIN_AUDIT_READ
from tenants import service
from tests.helpers import browser, http, login
from tests.tenants.support import registry_row, rows, schema_exists, value
from tests.world import BASE_DOMAIN, PASSWORD

SUSPENDED = "This organisation's access is suspended. Please contact your administrator or Tessera support."


@get("/api/v1/_lifecycle_probe", opt={"permission": ADMIN_AUDIT_READ, "host": "any"}, include_in_schema=False)
async def probe(request: Request[Any, Any, Any]) -> dict[str, str]:
    """Answers with the tenant the bearer token was bound to (independent of the API being built)."""
    return {"tenant": request.scope["state"]["tenant"].slug}


@pytest.fixture(scope="module")
async def api_app(world):
    from app.main import create_app

    app = create_app()
    app.register(probe)
    return app


async def bearer_token(app: Any, slug: str) -> tuple[str, tuple[str, str]]:
    issued = await service.create_api_client(slug, name="probe", scopes=[ADMIN_AUDIT_READ])
    credentials = (issued.client.client_id, issued.client_secret)
    async with http(app, f"{slug}.{BASE_DOMAIN}") as c:
        r = await c.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=credentials)
    assert r.status_code == 200, r.text
    return r.json()["access_token"], credentials


async def call_probe(app: Any, host: str, token: str) -> Any:
    async with http(app, host) as c:
        return await c.get("/api/v1/_lifecycle_probe", headers={"Authorization": f"Bearer {token}"})


async def test_a_suspended_tenant_is_refused_with_403_until_it_is_resumed(api_app, make_tenant):
    tenant = await make_tenant("susp")
    token, credentials = await bearer_token(api_app, tenant.slug)
    assert (await call_probe(api_app, tenant.host, token)).json() == {"tenant": tenant.slug}

    await service.suspend_tenant(tenant.slug, "unpaid invoice")

    async with browser(api_app, tenant) as b:
        for path in ("/login", "/", "/profile"):
            page = await b.get(path)
            assert page.status_code == 403, path
            assert page.headers["content-type"].startswith("text/html")
            assert SUSPENDED in html.unescape(page.text)
        attempt = await b.client.post("/login", data={"email": tenant.email("ada"), "password": PASSWORD})
        assert attempt.status_code == 403
    api = await call_probe(api_app, tenant.host, token)
    assert api.status_code == 403
    assert api.headers["content-type"] == "application/problem+json"
    assert api.json()["code"] == "tenant_suspended"
    assert api.json()["detail"] == (
        "This organisation's access is suspended. Please contact your administrator or Tessera support."
    )
    neutral = await call_probe(api_app, BASE_DOMAIN, token)  # the token names its tenant wherever it goes
    assert neutral.status_code == 403
    async with http(api_app, tenant.host) as c:
        fresh = await c.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=credentials)
    assert fresh.status_code == 401

    await service.resume_tenant(tenant.slug)

    assert (await call_probe(api_app, tenant.host, token)).json() == {"tenant": tenant.slug}
    async with browser(api_app, tenant) as b:
        await login(b, tenant.email("ada"))
        assert (await b.get("/")).status_code == 200


async def test_a_deleted_tenant_is_not_found_for_pages_and_api_until_restored(api_app, make_tenant):
    tenant = await make_tenant("del")
    token, _credentials = await bearer_token(api_app, tenant.slug)

    await service.delete_tenant(tenant.slug)

    async with browser(api_app, tenant) as b:
        page = await b.get("/login")
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert "The organisation was not found." in page.text
        problem = await b.client.get("/", headers={"Accept": "application/json"})
        assert problem.status_code == 404
        assert problem.json()["code"] == "unknown_tenant"
    api = await call_probe(api_app, tenant.host, token)
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"
    assert api.json()["code"] == "unknown_tenant"
    assert await registry_row(tenant.slug) == (
        tenant.id,
        "deleted",
        await value("SELECT schema_revision FROM public.tenants WHERE id = :i", i=tenant.id),
    )
    assert await schema_exists(tenant.schema)  # kept for the grace period

    await service.resume_tenant(tenant.slug)

    assert (await call_probe(api_app, tenant.host, token)).json() == {"tenant": tenant.slug}


async def test_a_purged_tenant_leaves_a_tombstone_and_its_slug_can_be_used_again(api_app, make_tenant):
    from app.kernel.db import get_database
    from tenants.domains import add_domain
    from tenants.service import get_tenant

    tenant = await make_tenant("gone")
    await bearer_token(api_app, tenant.slug)
    async with get_database().shared_session() as s:
        await add_domain(s, await get_tenant(s, tenant.slug), f"www.{tenant.slug}.example.org")
        await s.commit()

    await service.delete_tenant(tenant.slug)
    await service.purge_tenant(tenant.slug, force=True)

    assert not await schema_exists(tenant.schema)
    assert await value("SELECT count(*) FROM public.api_clients WHERE tenant_id = :i", i=tenant.id) == 0
    assert await value("SELECT count(*) FROM public.tenant_domains WHERE tenant_id = :i", i=tenant.id) == 0
    tombstone = await rows(
        "SELECT slug, schema_name, status, schema_revision, purged_at IS NOT NULL "
        "FROM public.tenants WHERE id = :i",
        i=tenant.id,
    )
    assert tombstone == [
        (f"purged~{tenant.id}~{tenant.slug}", f"purged~{tenant.id}~{tenant.schema}", "purged", None, True)
    ]
    async with browser(api_app, tenant) as b:
        assert (await b.get("/login")).status_code == 404

    again = await make_tenant(slug=tenant.slug)
    assert again.id != tenant.id
    assert again.schema == tenant.schema
    async with browser(api_app, again) as b:
        await login(b, again.email("ada"))
        assert (await b.get("/")).status_code == 200


@pytest.mark.parametrize(
    "host",
    [
        "nobody.tessera.test",
        "NOBODY.TESSERA.TEST:8080",
        "a.b.tessera.test",
        "crm.unknown-customer.com",
        "tessera.test.evil.example",
        "127.0.0.1",
        "[::1]:8000",
        "acme.tessera.test.",
    ],
)
async def test_unknown_hosts_answer_404_as_a_page_or_a_problem(app, world, host):
    async with http(app, "placeholder") as c:
        page = await c.get("/login", headers={"Host": host})
        problem = await c.get("/", headers={"Host": host, "Accept": "application/json"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "The organisation was not found." in page.text
    assert problem.status_code == 404
    assert problem.headers["content-type"] == "application/problem+json"
    assert problem.json()["code"] == "unknown_tenant"
