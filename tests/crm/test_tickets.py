"""Service tickets (CRM-10), service level: opening from each channel with exact SLA deadlines,
assignment (team round-robin, ticket rules), record rules, the conversation and the statuses."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.crm import events
from app.crm.errors import InvalidState
from app.crm.models import AssignmentRule, Ticket
from app.crm.services import ticket_workflow, tickets
from app.kernel.errors import Forbidden, NotFound, ValidationFailed
from app.notifications.models import Notification
from tenants.service import in_tenant
from tests.crm.factories.service import acting_user, add_account, add_contact, add_ticket, new_team
from tests.crm.support import acting_as, outbox_count, table_counts

TABLES = ("crm_tickets", "crm_ticket_messages", "audit_log", "notifications")


def marker() -> str:
    return uuid.uuid4().hex[:10]


def errors_of(exc: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {e.field: e.message.format(**e.params) for e in exc.value.errors}


async def test_an_agent_opens_a_ticket_with_deadlines_from_the_priority_policy(acme):
    m = marker()
    before = await outbox_count(events.TICKET_CREATED)
    async with acting_as(acme, "sue") as (s, sue):
        account = await add_account(s, f"明辉贸易 {m}", region="华东")
        contact = await add_contact(s, account, "王芳", f"wf.{m}@example.cn")
        ticket = await tickets.open_ticket(
            s,
            sue,
            {"subject": "  Printer   jams  ", "description": "Model A2, error E07.", "priority": "urgent",
             "owner_id": sue.id},
            channel="phone",
            account_id=account.id,
            contact_id=contact.id,
        )  # fmt: skip
        ticket_id = ticket.id
    async with acting_as(acme, "sue") as (s, sue):
        t = await tickets.get_ticket(s, sue, ticket_id)
        assert (t.subject, t.priority, t.status, t.channel) == ("Printer jams", "urgent", "new", "phone")
        assert (t.owner_id, t.team_id) == (sue.id, acme.teams["Support"])
        assert t.number.startswith("T-")
        assert len(t.number) == 8
        # Urgent: 30 minutes to the first response, 4 hours to resolution, from opening.
        assert t.first_response_due_at == t.created_at + timedelta(minutes=30)
        assert t.resolution_due_at == t.created_at + timedelta(hours=4)
        assert t.email_thread_id
        assert t.email_thread_id.endswith("@tessera.test>")
    assert await outbox_count(events.TICKET_CREATED) == before + 1


async def test_changing_the_priority_refixes_both_deadlines_from_opening(acme):
    async with acting_as(acme, "sue") as (s, sue):
        ticket = await tickets.open_ticket(
            s, sue, {"subject": "Slow copier", "owner_id": sue.id}, channel="agent"
        )
        assert ticket.resolution_due_at == ticket.created_at + timedelta(hours=24)  # normal
        await ticket_workflow.change_priority(s, sue, ticket, "low")
        assert ticket.first_response_due_at == ticket.created_at + timedelta(hours=8)
        assert ticket.resolution_due_at == ticket.created_at + timedelta(hours=72)
        await ticket_workflow.change_priority(s, sue, ticket, "high")
        assert ticket.first_response_due_at == ticket.created_at + timedelta(hours=1)
        assert ticket.resolution_due_at == ticket.created_at + timedelta(hours=8)


async def test_bad_input_opens_nothing(acme):
    before = await table_counts(acme, *TABLES)
    async with acting_as(acme, "sue") as (s, sue):
        with pytest.raises(ValidationFailed) as exc:
            await tickets.open_ticket(
                s,
                sue,
                {"subject": " ", "priority": "asap", "description": "x" * 20_001,
                 "requester_email": "not-mail", "sales_order_id": "abc", "product_id": 999_999_999,
                 "owner_id": acme.users["alice"], "team_id": 999_999},
                channel="agent",
                account_id=999_999_999,
            )  # fmt: skip
    assert errors_of(exc) == {
        "subject": "This field is required.",
        "priority": "Choose one of: low, normal, high, urgent.",
        "description": "Use at most 20000 characters.",
        "requester_email": "Enter a valid e-mail address.",
        "sales_order_id": "Enter a whole number.",
        "product_id": "Choose a product from the catalogue.",
        "account_id": "Choose an existing account.",
        "team_id": "Choose an existing team.",
        "owner_id": "You may only assign records to yourself or your team.",
    }
    assert await table_counts(acme, *TABLES) == before


async def test_a_contact_of_another_account_is_refused(acme):
    async with acting_as(acme, "sue") as (s, sue):
        mine, other = await add_account(s, f"A {marker()}"), await add_account(s, f"B {marker()}")
        stranger = await add_contact(s, other, "Li Lei", None)
        with pytest.raises(ValidationFailed) as exc:
            await tickets.open_ticket(
                s, sue, {"subject": "Help"}, channel="agent", account_id=mine.id, contact_id=stranger.id
            )
    assert errors_of(exc) == {"contact_id": "Choose a contact of this account."}


async def test_customer_portal_tickets_skip_staff_rules_and_need_their_account(acme):
    """The customer's own Principal holds no CRM grants; the caller vouches for the account."""
    async with acting_as(acme, "carol") as (s, carol):
        account = await add_account(s, f"Carol Co {marker()}")
        ticket = await tickets.open_ticket(
            s, carol, {"subject": "Where is my order?"}, channel="customer_portal", account_id=account.id
        )
        assert (ticket.account_id, ticket.channel, ticket.status) == (account.id, "customer_portal", "new")
        assert ticket.owner_id is not None  # round-robin among the service agents
        with pytest.raises(ValidationFailed) as exc:
            await tickets.open_ticket(s, carol, {"subject": "No account"}, channel="customer_portal")
    assert errors_of(exc) == {"account_id": "Choose an existing account."}


async def test_new_tickets_rotate_round_robin_through_the_teams_agents(acme):
    team, (a, b) = await new_team(acme, f"RR{marker()}")
    owners, expected = [], set()
    for i in range(4):
        async with acting_as(acme, "ada") as (s, ada):
            t = await tickets.open_ticket(
                s, ada, {"subject": f"Ticket {i}", "team_id": team}, channel="agent"
            )
            owners.append(t.owner_id)
            expected.add((t.owner_id, f"{t.number} is assigned to you: Ticket {i}"))
            assert t.team_id == team
    assert owners in ([a, b, a, b], [b, a, b, a])
    async with in_tenant(acme.slug) as (s, _):
        notes = await s.execute(
            select(Notification.user_id, Notification.title).where(Notification.user_id.in_([a, b]))
        )
        assert set(notes.all()) == expected


async def test_concurrent_openings_never_pick_the_same_agent_twice_in_a_row(acme):
    team, (a, b) = await new_team(acme, f"RC{marker()}")

    async def open_one(i: int) -> int | None:
        async with acting_as(acme, "ada") as (s, ada):
            t = await tickets.open_ticket(s, ada, {"subject": f"Rush {i}", "team_id": team}, channel="agent")
            return t.owner_id

    owners = await asyncio.gather(*(open_one(i) for i in range(6)))
    assert sorted(owners) == sorted([a, b] * 3)


async def test_a_ticket_rule_routes_by_channel_and_region(acme):
    team, (a, b) = await new_team(acme, f"RU{marker()}")
    region = f"Region-{marker()}"
    async with in_tenant(acme.slug) as (s, _):
        rule = AssignmentRule(
            name="Email from the region", applies_to="ticket", position=1, match_sources=["email"],
            match_regions=[region], strategy="round_robin", user_ids=[b, a], team_id=team,
        )  # fmt: skip
        s.add(rule)
        account = await add_account(s, f"Regional {marker()}", region=region)
    try:
        owners = []
        for _ in range(3):
            async with in_tenant(acme.slug) as (s, _):
                t = await tickets.open_ticket(
                    s, None, {"subject": "By mail"}, channel="email", account_id=account.id
                )
                owners.append((t.owner_id, t.team_id))
        assert owners == [(b, team), (a, team), (b, team)]
        async with acting_as(acme, "ada") as (s, ada):  # another channel: the rule does not apply
            t = await tickets.open_ticket(
                s, ada, {"subject": "By API", "team_id": acme.teams["Support"]}, channel="api",
                account_id=account.id,
            )  # fmt: skip
            assert t.team_id == acme.teams["Support"]
            assert t.owner_id in (acme.users["sue"], acme.users["tom"])  # Support's own rotation
    finally:
        async with in_tenant(acme.slug) as (s, _):
            await s.delete(await s.get(AssignmentRule, rule.id))


async def test_agents_see_their_teams_tickets_and_admins_all(acme):
    team, (other_agent,) = await new_team(acme, f"RV{marker()}", agents=1)
    async with acting_as(acme, "ada") as (s, ada):
        support = await tickets.open_ticket(
            s, ada, {"subject": "Support's", "team_id": acme.teams["Support"]}, channel="agent"
        )
        foreign = await tickets.open_ticket(
            s, ada, {"subject": "Other team's", "team_id": team}, channel="agent"
        )
        ids = {support.id, foreign.id}
    async with acting_as(acme, "sue") as (s, sue):
        visible = set((await s.execute(tickets.visible_tickets(sue).where(Ticket.id.in_(ids)))).scalars())
        assert {t.id for t in visible} == {support.id}
        with pytest.raises(NotFound):
            await tickets.get_ticket(s, sue, foreign.id)
    async with acting_user(acme, other_agent) as (s, agent):
        assert (await tickets.get_ticket(s, agent, foreign.id)).id == foreign.id
        with pytest.raises(NotFound):
            await tickets.get_ticket(s, agent, support.id)
    async with acting_as(acme, "alice") as (s, alice):  # a rep reads only tickets they own
        assert (
            list((await s.execute(tickets.visible_tickets(alice).where(Ticket.id.in_(ids)))).scalars()) == []
        )
    async with acting_as(acme, "ada") as (s, ada):
        assert (
            len(list((await s.execute(tickets.visible_tickets(ada).where(Ticket.id.in_(ids)))).scalars()))
            == 2
        )


async def test_the_first_public_reply_is_the_first_response_and_opens_the_ticket(acme):
    before = await outbox_count(events.TICKET_REPLIED)
    async with acting_as(acme, "sue") as (s, sue):
        ticket = await tickets.open_ticket(s, sue, {"subject": "Toner", "owner_id": sue.id}, channel="agent")
        note = await ticket_workflow.reply_to_ticket(s, sue, ticket, "Checking stock.", internal=True)
        assert (ticket.status, ticket.first_responded_at, note.email_message_id) == ("new", None, None)
        reply = await ticket_workflow.reply_to_ticket(s, sue, ticket, "We ship it today.", status="pending")
        assert ticket.first_responded_at == reply.created_at
        assert (ticket.status, ticket.response_breached) == ("pending", False)
        assert reply.email_message_id
        assert reply.email_message_id.endswith(".reply@tessera.test>")
        await ticket_workflow.reply_to_ticket(s, sue, ticket, "Tracking: SF123.")
        assert ticket.first_responded_at == reply.created_at  # the first one counts
        visible = [m.body for m in await tickets.customer_visible_messages(s, ticket.id)]
        assert visible == ["We ship it today.", "Tracking: SF123."]
    assert await outbox_count(events.TICKET_REPLIED) == before + 2


async def test_a_late_first_reply_is_flagged_as_a_breach_at_once(acme):
    async with acting_as(acme, "sue") as (s, sue):
        ticket = await tickets.open_ticket(s, sue, {"subject": "Late", "owner_id": sue.id}, channel="agent")
        ticket.first_response_due_at = ticket.created_at - timedelta(minutes=1)
        await ticket_workflow.reply_to_ticket(s, sue, ticket, "Sorry for the wait.")
        assert ticket.response_breached is True


async def test_a_customer_reply_reopens_and_tells_the_assignee(acme):
    async with acting_as(acme, "sue") as (s, sue):
        ticket = await tickets.open_ticket(
            s, sue, {"subject": f"Jam {marker()}", "owner_id": sue.id}, channel="agent"
        )
        await ticket_workflow.reply_to_ticket(s, sue, ticket, "Fixed?", status="resolved")
        assert ticket.resolved_at is not None
        ticket_id = ticket.id
    async with in_tenant(acme.slug) as (s, _):
        ticket = await s.get(Ticket, ticket_id)
        message = await tickets.add_customer_message(s, ticket, "  Still jams.  ", email="wf@example.cn")
        assert (ticket.status, ticket.resolved_at) == ("open", None)
        assert (message.author_kind, message.body, message.author_email) == (
            "customer",
            "Still jams.",
            "wf@example.cn",
        )
        replied = select(Notification).where(
            Notification.user_id == acme.users["sue"], Notification.kind == "crm.ticket_customer_replied"
        )
        note = (await s.execute(replied.order_by(Notification.id.desc()).limit(1))).scalar_one()
        assert note.title == f"The customer replied on {ticket.number}: {ticket.subject}"
        assert (note.body, note.link) == ("Still jams.", f"/service/tickets/{ticket.id}")


async def test_closing_publishes_the_event_and_a_closed_ticket_takes_nothing_more(acme):
    before = await outbox_count(events.TICKET_CLOSED)
    async with acting_as(acme, "sue") as (s, sue):
        ticket = await tickets.open_ticket(s, sue, {"subject": "Done", "owner_id": sue.id}, channel="agent")
        await ticket_workflow.set_status(s, sue, ticket, "closed")
        assert ticket.closed_at is not None
        assert ticket.resolved_at == ticket.closed_at
        ticket_id = ticket.id
    assert await outbox_count(events.TICKET_CLOSED) == before + 1
    before_rows = await table_counts(acme, *TABLES)
    async with acting_as(acme, "sue") as (s, sue):
        ticket = await tickets.get_ticket(s, sue, ticket_id)
        for attempt in (
            ticket_workflow.reply_to_ticket(s, sue, ticket, "More?"),
            ticket_workflow.set_status(s, sue, ticket, "open"),
            ticket_workflow.change_priority(s, sue, ticket, "urgent"),
            ticket_workflow.reassign(s, sue, ticket, acme.users["tom"]),
            tickets.add_customer_message(s, ticket, "Hello?"),
        ):
            with pytest.raises(InvalidState) as exc:
                await attempt
            assert exc.value.code == "ticket_closed"
    assert await table_counts(acme, *TABLES) == before_rows


async def test_bad_workflow_input_changes_nothing(acme):
    async with acting_as(acme, "sue") as (s, sue):
        ticket = await tickets.open_ticket(
            s, sue, {"subject": "Bad input", "owner_id": sue.id}, channel="agent"
        )
        ticket_id = ticket.id
    before = await table_counts(acme, *TABLES)
    async with acting_as(acme, "sue") as (s, sue):
        ticket = await tickets.get_ticket(s, sue, ticket_id)
        with pytest.raises(ValidationFailed) as e1:
            await ticket_workflow.reply_to_ticket(s, sue, ticket, "   ", status="new")
        with pytest.raises(ValidationFailed) as e2:
            await ticket_workflow.set_status(s, sue, ticket, "archived")
        with pytest.raises(ValidationFailed) as e3:
            await ticket_workflow.change_priority(s, sue, ticket, "critical")
        with pytest.raises(ValidationFailed) as e4:
            await ticket_workflow.reassign(s, sue, ticket, acme.users["carol"])
        with pytest.raises(ValidationFailed) as e5:
            await ticket_workflow.update_ticket(
                s, sue, ticket, {"priority": "low", "owner_id": acme.users["dave"]}
            )
        assert (ticket.priority, ticket.status, ticket.owner_id) == ("normal", "new", sue.id)
    assert errors_of(e1) == {
        "body": "This field is required.",
        "status": "Choose one of: open, pending, resolved, closed.",
    }
    assert errors_of(e2) == {"status": "Choose one of: open, pending, resolved, closed."}
    assert errors_of(e3) == {"priority": "Choose one of: low, normal, high, urgent."}
    assert errors_of(e4) == {"owner_id": "Choose an active staff member."}
    assert errors_of(e5) == {"owner_id": "You may only assign records to yourself or your team."}
    assert await table_counts(acme, *TABLES) == before


async def test_reassigning_tells_the_new_agent_and_read_only_readers_cannot_write(acme):
    async with acting_as(acme, "sue") as (s, sue):
        ticket = await tickets.open_ticket(
            s, sue, {"subject": f"Hand over {marker()}", "owner_id": sue.id}, channel="agent"
        )
        await ticket_workflow.reassign(s, sue, ticket, acme.users["tom"])
        assert (ticket.owner_id, ticket.team_id) == (acme.users["tom"], acme.teams["Support"])
        note = (
            await s.execute(
                select(Notification)
                .where(Notification.user_id == acme.users["tom"])
                .order_by(Notification.id.desc())
                .limit(1)
            )
        ).scalar_one()
        assert note.title == f"{ticket.number} is assigned to you: {ticket.subject}"
        ticket_id = ticket.id
    async with in_tenant(acme.slug) as (s, _):  # a sales rep who happens to own it may read, not work it
        t = await s.get(Ticket, ticket_id)
        t.owner_id, t.team_id = acme.users["alice"], acme.teams["East"]
    async with acting_as(acme, "alice") as (s, alice):
        assert (await tickets.get_ticket(s, alice, ticket_id)).id == ticket_id
        with pytest.raises(Forbidden):
            await ticket_workflow.get_writable_ticket(s, alice, ticket_id)


async def test_tickets_written_directly_still_read_under_rules(acme):
    """The factory's tickets (no owner, no team) are visible to administrators only."""
    async with acting_as(acme, "ada") as (s, _):
        ticket = await add_ticket(s, "Orphan")
    async with acting_as(acme, "sue") as (s, sue):
        with pytest.raises(NotFound):
            await tickets.get_ticket(s, sue, ticket.id)
    async with acting_as(acme, "ada") as (s, ada):
        assert (await tickets.get_ticket(s, ada, ticket.id)).subject == "Orphan"


async def test_a_ticket_about_an_order_belongs_to_the_orders_account(acme):
    from datetime import date
    from decimal import Decimal

    from app.crm.models import SalesOrder

    async with acting_as(acme, "ada") as (s, _):
        account, other = (
            await add_account(s, f"Order Co {marker()}"),
            await add_account(s, f"Other {marker()}"),
        )
        order = SalesOrder(
            number=f"SO-T-{marker()}", account_id=account.id, currency="CNY", order_date=date(2026, 12, 1),
            subtotal=Decimal("0"), tax_total=Decimal("0"), total=Decimal("0"),
        )  # fmt: skip
        s.add(order)
        await s.flush()
    async with acting_as(acme, "sue") as (s, sue):
        t = await tickets.open_ticket(
            s, sue, {"subject": "Late delivery", "sales_order_id": order.id}, channel="phone"
        )
        assert (t.account_id, t.sales_order_id) == (account.id, order.id)
        with pytest.raises(ValidationFailed) as exc:
            await tickets.open_ticket(
                s, sue, {"subject": "Wrong", "sales_order_id": order.id}, channel="phone", account_id=other.id
            )
    assert errors_of(exc) == {"sales_order_id": "Choose an order of this customer."}
