"""Signing in and out: credentials, throttling, session rotation and tenant binding (PLAT-3)."""

from __future__ import annotations

from sqlalchemy import select

from app.security.models import User
from app.security.principal import Principal
from app.security.services.users import create_user, set_active
from app.security.sessions import COOKIE_NAME
from app.settings import reset_settings
from tenants.service import in_tenant
from tests.helpers import browser, login, signed_in
from tests.world import PASSWORD


async def test_wrong_password_is_refused_with_a_message_and_no_session(app, acme):
    async with browser(app, acme) as b:
        await b.get("/login")
        r = await b.post("/login", {"email": acme.email("alice"), "password": "not the password"})
        assert r.status_code == 401
        assert "The e-mail address or password is not correct." in r.text
        assert (await b.get("/")).status_code == 303


async def test_account_is_throttled_after_five_failures_even_with_the_right_password(app, acme):
    async with browser(app, acme) as b:
        await b.get("/login")
        for _ in range(5):
            r = await b.post("/login", {"email": acme.email("bob"), "password": "wrong password!"})
            assert r.status_code == 401
        r = await b.post("/login", {"email": acme.email("bob"), "password": PASSWORD})
        assert r.status_code == 429
        assert "Too many failed sign-in attempts. Try again in 15 minutes." in r.text
        assert 0 < int(r.headers["retry-after"]) <= 900


async def test_ip_is_throttled_across_accounts(app, acme, monkeypatch):
    monkeypatch.setenv("LOGIN_MAX_FAILURES_PER_IP", "3")
    reset_settings()
    try:
        async with browser(app, acme) as b:
            await b.get("/login")
            for who in ("ada", "sam", "nora"):
                r = await b.post("/login", {"email": acme.email(who), "password": "wrong password!"})
                assert r.status_code == 401
            r = await b.post("/login", {"email": acme.email("alice"), "password": PASSWORD})
            assert r.status_code == 429
    finally:
        monkeypatch.delenv("LOGIN_MAX_FAILURES_PER_IP")
        reset_settings()


async def test_sign_in_rotates_the_session_id(app, acme):
    async with browser(app, acme) as b:
        await b.get("/login")
        before = b.client.cookies.get(COOKIE_NAME)
        assert before
        await login(b, acme.email("alice"))
        after = b.client.cookies.get(COOKIE_NAME)
        assert after
        assert after != before
    async with browser(app, acme) as stale:  # the pre-login id carries no identity
        stale.client.cookies.set(COOKIE_NAME, before)
        assert (await stale.get("/")).status_code == 303


async def test_a_session_is_bound_to_its_tenant(app, acme, globex):
    async with signed_in(app, acme, "ada") as a:
        sid = a.client.cookies.get(COOKIE_NAME)
    async with browser(app, globex) as g:
        g.client.cookies.set(COOKIE_NAME, sid)
        r = await g.get("/")
        assert r.status_code == 303
        assert r.headers["location"] == "/login?next=/"


async def test_sign_out_ends_the_session(app, acme):
    async with signed_in(app, acme, "alice") as b:
        sid = b.client.cookies.get(COOKIE_NAME)
        assert (await b.post("/logout")).status_code == 303
    async with browser(app, acme) as again:
        again.client.cookies.set(COOKIE_NAME, sid)
        assert (await again.get("/")).status_code == 303


async def test_deactivating_a_user_ends_their_sessions(app, acme):
    async with in_tenant("acme") as (session, _):
        user = await create_user(
            session,
            email="temp-deact@acme.example",
            full_name="Temp",
            password=PASSWORD,
            role_keys=["employee"],
        )
    async with browser(app, acme) as b:
        await login(b, "temp-deact@acme.example")
        assert (await b.get("/")).status_code == 200
        async with in_tenant("acme") as (session, ref):
            admin = Principal(kind="user", id=acme.users["ada"], tenant=ref, label="ada", grants={})
            await set_active(session, admin, user.id, False)
        assert (await b.get("/")).status_code == 303
    async with in_tenant("acme") as (session, _):
        row = (await session.execute(select(User).where(User.id == user.id))).scalar_one()
        assert row.is_active is False


async def test_next_parameter_only_allows_local_paths(app, acme):
    async with browser(app, acme) as b:
        await b.get("/login")
        r = await b.post(
            "/login", {"email": acme.email("alice"), "password": PASSWORD, "next": "//evil.example/phish"}
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/"
    async with browser(app, acme) as b:
        await b.get("/login")
        r = await b.post("/login", {"email": acme.email("alice"), "password": PASSWORD, "next": "/profile"})
        assert r.headers["location"] == "/profile"
