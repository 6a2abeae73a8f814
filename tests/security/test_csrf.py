"""CSRF protection on every form and htmx request that rides on the session cookie (PLAT-3)."""

from __future__ import annotations

from tests.helpers import browser, signed_in
from tests.world import PASSWORD


async def test_form_post_without_token_is_403_and_changes_nothing(app, acme):
    async with signed_in(app, acme, "alice") as b:
        r = await b.post("/profile", {"full_name": "Hacked Name", "locale": "en"}, csrf=False)
        assert r.status_code == 403
        assert "The form expired or was not sent from this site" in r.text
        profile = await b.get("/profile")
        assert "Alice Rep" in profile.text
        assert "Hacked Name" not in profile.text


async def test_form_post_with_a_wrong_token_is_403(app, acme):
    async with signed_in(app, acme, "alice") as b:
        r = await b.post("/profile", {"full_name": "X", "locale": "en", "csrf_token": "forged"})
        assert r.status_code == 403


async def test_token_of_another_session_is_refused(app, acme):
    async with signed_in(app, acme, "alice") as a, signed_in(app, acme, "sam") as s:
        r = await a.post("/profile", {"full_name": "Alice Rep", "locale": "en", "csrf_token": s.csrf})
        assert r.status_code == 403


async def test_htmx_request_carries_the_token_in_a_header(app, acme):
    async with signed_in(app, acme, "alice") as b:
        ok = await b.htmx("POST", "/notifications/read-all")
        assert ok.status_code == 200
        assert ok.headers["hx-redirect"] == "/notifications"
        b_without = await b.client.post("/notifications/read-all", headers={"HX-Request": "true"})
        assert b_without.status_code == 403


async def test_login_form_needs_the_token_of_the_page_it_came_from(app, acme):
    async with browser(app, acme) as b:
        r = await b.client.post("/login", data={"email": acme.email("alice"), "password": PASSWORD})
        assert r.status_code == 403
        assert (await b.get("/")).status_code == 303


async def test_json_api_with_bearer_tokens_needs_no_csrf(app, acme):
    from tenants.service import create_api_client
    from tests.helpers import http

    issued = await create_api_client("acme", name="csrf test", scopes=["admin.audit.read"])
    async with http(app, acme.host) as c:
        r = await c.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(issued.client.client_id, issued.client_secret),
        )
        assert r.status_code == 200
        assert r.json()["token_type"] == "Bearer"
