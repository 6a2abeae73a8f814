"""Admin › API clients: create (secret shown once), list, revoke; scopes limited to the admin's own."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import func, select

from app.security.models import ApiClient
from tests.admin.support import marker, one, row_with
from tests.helpers import http, signed_in


async def _client(tenant, name: str) -> ApiClient | None:
    return await one(
        tenant, select(ApiClient).where(ApiClient.tenant_id == tenant.id, ApiClient.name == name)
    )


async def _count(tenant) -> int:
    return await one(
        tenant, select(func.count()).select_from(ApiClient).where(ApiClient.tenant_id == tenant.id)
    )


async def _token(app, tenant, client_id: str, secret: str):
    async with http(app, tenant.host) as c:
        return await c.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        )


async def test_create_shows_the_secret_once_and_it_works(app, acme):
    name = f"Scanner sync {marker()}"
    async with signed_in(app, acme, "ada") as b:
        created = await b.post(
            "/admin/api-clients", {"name": name, "scopes": ["crm.lead.read", "admin.audit.read"]}
        )
        client = await _client(acme, name)
        assert created.status_code == 303  # a refresh cannot create a second client
        assert created.headers["location"] == f"/admin/api-clients/{client.id}/issued"
        r = await b.get(created.headers["location"])
        again = await b.get(created.headers["location"])
        listing = await b.get("/admin/api-clients")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    assert again.status_code == 303  # shown once: the second visit finds no secret
    assert "was shown once and cannot be shown again" in listing.text
    secret = re.search(r'id="client-secret">([^<]+)</div>', r.text).group(1)
    assert client.client_id in r.text
    assert client.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert "http://acme.tessera.test/oauth/token" in r.text
    assert f"curl -s -u '{client.client_id}:{secret}'" in r.text
    assert client.scopes == ["admin.audit.read", "crm.lead.read"]
    assert client.created_by_user_id == acme.users["ada"]
    token = await _token(app, acme, client.client_id, secret)
    assert token.status_code == 200
    assert token.json()["scope"] == "admin.audit.read crm.lead.read"
    row = row_with(listing.text, name)
    assert client.client_id in row
    assert "Active" in row
    assert secret not in listing.text


async def test_refused_client_rerenders_with_errors_and_creates_nothing(app, acme):
    before = await _count(acme)
    async with signed_in(app, acme, "ada") as b:
        form = await b.get("/admin/api-clients")
        empty = await b.post("/admin/api-clients", {"name": " "})
        beyond = await b.post("/admin/api-clients", {"name": "Portal bot", "scopes": ["customer.portal.use"]})
        unknown = await b.post(
            "/admin/api-clients", {"name": "Bot", "scopes": ["crm.lead.read", "root.all.do"]}
        )
    assert 'value="customer.portal.use"' not in form.text  # ada does not hold it: not offered
    assert 'value="crm.lead.read"' in form.text
    assert empty.status_code == 422
    assert "This field is required." in empty.text
    assert "Choose at least one scope." in empty.text
    assert beyond.status_code == 422
    assert "You cannot grant scopes you do not hold: customer.portal.use." in beyond.text
    assert unknown.status_code == 422
    assert "Unknown scope: root.all.do." in unknown.text
    assert 'value="crm.lead.read" checked' in unknown.text
    assert await _count(acme) == before


async def test_revoke_stops_the_client(app, acme):
    name = f"Old sync {marker()}"
    async with signed_in(app, acme, "ada") as b:
        created = await b.post("/admin/api-clients", {"name": name, "scopes": "admin.audit.read"})
        r = await b.get(created.headers["location"])
        secret = re.search(r'id="client-secret">([^<]+)</div>', r.text).group(1)
        client = await _client(acme, name)
        r = await b.post(f"/admin/api-clients/{client.id}/revoke")
        assert r.status_code == 303
        page = await b.get("/admin/api-clients")
    assert f"The API client {name} is revoked; its tokens stop working now." in page.text
    row = row_with(page.text, name)
    assert "Revoked" in row
    assert "/revoke" not in row
    assert (await _client(acme, name)).revoked_at is not None
    assert (await _token(app, acme, client.client_id, secret)).status_code == 401


async def test_another_tenants_clients_are_neither_listed_nor_revocable(app, acme, globex):
    from tenants.service import create_api_client

    theirs = await create_api_client(globex.slug, name=f"Globex only {marker()}", scopes=["admin.audit.read"])
    async with signed_in(app, acme, "ada") as b:
        listing = await b.get("/admin/api-clients")
        r = await b.post(f"/admin/api-clients/{theirs.client.id}/revoke")
    assert theirs.client.client_id not in listing.text
    assert r.status_code == 404
    assert (await _client(globex, theirs.client.name)).revoked_at is None


async def test_people_without_the_permission_get_403(app, acme):
    before = await _count(acme)
    async with signed_in(app, acme, "sam") as b:
        assert (await b.get("/admin/api-clients")).status_code == 403
        r = await b.post("/admin/api-clients", {"name": "Sam's bot", "scopes": "crm.lead.read"})
    assert r.status_code == 403
    assert await _count(acme) == before
