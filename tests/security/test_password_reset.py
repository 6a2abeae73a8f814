"""Password reset by e-mailed link: signed, expiring, single-use (PLAT-3)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from app.kernel.db import get_database, utcnow
from app.kernel.outbox import OutboxEvent
from app.security.models import OneTimeToken, User
from app.security.services.auth import issue_reset_token
from app.security.services.users import create_user
from tenants.service import in_tenant
from tests.helpers import browser, login
from tests.world import PASSWORD


async def _events(topic: str) -> int:
    async with get_database().shared_session() as s:
        return int(
            await s.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.topic == topic))
        )


async def _token_for(email: str) -> str:
    async with in_tenant("acme") as (session, _):
        user = (await session.execute(select(User).where(User.email == email))).scalar_one()
        return await issue_reset_token(session, user)


async def test_request_looks_the_same_for_unknown_and_known_addresses(app, acme):
    before = await _events("security.password_reset_requested")
    async with browser(app, acme) as b:
        await b.get("/password/forgot")
        unknown = await b.post("/password/forgot", {"email": "nobody@acme.example"})
        known = await b.post("/password/forgot", {"email": acme.email("nora")})
        assert unknown.status_code == known.status_code == 303
        assert unknown.headers["location"] == known.headers["location"] == "/login"
    assert await _events("security.password_reset_requested") == before + 1


async def test_reset_link_sets_a_new_password_once(app, acme):
    async with in_tenant("acme") as (session, _):
        await create_user(
            session,
            email="reset-me@acme.example",
            full_name="Reset Me",
            password=PASSWORD,
            role_keys=["employee"],
        )
    token = await _token_for("reset-me@acme.example")
    async with browser(app, acme) as b:
        page = await b.get(f"/password/reset?token={token}")
        assert page.status_code == 200
        assert "reset-me@acme.example" in page.text
        short = await b.post("/password/reset", {"token": token, "password": "short", "confirm": "short"})
        assert short.status_code == 422
        assert "Use at least 10 characters." in short.text
        mismatch = await b.post(
            "/password/reset",
            {"token": token, "password": "a new passphrase", "confirm": "another passphrase"},
        )
        assert mismatch.status_code == 422
        assert "The two passwords do not match." in mismatch.text
        ok = await b.post(
            "/password/reset", {"token": token, "password": "a new passphrase", "confirm": "a new passphrase"}
        )
        assert ok.status_code == 303
        assert (await b.get("/")).status_code == 200
    async with browser(app, acme) as b:
        again = await b.get(f"/password/reset?token={token}")
        assert again.status_code == 400
        assert "This link is not valid any more" in again.text
        await login(b, "reset-me@acme.example", "a new passphrase")


async def test_expired_and_forged_links_are_refused(app, acme):
    token = await _token_for(acme.email("nora"))
    async with get_database().tenant_session(acme.schema) as s:
        await s.execute(
            update(OneTimeToken)
            .where(OneTimeToken.used_at.is_(None))
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        await s.commit()
    async with browser(app, acme) as b:
        assert (await b.get(f"/password/reset?token={token}")).status_code == 400
        assert (await b.get("/password/reset?token=forged.token.value")).status_code == 400
        r = await b.post(
            "/password/reset", {"token": token, "password": "a new passphrase", "confirm": "a new passphrase"}
        )
        assert r.status_code == 400
    async with browser(app, acme) as b:  # the old password still works: nothing was changed
        await login(b, acme.email("nora"))


async def test_a_new_link_replaces_the_previous_one(app, acme):
    first = await _token_for(acme.email("bob"))
    second = await _token_for(acme.email("bob"))
    async with browser(app, acme) as b:
        assert (await b.get(f"/password/reset?token={first}")).status_code == 400
        assert (await b.get(f"/password/reset?token={second}")).status_code == 200


async def test_a_link_for_one_tenant_does_not_work_on_another(app, acme, globex):
    token = await _token_for(acme.email("alice"))
    async with browser(app, globex) as b:
        assert (await b.get(f"/password/reset?token={token}")).status_code == 400


async def test_a_retried_mail_job_issues_the_same_link(acme):
    """The worker derives the secret from the event id: a retry after a failed commit re-mails a
    link that works (tests/workers cover the mail itself)."""
    from app.security.models import User as UserModel

    async with in_tenant("acme") as (session, _):
        user = (
            await session.execute(select(UserModel).where(UserModel.email == acme.email("nora")))
        ).scalar_one()
        first = await issue_reset_token(session, user, seed="event-123")
        await session.rollback()  # the first attempt's transaction failed after sending
    async with in_tenant("acme") as (session, _):
        user = (
            await session.execute(select(UserModel).where(UserModel.email == acme.email("nora")))
        ).scalar_one()
        second = await issue_reset_token(session, user, seed="event-123")
        other = await issue_reset_token(session, user, seed="event-456")
    from app.security import tokens

    assert tokens.unsign(first, "password_reset", 60) == tokens.unsign(second, "password_reset", 60)
    assert tokens.unsign(other, "password_reset", 60) != tokens.unsign(second, "password_reset", 60)
