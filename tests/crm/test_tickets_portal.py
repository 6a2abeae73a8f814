"""The service portal's ticket pages (CRM-10): queue filters and record rules, CSV export, the new
ticket form, the ticket page and its actions — as an agent sees them in the browser."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

from sqlalchemy import select

from app.crm.models import Ticket, TicketMessage
from app.crm.services import tickets
from app.kernel.db import utcnow
from tenants.service import in_tenant
from tests.crm.factories.service import add_account, add_contact, new_team
from tests.crm.support import acting_as, table_counts
from tests.helpers import signed_in

TABLES = ("crm_tickets", "crm_ticket_messages", "audit_log")


def marker() -> str:
    return uuid.uuid4().hex[:10]


async def _open(tenant, persona: str, subject: str, **data) -> Ticket:  # type: ignore[no-untyped-def]
    async with acting_as(tenant, persona) as (s, p):
        return await tickets.open_ticket(s, p, {"subject": subject, **data}, channel="agent")


async def test_the_queue_shows_the_teams_open_tickets_with_timers(app, acme):
    m = marker()
    await _open(acme, "sue", f"Mine {m}", owner_id=acme.users["sue"], priority="urgent")
    toms = await _open(acme, "sue", f"Toms {m}", owner_id=acme.users["tom"])
    team, _ = await new_team(acme, f"QT{m}", agents=1)
    hidden = await _open(acme, "ada", f"Other team {m}", team_id=team)
    done = await _open(acme, "sue", f"Done {m}", owner_id=acme.users["sue"])
    async with in_tenant(acme.slug) as (s, _):
        (await s.get(Ticket, done.id)).status = "resolved"  # type: ignore[union-attr]
        late = await s.get(Ticket, toms.id)
        late.first_response_due_at = utcnow() - timedelta(minutes=95)  # type: ignore[union-attr]
    async with signed_in(app, acme, "sue") as b:
        page = await b.get(f"/service/tickets?q={m}")
        assert page.status_code == 200
        assert f"Mine {m}" in page.text
        assert f"Toms {m}" in page.text
        assert f"Other team {m}" not in page.text  # record rules: another team's ticket
        assert f"Done {m}" not in page.text  # the queue opens on open tickets
        assert "Overdue by 1 h 35 min" in page.text
        assert "29 min left" in page.text  # urgent: 30 minutes to answer
        mine_only = await b.get(f"/service/tickets?q={m}&f_assignee=me")
        assert f"Mine {m}" in mine_only.text
        assert f"Toms {m}" not in mine_only.text
        everything = await b.get(f"/service/tickets?q={m}&f_status=any")
        assert f"Done {m}" in everything.text
        breached = await b.get(f"/service/tickets?q={m}&f_breached=any")
        assert f"Mine {m}" not in breached.text  # not flagged yet: the scheduler flags it
        fragment = await b.htmx("GET", f"/service/tickets?q={m}&sort=priority&dir=desc")
        assert fragment.text.index(f"Mine {m}") < fragment.text.index(f"Toms {m}")
        assert "<html" not in fragment.text
        assert (await b.get(f"/service/tickets/{hidden.id}")).status_code == 404
    async with signed_in(app, acme, "ada") as b:
        assert f"Other team {m}" in (await b.get(f"/service/tickets?q={m}")).text


async def test_the_export_is_the_filtered_queue_under_the_same_rules(app, acme):
    m = marker()
    await _open(acme, "sue", f"Export A {m}", owner_id=acme.users["sue"], priority="high")
    await _open(acme, "sue", f"Export B {m}", owner_id=acme.users["tom"], priority="low")
    team, _ = await new_team(acme, f"EX{m}", agents=1)
    await _open(acme, "ada", f"Export hidden {m}", team_id=team)
    async with signed_in(app, acme, "sue") as b:
        r = await b.get(f"/service/tickets/export.csv?q={m}&sort=priority&dir=desc")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:6] == ["Ticket", "Subject", "Customer", "Priority", "Status", "Assignee"]
    assert [(row[1], row[3], row[5]) for row in rows[1:]] == [
        (f"Export A {m}", "High", "Sue Agent"),
        (f"Export B {m}", "Low", "Tom Agent"),
    ]


async def test_an_agent_opens_a_ticket_in_the_portal(app, acme):
    m = marker()
    async with acting_as(acme, "ada") as (s, _):
        account = await add_account(s, f"Portal Co {m}")
        contact = await add_contact(s, account, "Zhang Wei", f"zw.{m}@example.cn")
    async with signed_in(app, acme, "sue") as b:
        form = await b.get("/service/tickets/new")
        assert form.status_code == 200
        picker = await b.htmx(
            "GET", f"/service/tickets/new/customer?account_q=Portal+Co+{m}&account_id={account.id}"
        )
        assert f'<option value="{account.id}" selected>Portal Co {m}</option>' in picker.text
        assert f"Zhang Wei &lt;zw.{m}@example.cn&gt;" in picker.text
        r = await b.post(
            "/service/tickets",
            {"subject": f"Fax {m}", "description": "Line busy", "priority": "high",
             "account_id": str(account.id), "contact_id": str(contact.id), "channel": "phone",
             "team_id": str(acme.teams["Support"]), "owner_id": str(acme.users["sue"])},
        )  # fmt: skip
        assert r.status_code == 303
        async with in_tenant(acme.slug) as (s, _):
            t = (await s.execute(select(Ticket).where(Ticket.subject == f"Fax {m}"))).scalar_one()
        assert r.headers["location"] == f"/service/tickets/{t.id}"
        assert (t.channel, t.priority, t.account_id, t.contact_id, t.owner_id) == (
            "phone", "high", account.id, contact.id, acme.users["sue"],
        )  # fmt: skip
        page = await b.get(r.headers["location"])
        assert f"Ticket {t.number} is open." in page.text
        assert "Zhang Wei" in page.text


async def test_the_new_ticket_form_answers_bad_input_with_422_and_writes_nothing(app, acme):
    async with signed_in(app, acme, "sue") as b:
        before = await table_counts(acme, *TABLES)  # signing in writes an audit row of its own
        r = await b.post(
            "/service/tickets",
            {"subject": "", "priority": "asap", "requester_email": "nope", "account_id": "x"},
        )
    assert r.status_code == 422
    assert "Please correct the highlighted fields." in r.text
    assert "This field is required." in r.text
    assert "Choose one of: low, normal, high, urgent." in r.text
    assert "Enter a valid e-mail address." in r.text
    assert "Choose an existing account." in r.text
    assert await table_counts(acme, *TABLES) == before


async def test_replying_noting_and_moving_a_ticket_from_its_page(app, acme):
    t = await _open(acme, "sue", f"Page {marker()}", owner_id=acme.users["sue"])
    async with signed_in(app, acme, "sue") as b:
        page = await b.get(f"/service/tickets/{t.id}")
        assert page.status_code == 200
        assert "3 h 59 min left" in page.text
        r = await b.post(f"/service/tickets/{t.id}/reply", {"body": "Checked the logs.", "internal": "1"})
        assert r.status_code == 303
        r = await b.post(
            f"/service/tickets/{t.id}/reply", {"body": "Please restart it.", "status": "pending"}
        )
        assert r.status_code == 303
        page = await b.get(f"/service/tickets/{t.id}")
        assert f"Your reply on {t.number} is sent." in page.text
        assert "Internal note" in page.text
        assert await b.post(f"/service/tickets/{t.id}/priority", {"priority": "urgent"}) is not None
        assert (
            await b.post(f"/service/tickets/{t.id}/assign", {"owner_id": str(acme.users["tom"])})
        ).status_code == 303
        assert (await b.post(f"/service/tickets/{t.id}/status", {"status": "resolved"})).status_code == 303
    async with in_tenant(acme.slug) as (s, _):
        stored = await s.get(Ticket, t.id)
        assert stored is not None
        assert (stored.status, stored.priority, stored.owner_id) == ("resolved", "urgent", acme.users["tom"])
        assert stored.first_response_due_at == stored.created_at + timedelta(minutes=30)
        bodies = (
            await s.execute(
                select(TicketMessage.body, TicketMessage.is_internal).where(TicketMessage.ticket_id == t.id)
            )
        ).all()
        assert sorted(bodies) == [("Checked the logs.", True), ("Please restart it.", False)]


async def test_refused_actions_rerender_the_page_and_change_nothing(app, acme):
    t = await _open(acme, "sue", f"Refuse {marker()}", owner_id=acme.users["sue"])
    async with signed_in(app, acme, "sue") as b:
        before = await table_counts(acme, *TABLES)
        r = await b.post(f"/service/tickets/{t.id}/reply", {"body": "  "})
        assert r.status_code == 422
        assert "This field is required." in r.text
        r = await b.post(f"/service/tickets/{t.id}/status", {"status": "archived"})
        assert r.status_code == 422
        assert "Choose one of: open, pending, resolved, closed." in r.text
        r = await b.post(f"/service/tickets/{t.id}/priority", {"priority": "critical"})
        assert r.status_code == 422
        assert "Choose one of: low, normal, high, urgent." in r.text
        r = await b.post(f"/service/tickets/{t.id}/assign", {"owner_id": str(acme.users["dave"])})
        assert r.status_code == 422
        assert "You may only assign records to yourself or your team." in r.text
        assert await table_counts(acme, *TABLES) == before
    async with signed_in(app, acme, "sue") as b:
        assert (await b.post(f"/service/tickets/{t.id}/status", {"status": "closed"})).status_code == 303
        r = await b.post(f"/service/tickets/{t.id}/reply", {"body": "Too late"})
        assert r.status_code == 409
        assert "This ticket is closed. Please open a new ticket." in r.text


async def test_a_reader_without_write_scope_gets_403_on_actions(app, acme):
    t = await _open(acme, "sue", f"Read only {marker()}", owner_id=acme.users["sue"])
    async with in_tenant(acme.slug) as (s, _):
        stored = await s.get(Ticket, t.id)
        stored.owner_id, stored.team_id = acme.users["alice"], acme.teams["East"]  # type: ignore[union-attr]
    async with signed_in(app, acme, "alice") as b:
        page = await b.get(f"/service/tickets/{t.id}")
        assert page.status_code == 200
        assert 'action="/service/tickets/' not in page.text
    async with signed_in(app, acme, "sue") as b:
        assert (await b.get(f"/service/tickets/{t.id}")).status_code == 404
