"""The app answers on tenant hosts, and a persona can sign in and out."""

from __future__ import annotations

from tests.helpers import browser, login


async def test_health_answers_on_any_host(app, acme):
    async with browser(app, "unknown.example") as b:
        r = await b.client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_sign_in_shows_home_then_sign_out(app, acme):
    async with browser(app, acme) as b:
        r = await b.get("/")
        assert r.status_code == 303
        assert r.headers["location"] == "/login?next=/"
        await login(b, acme.email("alice"))
        home = await b.get("/")
        assert home.status_code == 200
        assert "alice@acme.example" in home.text
        out = await b.post("/logout")
        assert out.status_code == 303
        again = await b.get("/")
        assert again.status_code == 303
