"""GET /api/v1/me and how the API authenticates: bearer tokens only (PLAT-9)."""

from __future__ import annotations

from app.security.permissions import ADMIN_TEAMS_MANAGE, ADMIN_USERS_READ
from tests.api.conftest import bearer, new_client, problem_of, token_for
from tests.helpers import http, signed_in


async def test_me_describes_the_calling_client(app, acme):
    issued = await new_client(acme, [ADMIN_USERS_READ, ADMIN_TEAMS_MANAGE], name="Warehouse sync")
    async with bearer(app, acme.host, await token_for(app, acme, issued)) as c:
        r = await c.get("/api/v1/me")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {
        "client_id": issued.client.client_id,
        "name": "Warehouse sync",
        "tenant": "acme",
        "scopes": ["admin.teams.manage", "admin.users.read"],
        "acts_for": None,
    }


async def test_without_a_token_the_api_answers_401_with_a_bearer_challenge(app, acme):
    async with http(app, acme.host) as c:
        r = await c.get("/api/v1/me")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="tessera"'
    assert problem_of(r) == {
        "type": "https://tessera.dev/problems/unauthorized",
        "title": "Authentication required",
        "status": 401,
        "code": "unauthorized",
        "detail": "A bearer access token is required.",
        "instance": "/api/v1/me",
    }


async def test_a_browser_session_does_not_authorise_api_calls(app, acme):
    """Cookies would make the API forgeable cross-site; the API accepts bearer tokens only."""
    async with signed_in(app, acme, "ada") as b:
        read = await b.client.get("/api/v1/users")
        write = await b.client.post("/api/v1/teams", json={"name": "Forged"})
    for r in (read, write):
        assert r.status_code == 401
        assert problem_of(r)["detail"] == "The API accepts OAuth2 bearer tokens only."
