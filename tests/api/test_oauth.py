"""The token endpoint (RFC 6749 client credentials) and what a token may reach (PLAT-9)."""

from __future__ import annotations

from app.security.permissions import ADMIN_AUDIT_READ, ADMIN_USERS_READ
from tests.api.conftest import bearer, foreign_user, new_client, problem_of, token_for
from tests.helpers import http


async def test_client_secret_basic_issues_a_bearer_token(app, acme):
    issued = await new_client(acme, [ADMIN_USERS_READ, ADMIN_AUDIT_READ])
    async with http(app, acme.host) as c:
        r = await c.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(issued.client.client_id, issued.client_secret),
        )
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert (body["token_type"], body["expires_in"], body["scope"]) == (
        "Bearer",
        3600,
        "admin.audit.read admin.users.read",
    )
    assert len(body["access_token"]) == 43
    assert (r.headers["cache-control"], r.headers["pragma"]) == ("no-store", "no-cache")


async def test_client_secret_post_issues_a_token(app, acme):
    issued = await new_client(acme, [ADMIN_USERS_READ])
    async with http(app, acme.host) as c:
        r = await c.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": issued.client.client_id,
                "client_secret": issued.client_secret,
            },
        )
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == ADMIN_USERS_READ


async def test_a_token_carries_only_the_requested_scopes(app, acme):
    issued = await new_client(acme, [ADMIN_USERS_READ, ADMIN_AUDIT_READ])
    token = await token_for(app, acme, issued, scope=ADMIN_AUDIT_READ)
    async with bearer(app, acme.host, token) as c:
        me = await c.get("/api/v1/me")
        users = await c.get("/api/v1/users")
    assert me.json()["scopes"] == [ADMIN_AUDIT_READ]
    assert users.status_code == 403  # the client holds admin.users.read, this token does not
    assert problem_of(users)["code"] == "forbidden"


async def test_a_wrong_secret_is_invalid_client(app, acme):
    issued = await new_client(acme, [ADMIN_USERS_READ])
    async with http(app, acme.host) as c:
        basic = await c.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(issued.client.client_id, "not-the-secret"),
        )
        posted = await c.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": issued.client.client_id,
                "client_secret": "nope",
            },
        )
        unknown = await c.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("tsr_000000000000000000000000", "x"),
        )
    for r in (basic, posted, unknown):
        assert r.status_code == 401, r.text
        assert r.json()["error"] == "invalid_client"


async def test_an_unsupported_grant_is_refused(app, acme):
    issued = await new_client(acme, [ADMIN_USERS_READ])
    async with http(app, acme.host) as c:
        r = await c.post(
            "/oauth/token",
            data={"grant_type": "password", "username": "ada", "password": "x"},
            auth=(issued.client.client_id, issued.client_secret),
        )
    assert r.status_code == 400
    assert r.json()["error"] == "unsupported_grant_type"


async def test_a_scope_the_client_lacks_is_invalid_scope(app, acme):
    issued = await new_client(acme, [ADMIN_USERS_READ])
    async with http(app, acme.host) as c:
        r = await c.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "scope": ADMIN_AUDIT_READ},
            auth=(issued.client.client_id, issued.client_secret),
        )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_scope"


async def test_revoking_a_client_ends_its_live_tokens_at_once(app, acme):
    from app.security.services.api_clients import revoke_client
    from tenants.service import in_tenant

    issued = await new_client(acme, [ADMIN_USERS_READ])
    token = await token_for(app, acme, issued)
    async with bearer(app, acme.host, token) as c:
        assert (await c.get("/api/v1/me")).status_code == 200
        async with in_tenant(acme.slug) as (session, ref):
            await revoke_client(session, ref, issued.client.id)
        r = await c.get("/api/v1/me")
    assert r.status_code == 401
    assert problem_of(r)["code"] == "unauthorized"
    assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    async with http(app, acme.host) as c:
        again = await c.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(issued.client.client_id, issued.client_secret),
        )
    assert again.status_code == 401
    assert again.json()["error"] == "invalid_client"


async def test_a_suspended_tenants_tokens_are_refused_until_it_is_resumed(app, acme):
    from tenants.service import resume_tenant, suspend_tenant

    issued = await new_client(acme, [ADMIN_USERS_READ])
    token = await token_for(app, acme, issued)
    await suspend_tenant(acme.slug, reason="API test")
    try:
        async with bearer(app, acme.host, token) as on_host, bearer(app, "tessera.test", token) as neutral:
            refused = [await on_host.get("/api/v1/me"), await neutral.get("/api/v1/users")]
        async with http(app, acme.host) as c:
            new_token = await c.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(issued.client.client_id, issued.client_secret),
            )
    finally:
        await resume_tenant(acme.slug)
    for r in refused:
        assert r.status_code == 403
        assert problem_of(r)["code"] == "tenant_suspended"
    assert new_token.status_code == 401
    async with bearer(app, acme.host, token) as c:
        assert (await c.get("/api/v1/me")).status_code == 200


async def test_a_token_on_another_tenants_host_is_refused(app, acme, globex):
    token = await token_for(app, acme, await new_client(acme, [ADMIN_USERS_READ]))
    async with bearer(app, globex.host, token) as c:
        r = await c.get("/api/v1/users")
    assert r.status_code == 401
    body = problem_of(r)
    assert (body["code"], body["detail"]) == (
        "unauthorized",
        "This access token belongs to another organisation.",
    )
    assert "globex" not in r.text


async def test_on_a_neutral_host_a_token_reaches_only_its_own_tenant(app, acme, globex):
    token = await token_for(app, acme, await new_client(acme, [ADMIN_USERS_READ], name="Neutral host"))
    globex_user = await foreign_user(globex)
    for host in ("tessera.test", "api.integrations.example"):
        async with bearer(app, host, token) as c:
            me = await c.get("/api/v1/me")
            users = await c.get("/api/v1/users", params={"limit": 200})
            foreign = await c.get(f"/api/v1/users/{globex_user}")
        assert me.status_code == 200
        assert (me.json()["tenant"], me.json()["name"]) == ("acme", "Neutral host")
        emails = [u["email"] for u in users.json()["items"]]
        assert "ada@acme.example" in emails
        assert not [e for e in emails if "globex" in e]
        assert foreign.status_code == 404


async def test_an_invalid_token_is_a_401_problem(app, acme):
    async with bearer(app, acme.host, "not-a-token") as c:
        r = await c.get("/api/v1/me")
    assert r.status_code == 401
    assert problem_of(r)["detail"] == "The access token is invalid or has expired."


async def test_plain_http_in_production_is_a_client_error_not_a_crash(app, acme, monkeypatch):
    """Authlib refuses non-TLS token requests; in production that is the client's mistake (400)."""
    import dataclasses

    from app.security import oauth2
    from app.settings import get_settings

    production = dataclasses.replace(get_settings(), environment="production")
    monkeypatch.setattr(oauth2, "get_settings", lambda: production)
    issued = await new_client(acme, [ADMIN_USERS_READ])
    async with http(app, acme.host) as c:
        r = await c.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(issued.client.client_id, issued.client_secret),
        )
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_request", "error_description": "The token endpoint requires HTTPS."}
    assert r.headers["cache-control"] == "no-store"
