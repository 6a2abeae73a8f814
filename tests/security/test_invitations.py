"""Accepting an invitation: signed, expiring, single-use; bad input changes nothing (PLAT-3)."""

from __future__ import annotations

from sqlalchemy import func, select

from app.kernel.outbox import OutboxEvent
from app.security.models import Invitation, User
from app.security.principal import Principal
from app.security.services.invitations import invite_user, issue_invitation_link_token, revoke_invitation
from app.security.services.users import role_keys_of
from tenants.service import in_tenant
from tests.helpers import browser


async def _invite(acme, email: str, roles: list[str]) -> tuple[int, str]:
    async with in_tenant("acme") as (session, ref):
        admin = Principal(kind="user", id=acme.users["ada"], tenant=ref, label="ada", grants={})
        inv = await invite_user(
            session, admin, email=email, full_name="Invited Person", role_keys=roles, locale="zh_Hans"
        )
        token = await issue_invitation_link_token(session, inv)
        events = await session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(
                OutboxEvent.topic == "security.invitation_created",
                OutboxEvent.payload["invitation_id"].as_integer() == inv.id,
            )
        )
        assert events == 1
        return inv.id, token


async def _user(email: str) -> User | None:
    async with in_tenant("acme") as (session, _):
        return (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()


async def test_accepting_creates_the_user_with_the_invited_roles(app, acme):
    inv_id, token = await _invite(acme, "new.hire@acme.example", ["sales_rep", "marketer"])
    async with browser(app, acme) as b:
        page = await b.get(f"/invitation?token={token}")
        assert page.status_code == 200
        assert "new.hire@acme.example" in page.text
        r = await b.post(
            "/invitation",
            {
                "token": token,
                "full_name": "New Hire",
                "password": "a fine passphrase",
                "confirm": "a fine passphrase",
            },
        )
        assert r.status_code == 303
        home = await b.get("/")
        assert home.status_code == 200
    user = await _user("new.hire@acme.example")
    assert user is not None
    assert user.full_name == "New Hire"
    assert user.locale == "zh_Hans"
    async with in_tenant("acme") as (session, _):
        assert (await role_keys_of(session, [user.id]))[user.id] == ["marketer", "sales_rep"]
        inv = await session.get(Invitation, inv_id)
        assert inv.status == "accepted"
        assert inv.accepted_user_id == user.id


async def test_bad_input_rerenders_with_errors_and_creates_nobody(app, acme):
    _, token = await _invite(acme, "careful@acme.example", ["employee"])
    async with browser(app, acme) as b:
        await b.get(f"/invitation?token={token}")
        r = await b.post(
            "/invitation", {"token": token, "full_name": "", "password": "short", "confirm": "other"}
        )
        assert r.status_code == 422
        assert "This field is required." in r.text
        assert "Use at least 10 characters." in r.text
        assert "The two passwords do not match." in r.text
    assert await _user("careful@acme.example") is None


async def test_a_used_or_revoked_invitation_link_is_refused(app, acme):
    _, token = await _invite(acme, "once@acme.example", ["employee"])
    async with browser(app, acme) as b:
        await b.get(f"/invitation?token={token}")
        ok = await b.post(
            "/invitation",
            {
                "token": token,
                "full_name": "Once",
                "password": "a fine passphrase",
                "confirm": "a fine passphrase",
            },
        )
        assert ok.status_code == 303
    async with browser(app, acme) as b:
        again = await b.get(f"/invitation?token={token}")
        assert again.status_code == 400
    _, token2 = await _invite(acme, "revoked@acme.example", ["employee"])
    async with in_tenant("acme") as (session, _):
        inv = (
            await session.execute(select(Invitation).where(Invitation.email == "revoked@acme.example"))
        ).scalar_one()
        await revoke_invitation(session, inv.id)
    async with browser(app, acme) as b:
        assert (await b.get(f"/invitation?token={token2}")).status_code == 400
    assert await _user("revoked@acme.example") is None


async def test_inviting_an_existing_user_or_unknown_role_is_refused(acme):
    import pytest

    from app.kernel.errors import Conflict, ValidationFailed

    async with in_tenant("acme") as (session, ref):
        admin = Principal(kind="user", id=acme.users["ada"], tenant=ref, label="ada", grants={})
        with pytest.raises(Conflict) as taken:
            await invite_user(session, admin, email=acme.email("alice"), role_keys=["employee"])
        assert taken.value.code == "email_taken"
        with pytest.raises(ValidationFailed) as bad:
            await invite_user(session, admin, email="not-an-email", role_keys=["no_such_role"])
        assert {e.field for e in bad.value.errors} == {"email", "roles"}
        with pytest.raises(ValidationFailed) as mixed:
            await invite_user(session, admin, email="mix@acme.example", role_keys=["customer", "sales_rep"])
        assert mixed.value.errors[0].message == "The customer role cannot be combined with staff roles."
