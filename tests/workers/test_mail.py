"""E-mailed links and notifications, end to end: service → outbox → relay → worker → SMTP → portal."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from sqlalchemy import func, select

from app.kernel.outbox import OutboxEvent
from app.notifications.service import EMAIL_REQUESTED, notify, save_preferences
from app.security.models import User
from app.security.principal import Principal
from app.security.services.auth import request_password_reset
from app.security.services.invitations import INVITATION_CREATED, invite_user
from app.security.services.users import create_user, role_keys_of
from tenants.service import in_tenant
from tests.helpers import browser, login
from tests.workers.conftest import link_in, relay_all, text_of, wait_until
from workers.broker import get_broker
from workers.models import ProcessedMessage
from workers.relay import event_messages

NEW_PASSWORD = "a brand new passphrase"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"


async def _event_of(topic: str, key: str, value: int) -> OutboxEvent:
    async with in_tenant("acme") as (session, _):
        stmt = select(OutboxEvent).where(
            OutboxEvent.topic == topic, OutboxEvent.payload[key].as_integer() == value
        )
        return (await session.execute(stmt.order_by(OutboxEvent.id.desc()).limit(1))).scalar_one()


async def _new_user(email: str, password: str = "correct horse battery") -> int:
    async with in_tenant("acme") as (session, _):
        user = await create_user(
            session, email=email, full_name="Pat Person", password=password, role_keys=["employee"]
        )
        await session.flush()
        return user.id


async def _processed(event_id: uuid.UUID) -> int:
    async with in_tenant("acme") as (session, _):
        stmt = select(func.count()).select_from(ProcessedMessage).where(ProcessedMessage.event_id == event_id)
        return int(await session.scalar(stmt) or 0)


async def test_invitation_mail_links_to_a_working_sign_up(app, acme, mailbox, worker):
    email = unique("ivy")
    async with in_tenant("acme") as (session, ref):
        admin = Principal(kind="user", id=acme.users["ada"], tenant=ref, label="ada", grants={})
        invitation = await invite_user(
            session, admin, email=email, full_name="Ivy Invitee", role_keys=["sales_rep"], locale="en"
        )
    event = await _event_of(INVITATION_CREATED, "invitation_id", invitation.id)

    assert await relay_all() >= 1
    msg = await mailbox.wait_for(email)

    assert msg["Subject"] == "You're invited to join Acme Ltd on Tessera"
    assert msg["To"] == email
    assert msg["Message-ID"] == f"<{event.event_id}.invitation@tessera.test>"
    assert "Hello Ivy Invitee," in text_of(msg)
    assert "Acme Ltd" in text_of(msg)
    link = urlsplit(link_in(msg))
    assert (link.scheme, link.netloc, link.path) == ("http", "acme.tessera.test", "/invitation")
    token = link.query.removeprefix("token=")
    async with browser(app, acme) as b:
        page = await b.get(f"{link.path}?{link.query}")
        assert page.status_code == 200
        assert email in page.text
        r = await b.post(
            "/invitation",
            {"token": token, "full_name": "Ivy Invitee", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        )
        assert r.status_code == 303
    async with in_tenant("acme") as (session, _):
        user = (await session.execute(select(User).where(User.email == email))).scalar_one()
        assert user.full_name == "Ivy Invitee"
        assert await role_keys_of(session, [user.id]) == {user.id: ["sales_rep"]}


async def test_a_redelivered_event_mails_once(acme, mailbox, worker):
    email = unique("dup")
    async with in_tenant("acme") as (session, ref):
        admin = Principal(kind="user", id=acme.users["ada"], tenant=ref, label="ada", grants={})
        invitation = await invite_user(session, admin, email=email, role_keys=["employee"])
    event = await _event_of(INVITATION_CREATED, "invitation_id", invitation.id)
    await relay_all()
    await mailbox.wait_for(email)

    # The same message again, as a second relay (or a lost ack) would deliver it.
    broker = get_broker()
    again = [broker.enqueue(m).options["redis_message_id"] for m in event_messages(event)]
    await wait_until(
        lambda: not any(broker.client.hexists(f"{broker.namespace}:events.msgs", k) for k in again)
    )

    assert len(mailbox.to(email)) == 1
    assert await _processed(event.event_id) == 1


async def test_password_reset_link_works_once(app, acme, mailbox, worker):
    email = unique("pat")
    await _new_user(email)
    async with in_tenant("acme") as (session, _):
        await request_password_reset(session, email.upper())

    await relay_all()
    msg = await mailbox.wait_for(email)

    assert msg["Subject"] == "Choose a new password for Acme Ltd"
    assert "The link works once, for the next 2 hours." in text_of(msg)
    link = urlsplit(link_in(msg))
    assert (link.netloc, link.path) == ("acme.tessera.test", "/password/reset")
    token = link.query.removeprefix("token=")
    async with browser(app, acme) as b:
        assert (await b.get(f"{link.path}?{link.query}")).status_code == 200
        first = await b.post(
            "/password/reset", {"token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        )
        assert first.status_code == 303
    async with browser(app, acme) as b:
        await b.get("/login")
        second = await b.post(
            "/password/reset",
            {"token": token, "password": "another passphrase here", "confirm": "another passphrase here"},
        )
        assert second.status_code == 400
    async with browser(app, acme) as b:
        await login(b, email, NEW_PASSWORD)


async def test_notification_mail_honours_the_email_preference(acme, mailbox, worker):
    wants_mail, opted_out, changed_mind = unique("wants"), unique("optout"), unique("changed")
    ids = {e: await _new_user(e) for e in (wants_mail, opted_out, changed_mind)}
    async with in_tenant("acme") as (session, _):
        await save_preferences(session, ids[opted_out], {("system.announcement", "in_app")})
        for e in (wants_mail, opted_out, changed_mind):
            await notify(
                session,
                ids[e],
                "system.announcement",
                title="Office closed on Friday",
                body="Enjoy the long weekend.",
                link="/notifications",
            )
    # Switched off after the notification was raised, before the worker ran.
    async with in_tenant("acme") as (session, _):
        await save_preferences(session, ids[changed_mind], {("system.announcement", "in_app")})
        opted_out_events = await session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(
                OutboxEvent.topic == EMAIL_REQUESTED,
                OutboxEvent.payload["user_id"].as_integer() == ids[opted_out],
            )
        )
    assert opted_out_events == 0
    changed_event = await _event_of(EMAIL_REQUESTED, "user_id", ids[changed_mind])

    await relay_all()
    msg = await mailbox.wait_for(wants_mail)
    await wait_until(lambda: _processed(changed_event.event_id))

    assert msg["Subject"] == "Office closed on Friday"
    assert "Enjoy the long weekend." in text_of(msg)
    assert "http://acme.tessera.test/notifications" in text_of(msg)
    assert mailbox.to(opted_out) == []
    assert mailbox.to(changed_mind) == []
