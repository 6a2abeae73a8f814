"""Sending campaigns (CRM-7) through a real SMTP server: freezing recipients, batches, retries."""

from __future__ import annotations

import email
import os
import threading
import uuid
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from app.crm.errors import InvalidState
from app.crm.models import Campaign, CampaignRecipient, EmailSuppression, Segment
from app.crm.services import campaign_sending, campaigns, segments, tracking
from app.kernel.errors import ValidationFailed
from app.kernel.outbox import OutboxEvent
from app.notifications.models import Notification
from app.settings import reset_settings
from tests.crm.factories.marketing import add_account, add_contact
from tests.crm.support import acting_as, count_rows, outbox_count
from tests.workers.conftest import free_port, text_of


class Inbox:
    """An SMTP server's mailbox that can refuse an address (550) or fail once mid-batch (451)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: set[str] = set()
        self.fail_after: int | None = None
        self._lock = threading.Lock()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            if self.fail_after is not None and len(self.messages) >= self.fail_after:
                self.fail_after = None
                return "451 4.3.0 Try again later"
            self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    saved = {k: os.environ.get(k) for k in ("SMTP_HOST", "SMTP_PORT")}
    os.environ.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(controller.port))
    reset_settings()
    yield box
    controller.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    reset_settings()


async def audience(acme, people: list[tuple[str | None, str]], **account: Any) -> tuple[int, str]:
    """A refreshed segment of one new account per (e-mail, name); returns (segment id, its region)."""
    region = f"R-{uuid.uuid4().hex[:8]}"
    async with acting_as(acme, "mia") as (s, mia):
        for address, name in people:
            a = await add_account(s, f"{name} Trading", region=region, **account)
            await add_contact(s, a.id, address, name)
        seg = await segments.create_segment(
            s, mia, {"name": f"Seg {region}", "rules": [{"field": "region", "op": "in", "value": [region]}]}
        )
        await segments.refresh_segment(s, seg.id)
    return seg.id, region


async def new_campaign(acme, segment_id: int | None, **values: Any) -> int:
    data = {
        "name": f"Launch {uuid.uuid4().hex[:6]}",
        "segment_id": segment_id,
        "subject": "News for {company}",
        "body": "Dear {name},\n\nOur new range is out: https://shop.example/new?utm=mail.\n\nThe team",
        **values,
    }
    async with acting_as(acme, "mia") as (s, mia):
        return (await campaigns.create_campaign(s, mia, data)).id


async def start(acme, campaign_id: int) -> int:
    async with acting_as(acme, "mia") as (s, _):
        return await campaign_sending.start_sending(s, campaign_id)


async def deliver(acme, campaign_id: int) -> list[dict[str, Any]]:
    """What the workers do: plan the batches, then run each (as published in the outbox)."""
    async with acting_as(acme, "ada") as (s, _):
        await campaign_sending.plan_batches(s, campaign_id)
    return await run_batches(acme, campaign_id)


async def run_batches(acme, campaign_id: int) -> list[dict[str, Any]]:
    from app.kernel.db import get_database

    async with get_database().shared_session() as shared:
        rows = await shared.execute(
            select(OutboxEvent.payload)
            .where(OutboxEvent.topic == "crm.campaign_batch_ready")
            .where(OutboxEvent.payload["campaign_id"].as_integer() == campaign_id)
            .order_by(OutboxEvent.id)
        )
        batches = list(rows.scalars())
    for p in batches:
        async with acting_as(acme, "ada") as (s, _):
            await campaign_sending.send_batch(s, campaign_id, p["after_id"], p["up_to_id"])
    return batches


async def recipients(acme, campaign_id: int) -> list[CampaignRecipient]:
    async with acting_as(acme, "ada") as (s, _):
        stmt = select(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign_id)
        return list((await s.execute(stmt.order_by(CampaignRecipient.id))).scalars())


async def status_of(acme, campaign_id: int) -> str:
    async with acting_as(acme, "ada") as (s, _):
        return (await s.get(Campaign, campaign_id)).status  # type: ignore[union-attr]


async def test_recipients_are_frozen_once_per_address_without_suppressed_ones(acme, inbox):
    tag = uuid.uuid4().hex[:6]
    seg_id, _ = await audience(
        acme,
        [(f"ann-{tag}@example.com", "Ann"), (f"ANN-{tag}@Example.com", "Ann Again"), (None, "No Mail"),
         (f"gone-{tag}@example.com", "Gone"), (f"ben-{tag}@example.com", "Ben")],
    )  # fmt: skip
    async with acting_as(acme, "ada") as (s, _):
        s.add(EmailSuppression(email=f"gone-{tag}@example.com", reason="unsubscribed"))
        # A contact of a member account that was archived, and a non-member's contact: never mailed.
        member = (await s.execute(select(Segment).where(Segment.id == seg_id))).scalar_one()
        assert member.member_count == 5
        other = await add_account(s, "Elsewhere", region="Nowhere")
        await add_contact(s, other.id, f"out-{tag}@example.com", "Out")
    campaign_id = await new_campaign(acme, seg_id)
    before = await outbox_count("crm.campaign_send_requested")

    assert await start(acme, campaign_id) == 2

    got = await recipients(acme, campaign_id)
    assert sorted((r.email.lower(), r.status, r.locale) for r in got) == [
        (f"ann-{tag}@example.com", "pending", "en"),
        (f"ben-{tag}@example.com", "pending", "en"),
    ]
    assert len({r.token for r in got}) == 2
    assert all(tracking.TOKEN_RE.match(r.token) for r in got)
    assert await status_of(acme, campaign_id) == "sending"
    assert await outbox_count("crm.campaign_send_requested") == before + 1


async def test_sending_mails_each_recipient_with_tracking_and_unsubscribe_headers(acme, inbox):
    tag = uuid.uuid4().hex[:6]
    seg_id, _ = await audience(
        acme, [(f"cai-{tag}@example.com", "蔡明"), (f"dora-{tag}@example.com", "Dora")]
    )
    campaign_id = await new_campaign(acme, seg_id)
    await start(acme, campaign_id)
    await deliver(acme, campaign_id)

    [msg] = inbox.to(f"cai-{tag}@example.com")
    [cai] = [r for r in await recipients(acme, campaign_id) if r.email.startswith("cai")]
    assert msg["Subject"] == "News for 蔡明 Trading"
    assert msg["Message-ID"] == f"<campaign-{campaign_id}.{cai.id}.acme@tessera.test>"
    assert msg["List-Unsubscribe"].strip() == f"<http://acme.tessera.test/u/{cai.token}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = text_of(msg).replace("\r\n", "\n")
    assert text.startswith(
        "Dear 蔡明,\n\nOur new range is out: https://shop.example/new?utm=mail.\n\nThe team\n\n-- \n"
    )
    assert f"http://acme.tessera.test/u/{cai.token}" in text
    html = msg.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert f'src="http://acme.tessera.test/t/o/{cai.token}.gif"' in html
    link = html.split('<a href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    parts = urlsplit(link)
    assert (parts.netloc, parts.path) == ("acme.tessera.test", f"/t/c/{cai.token}")
    query = parse_qs(parts.query)
    assert query["u"] == ["https://shop.example/new?utm=mail"]  # the full stop stays outside the link
    assert tracking.valid_link(query["u"][0], query["s"][0])
    assert ">https://shop.example/new?utm=mail</a>." in html

    assert [r.status for r in await recipients(acme, campaign_id)] == ["sent", "sent"]
    assert await status_of(acme, campaign_id) == "sent"
    async with acting_as(acme, "mia") as (s, _):
        notes = (
            await s.execute(select(Notification).where(Notification.user_id == acme.users["mia"]))
        ).scalars()
        titles = [n.title for n in notes if n.link == f"/marketing/campaigns/{campaign_id}/results"]
    assert titles == [
        f"The campaign {await name_of(acme, campaign_id)} is sent: 2 delivered, 0 failed, 0 skipped."
    ]


async def name_of(acme, campaign_id: int) -> str:
    async with acting_as(acme, "ada") as (s, _):
        return (await s.get(Campaign, campaign_id)).name  # type: ignore[union-attr]


async def test_batches_hold_at_most_the_batch_size(acme, inbox, monkeypatch):
    monkeypatch.setattr(campaign_sending, "BATCH_SIZE", 2)
    tag = uuid.uuid4().hex[:6]
    seg_id, _ = await audience(acme, [(f"b{i}-{tag}@example.com", f"B{i}") for i in range(5)])
    campaign_id = await new_campaign(acme, seg_id)
    await start(acme, campaign_id)
    ids = [r.id for r in await recipients(acme, campaign_id)]
    batches = await deliver(acme, campaign_id)
    assert [(b["after_id"], b["up_to_id"]) for b in batches] == [
        (ids[0] - 1, ids[1]),
        (ids[1], ids[3]),
        (ids[3], ids[4]),
    ]
    assert all(len(inbox.to(f"b{i}-{tag}@example.com")) == 1 for i in range(5))
    assert await status_of(acme, campaign_id) == "sent"


async def test_a_batch_that_dies_half_way_runs_again_and_skips_who_was_sent(acme, inbox):
    tag = uuid.uuid4().hex[:6]
    people = [(f"k{i}-{tag}@example.com", f"K{i}") for i in range(4)]
    seg_id, _ = await audience(acme, people)
    campaign_id = await new_campaign(acme, seg_id)
    await start(acme, campaign_id)
    async with acting_as(acme, "ada") as (s, _):
        await campaign_sending.plan_batches(s, campaign_id)
    inbox.fail_after = len(inbox.messages) + 2  # the server goes away after two messages
    with pytest.raises(Exception, match="Try again later"):
        await run_batches(acme, campaign_id)  # the batch's own transaction is rolled back
    assert [r.status for r in await recipients(acme, campaign_id)] == ["sent", "sent", "pending", "pending"]
    assert await status_of(acme, campaign_id) == "sending"

    await run_batches(acme, campaign_id)  # redelivered

    assert [len(inbox.to(address)) for address, _ in people] == [1, 1, 1, 1]
    assert [r.status for r in await recipients(acme, campaign_id)] == ["sent"] * 4
    assert await status_of(acme, campaign_id) == "sent"


async def test_a_refused_address_is_marked_failed_with_the_servers_answer(acme, inbox):
    tag = uuid.uuid4().hex[:6]
    seg_id, _ = await audience(
        acme, [(f"ok-{tag}@example.com", "Ok"), (f"nobody-{tag}@example.com", "Nobody")]
    )
    inbox.refuse.add(f"nobody-{tag}@example.com")
    campaign_id = await new_campaign(acme, seg_id)
    await start(acme, campaign_id)
    await deliver(acme, campaign_id)
    got = {r.email.split("-")[0]: (r.status, r.error) for r in await recipients(acme, campaign_id)}
    assert got == {"ok": ("sent", None), "nobody": ("failed", "550 5.1.1 No such mailbox")}
    assert await status_of(acme, campaign_id) == "sent"


async def test_unsubscribed_since_freezing_or_cancelled_means_skipped(acme, inbox):
    tag = uuid.uuid4().hex[:6]
    seg_id, _ = await audience(
        acme, [(f"stay-{tag}@example.com", "Stay"), (f"left-{tag}@example.com", "Left")]
    )
    campaign_id = await new_campaign(acme, seg_id)
    await start(acme, campaign_id)
    async with acting_as(acme, "ada") as (s, _):
        s.add(EmailSuppression(email=f"left-{tag}@example.com", reason="unsubscribed"))
    await deliver(acme, campaign_id)
    got = {r.email.split("-")[0]: (r.status, r.error) for r in await recipients(acme, campaign_id)}
    assert got == {"stay": ("sent", None), "left": ("skipped", "unsubscribed")}
    assert inbox.to(f"left-{tag}@example.com") == []

    other = await new_campaign(acme, seg_id)
    await start(acme, other)
    async with acting_as(acme, "mia") as (s, _):
        await campaigns.cancel_campaign(s, other)
    await deliver(acme, other)
    assert [(r.status, r.error) for r in await recipients(acme, other)] == [("skipped", "cancelled")]
    assert await status_of(acme, other) == "cancelled"


async def test_sending_refuses_what_it_cannot_send_and_changes_nothing(acme, inbox):
    tag = uuid.uuid4().hex[:6]
    seg_id, _ = await audience(acme, [(f"x-{tag}@example.com", "X")])
    empty_id, _ = await audience(acme, [(None, "Silent")])
    incomplete = await new_campaign(acme, None, subject="", body="")
    nobody = await new_campaign(acme, empty_id)
    event = await new_campaign(acme, seg_id, channel="event")
    before = (
        await count_rows(acme, "crm_campaign_recipients"),
        await outbox_count("crm.campaign_send_requested"),
    )

    with pytest.raises(ValidationFailed) as exc:
        await start(acme, incomplete)
    assert {e.field: e.message for e in exc.value.errors} == {
        "segment_id": "Choose the segment to send to.",
        "subject": "Write the subject line.",
        "body": "Write the message.",
    }
    with pytest.raises(ValidationFailed) as exc:
        await start(acme, event)
    assert [e.message for e in exc.value.errors] == ["Only e-mail campaigns are sent."]
    with pytest.raises(InvalidState) as state:
        await start(acme, nobody)
    assert state.value.code == "campaign_no_recipients"
    after = (
        await count_rows(acme, "crm_campaign_recipients"),
        await outbox_count("crm.campaign_send_requested"),
    )
    assert after == before
    assert [await status_of(acme, c) for c in (incomplete, nobody, event)] == ["planned"] * 3

    sent = await new_campaign(acme, seg_id)
    await start(acme, sent)
    with pytest.raises(InvalidState) as state:
        await start(acme, sent)  # a double click
    assert state.value.code == "campaign_invalid_state"
    assert len(await recipients(acme, sent)) == 1


async def test_scheduled_campaigns_start_when_their_time_comes(acme, inbox):
    from datetime import timedelta

    from app.crm.jobs.marketing import start_due_campaigns
    from app.kernel.db import utcnow

    tag = uuid.uuid4().hex[:6]
    seg_id, _ = await audience(acme, [(f"s-{tag}@example.com", "S")])
    campaign_id = await new_campaign(acme, seg_id)
    async with acting_as(acme, "mia") as (s, _):
        await campaigns.schedule_campaign(s, campaign_id, utcnow() + timedelta(hours=1))
    async with acting_as(acme, "ada") as (s, _):
        await start_due_campaigns(s)
    assert await status_of(acme, campaign_id) == "scheduled"
    async with acting_as(acme, "ada") as (s, _):
        await s.execute(update(Campaign).where(Campaign.id == campaign_id).values(scheduled_at=utcnow()))
        assert await start_due_campaigns(s) >= 1
    assert await status_of(acme, campaign_id) == "sending"
    assert [r.status for r in await recipients(acme, campaign_id)] == ["pending"]
