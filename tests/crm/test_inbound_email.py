"""Inbound e-mail (CRM-10): the gateway endpoint opens tickets and threads replies, deduplicates
by Message-ID; agents' replies go out by the worker through a real SMTP server, threaded, and the
customer's answer to that mail comes back onto the same ticket."""

from __future__ import annotations

import uuid
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from app.crm.models import Ticket, TicketMessage
from app.crm.services import ticket_workflow, tickets
from app.crm.services.inbound_email import html_to_text, parse_message, strip_quoted
from app.security.permissions import CRM_TICKET_READ, CRM_TICKET_WRITE
from tenants.service import in_tenant
from tests.crm.factories.service import add_account, add_contact
from tests.crm.support import acting_as, api_as, problem_of, table_counts
from tests.workers.conftest import mailbox, relay_all, text_of, worker  # noqa: F401 — fixtures

TABLES = ("crm_tickets", "crm_ticket_messages")
RFC822 = {"Content-Type": "message/rfc822"}


def marker() -> str:
    return uuid.uuid4().hex[:10]


def raw_mail(
    sender: str,
    subject: str,
    text: str,
    *,
    message_id: str,
    in_reply_to: str | None = None,
    html: str | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@acme.example"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    if text:
        msg.set_content(text)
    if html:
        if text:
            msg.add_alternative(html, subtype="html")
        else:
            msg.set_content(html, subtype="html")
    return bytes(msg)


@pytest.fixture
async def gateway(app, acme):
    async with api_as(app, acme, [CRM_TICKET_WRITE]) as client:
        yield client


async def _ticket(ticket_id: int) -> tuple[Ticket, list[TicketMessage]]:
    async with in_tenant("acme") as (s, _):
        t = await s.get(Ticket, ticket_id)
        assert t is not None
        return t, await tickets.messages_of(s, ticket_id)


def test_parsing_prefers_plain_text_and_strips_html():
    both = parse_message(
        raw_mail("王芳 <WF@Example.cn>", "打印机卡纸", "纯文本", message_id="<a@x>", html="<p>HTML</p>")
    )
    assert (both.sender, both.subject, both.text.strip(), both.message_id) == (
        "WF@Example.cn",
        "打印机卡纸",
        "纯文本",
        "<a@x>",
    )
    html = parse_message(
        raw_mail(
            "a@b.example",
            "Hi",
            "",
            message_id="<b@x>",
            html="<style>p{}</style><p>Line&nbsp;1</p><div>Line 2<br>3</div>",
        )
    )
    assert html.text == "Line 1\n\nLine 2\n3"
    assert html_to_text("<script>alert(1)</script><b>bold</b> &amp; <i>it</i>") == "bold & it"
    assert (
        strip_quoted("Thanks!\n\nOn Mon, 1 Dec 2026 at 10:00, Acme <s@acme.example> wrote:\n> old")
        == "Thanks!"
    )
    assert strip_quoted("好的\n\n在 2026年12月1日 10:00，Acme 写道：\n> 旧") == "好的"
    assert strip_quoted("> only quoted") == "> only quoted"


async def test_a_new_mail_opens_a_ticket_for_the_matching_contact_and_a_retry_creates_nothing(gateway, acme):
    m = marker()
    async with in_tenant(acme.slug) as (s, _):
        account = await add_account(s, f"Mail Co {m}")
        contact = await add_contact(s, account, "Zhou Min", f"zm.{m}@mailco.example")
    raw = raw_mail(
        f"Zhou Min <ZM.{m}@MailCo.example>",
        "Scanner offline",
        "It stopped at 9:00.",
        message_id=f"<{m}@mailco.example>",
    )
    r = await gateway.post("/api/v1/crm/inbound-email", content=raw, headers=RFC822)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["outcome"], body["message_id"]) == ("created", None)
    t, messages = await _ticket(body["ticket_id"])
    assert (t.subject, t.description, t.channel, t.account_id, t.contact_id, t.requester_email) == (
        "Scanner offline", "It stopped at 9:00.", "email", account.id, contact.id, None,
    )  # fmt: skip
    assert (t.email_thread_id, t.number, messages) == (f"<{m}@mailco.example>", body["number"], [])
    before = await table_counts(acme, *TABLES)
    again = await gateway.post("/api/v1/crm/inbound-email", content=raw, headers=RFC822)
    assert (again.status_code, again.json()) == (200, {**body, "outcome": "duplicate"})
    assert await table_counts(acme, *TABLES) == before


async def test_an_unknown_sender_is_kept_as_the_requester(gateway, acme):
    m = marker()
    r = await gateway.post(
        "/api/v1/crm/inbound-email",
        json={"from": f"Stranger <s.{m}@nowhere.example>", "subject": "Price list?",
              "text": "Please send it.", "message_id": f"<{m}@nowhere.example>"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    t, _ = await _ticket(r.json()["ticket_id"])
    assert (t.account_id, t.contact_id, t.requester_email, t.description) == (
        None, None, f"s.{m}@nowhere.example", "Please send it.",
    )  # fmt: skip


async def test_replies_thread_by_headers_and_by_the_number_from_the_right_sender(gateway, acme):
    m = marker()
    opened = await gateway.post(
        "/api/v1/crm/inbound-email",
        json={
            "from": f"c.{m}@cust.example",
            "subject": "Broken",
            "text": "Help",
            "message_id": f"<open-{m}@cust.example>",
        },
    )
    tid = opened.json()["ticket_id"]
    async with acting_as(acme, "ada") as (s, ada):
        t = await tickets.get_ticket(s, ada, tid)
        reply = await ticket_workflow.reply_to_ticket(s, ada, t, "Restart it please.", status="pending")
        agent_mid = reply.email_message_id
    quoted = "Did that, still broken.\n\nOn Tue, Acme Support wrote:\n> Restart it please."
    r = await gateway.post(
        "/api/v1/crm/inbound-email",
        content=raw_mail(
            f"c.{m}@cust.example",
            "Re: Broken",
            quoted,
            message_id=f"<r1-{m}@cust.example>",
            in_reply_to=agent_mid,
        ),
        headers=RFC822,
    )
    assert (r.status_code, r.json()["outcome"], r.json()["ticket_id"]) == (200, "appended", tid)
    t, messages = await _ticket(tid)
    assert t.status == "open"  # pending → re-opened by the customer
    assert (messages[-1].author_kind, messages[-1].body, messages[-1].email_message_id) == (
        "customer", "Did that, still broken.", f"<r1-{m}@cust.example>",
    )  # fmt: skip
    by_number = await gateway.post(
        "/api/v1/crm/inbound-email",
        json={"from": f"c.{m}@cust.example", "subject": f"[{t.number}] one more thing", "text": "Model A2.",
              "message_id": f"<r2-{m}@cust.example>"},
    )  # fmt: skip
    assert (by_number.json()["outcome"], by_number.json()["ticket_id"]) == ("appended", tid)
    stranger = await gateway.post(
        "/api/v1/crm/inbound-email",
        json={"from": f"x.{m}@evil.example", "subject": f"[{t.number}] let me in", "text": "Hi",
              "message_id": f"<r3-{m}@evil.example>"},
    )  # fmt: skip
    assert stranger.json()["outcome"] == "created"
    assert stranger.json()["ticket_id"] != tid


async def test_a_reply_to_a_closed_ticket_opens_a_follow_up(gateway, acme):
    m = marker()
    opened = await gateway.post(
        "/api/v1/crm/inbound-email",
        json={
            "from": f"f.{m}@cust.example",
            "subject": "Old issue",
            "text": "A",
            "message_id": f"<o-{m}@c.example>",
        },
    )
    tid = opened.json()["ticket_id"]
    async with acting_as(acme, "ada") as (s, ada):
        await ticket_workflow.set_status(s, ada, await tickets.get_ticket(s, ada, tid), "closed")
    r = await gateway.post(
        "/api/v1/crm/inbound-email",
        json={"from": f"f.{m}@cust.example", "subject": "Re: Old issue", "text": "It is back.",
              "message_id": f"<f-{m}@c.example>", "in_reply_to": f"<o-{m}@c.example>"},
    )  # fmt: skip
    assert (r.status_code, r.json()["outcome"]) == (201, "created")
    old, _ = await _ticket(tid)
    new, notes = await _ticket(r.json()["ticket_id"])
    assert (new.subject, new.description, new.requester_email) == (
        "Re: Old issue",
        "It is back.",
        f"f.{m}@cust.example",
    )
    assert [(n.author_kind, n.body, n.is_internal) for n in notes] == [
        ("system", f"Follow-up to the closed ticket {old.number}.", True)
    ]


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 400, "malformed_json"),
        ({"json": {"subject": "no sender"}}, 400, "invalid_request"),
        ({"json": {"from": "x@y.example", "colour": "red"}}, 400, "invalid_request"),
        ({"json": {"from": "not an address", "subject": "Hi"}}, 422, "validation_failed"),
        ({"content": b"hello", "headers": {"Content-Type": "text/plain"}}, 415, "unsupported_media_type"),
        ({"content": b"Subject: no sender\r\n\r\nbody", "headers": RFC822}, 422, "validation_failed"),
    ],
)
async def test_bad_deliveries_are_problems_and_write_nothing(gateway, acme, kwargs, status, code):
    before = await table_counts(acme, *TABLES)
    r = await gateway.post("/api/v1/crm/inbound-email", **kwargs)
    assert (r.status_code, problem_of(r)["code"]) == (status, code), r.text
    if status == 422:
        assert [e["field"] for e in problem_of(r)["errors"]] == ["from"]
    assert await table_counts(acme, *TABLES) == before


async def test_the_gateway_needs_the_ticket_write_scope(app, acme):
    async with api_as(app, acme, [CRM_TICKET_READ]) as reader:
        r = await reader.post("/api/v1/crm/inbound-email", json={"from": "a@b.example", "subject": "x"})
    assert (r.status_code, problem_of(r)["code"]) == (403, "forbidden")


async def test_an_agents_reply_is_mailed_threaded_and_the_answer_comes_back(gateway, acme, mailbox, worker):  # noqa: F811
    m = marker()
    email = f"loop.{m}@cust.example"
    async with in_tenant(acme.slug) as (s, _):
        account = await add_account(s, f"Loop Co {m}")
        await add_contact(s, account, "Guo Hua", email)
    opened = await gateway.post(
        "/api/v1/crm/inbound-email",
        json={
            "from": email,
            "subject": "Paper tray",
            "text": "It squeaks.",
            "message_id": f"<in-{m}@cust.example>",
        },
    )
    tid = opened.json()["ticket_id"]
    async with in_tenant(acme.slug) as (s, _):  # whoever the rotation chose: Sue takes it
        taken = await s.get(Ticket, tid)
        taken.owner_id, taken.team_id = acme.users["sue"], acme.teams["Support"]  # type: ignore[union-attr]
    async with acting_as(acme, "sue") as (s, sue):
        t = await tickets.get_ticket(s, sue, tid)
        await ticket_workflow.reply_to_ticket(s, sue, t, "Internal: order a new tray.", internal=True)
        reply = await ticket_workflow.reply_to_ticket(s, sue, t, "我们会寄一个新的纸盒给您。")
        number, reply_mid = t.number, reply.email_message_id
    await relay_all()
    msg = await mailbox.wait_for(email)
    assert msg["Subject"] == f"[{number}] Paper tray"
    assert msg["Message-ID"] == reply_mid
    assert msg["In-Reply-To"] == f"<in-{m}@cust.example>"
    assert msg["References"] == f"<in-{m}@cust.example>"
    body = text_of(msg)
    assert "Hello Guo Hua," in body
    assert "我们会寄一个新的纸盒给您。" in body
    assert "Sue Agent" in body
    assert "Internal" not in body
    assert len(mailbox.to(email)) == 1  # the internal note was not mailed
    answer = raw_mail(
        email,
        f"Re: [{number}] Paper tray",
        "谢谢！",
        message_id=f"<back-{m}@cust.example>",
        in_reply_to=reply_mid,
    )
    r = await gateway.post("/api/v1/crm/inbound-email", content=answer, headers=RFC822)
    assert (r.json()["outcome"], r.json()["ticket_id"]) == ("appended", tid)
    async with in_tenant(acme.slug) as (s, _):
        last = (
            (
                await s.execute(
                    select(TicketMessage)
                    .where(TicketMessage.ticket_id == tid)
                    .order_by(TicketMessage.id.desc())
                )
            )
            .scalars()
            .first()
        )
        assert (last.author_kind, last.body) == ("customer", "谢谢！")  # type: ignore[union-attr]


async def test_two_deliveries_of_one_message_at_once_make_one_ticket(gateway, acme):
    import asyncio

    m = marker()
    body = {
        "from": f"twice.{m}@cust.example",
        "subject": "Twice",
        "text": "Hi",
        "message_id": f"<twice-{m}@c.example>",
    }
    before = await table_counts(acme, *TABLES)
    first, second = await asyncio.gather(
        *(gateway.post("/api/v1/crm/inbound-email", json=body) for _ in range(2))
    )
    assert sorted(r.json()["outcome"] for r in (first, second)) == ["created", "duplicate"]
    assert first.json()["ticket_id"] == second.json()["ticket_id"]
    after = await table_counts(acme, *TABLES)
    assert after["crm_tickets"] == before["crm_tickets"] + 1
