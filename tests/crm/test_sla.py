"""SLA policies and escalation (CRM-10): the admin page, timers, and the every-minute escalation
task — exact flags, levels, recipients and events, and a second run that changes nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.crm import events
from app.crm.jobs.service import escalate_overdue_tickets
from app.crm.models import SlaPolicy, Ticket
from app.crm.services.sla import Timer, sla_timer
from app.kernel.db import utcnow
from app.kernel.outbox import OutboxEvent
from app.kernel.periodic import periodic_task
from app.notifications.models import Notification
from tenants.service import in_tenant
from tests.crm.factories.service import add_ticket, new_team
from tests.crm.support import outbox_count, table_counts
from tests.helpers import signed_in


def marker() -> str:
    return uuid.uuid4().hex[:10]


async def _policy(tenant, priority: str) -> SlaPolicy:  # type: ignore[no-untyped-def]
    async with in_tenant(tenant.slug) as (s, _):
        return (await s.execute(select(SlaPolicy).where(SlaPolicy.priority == priority))).scalar_one()


async def test_an_administrator_changes_a_policys_targets(app, acme):
    high = await _policy(acme, "high")
    async with signed_in(app, acme, "ada") as b:
        page = await b.get("/service/sla")
        assert page.status_code == 200
        assert "Now: 1 h" in page.text
        r = await b.post(
            f"/service/sla/{high.id}",
            {"name": "High", "first_response_minutes": "90", "resolution_minutes": "600", "active": "1"},
        )
        assert r.status_code == 303
        assert "Now: 1 h 30 min" in (await b.get("/service/sla")).text
        r = await b.post(
            f"/service/sla/{high.id}",
            {"name": "High", "first_response_minutes": "60", "resolution_minutes": "480", "active": "1"},
        )
        assert r.status_code == 303
    stored = await _policy(acme, "high")
    assert (stored.first_response_minutes, stored.resolution_minutes, stored.active) == (60, 480, True)


async def test_bad_targets_are_refused_and_nothing_changes(app, acme):
    normal = await _policy(acme, "normal")
    async with signed_in(app, acme, "ada") as b:
        before = await table_counts(acme, "crm_sla_policies", "audit_log")
        for data, message in [
            (
                {"name": "", "first_response_minutes": "60", "resolution_minutes": "60"},
                "This field is required.",
            ),
            ({"name": "N", "first_response_minutes": "0", "resolution_minutes": "60"}, "Must be at least 1."),
            (
                {"name": "N", "first_response_minutes": "1.5", "resolution_minutes": "60"},
                "Enter a whole number.",
            ),
            (
                {"name": "N", "first_response_minutes": "60", "resolution_minutes": "600000"},
                "Must be at most 525600.",
            ),
            (
                {"name": "N", "first_response_minutes": "120", "resolution_minutes": "60"},
                "The resolution target cannot be shorter than the first response.",
            ),
        ]:
            r = await b.post(f"/service/sla/{normal.id}", {**data, "active": "1"})
            assert r.status_code == 422, data
            assert message in r.text
        assert await table_counts(acme, "crm_sla_policies", "audit_log") == before
    stored = await _policy(acme, "normal")
    assert (stored.name, stored.first_response_minutes, stored.resolution_minutes) == ("Normal", 240, 1440)


async def test_agents_read_the_targets_but_cannot_change_them(app, acme):
    low = await _policy(acme, "low")
    async with signed_in(app, acme, "sue") as b:
        page = await b.get("/service/sla")
        assert page.status_code == 200
        assert "Only administrators change these targets." in page.text
        assert f'action="/service/sla/{low.id}"' not in page.text
        r = await b.post(
            f"/service/sla/{low.id}",
            {"name": "Low", "first_response_minutes": "1", "resolution_minutes": "1"},
        )
        assert r.status_code == 403
    assert (await _policy(acme, "low")).first_response_minutes == 480


async def test_a_switched_off_policy_opens_tickets_without_deadlines(acme):
    from app.crm.services import sla, tickets

    low = await _policy(acme, "low")
    async with in_tenant(acme.slug) as (s, _):
        await sla.update_policy(
            s, low.id, {"name": low.name, "first_response_minutes": 480, "resolution_minutes": 4320}
        )
    try:
        async with in_tenant(acme.slug) as (s, _):
            t = await tickets.open_ticket(
                s, None, {"subject": "No clock", "priority": "low"}, channel="email"
            )
            assert (t.sla_policy_id, t.first_response_due_at, t.resolution_due_at) == (None, None, None)
            assert sla_timer(t, utcnow()) is None
    finally:
        async with in_tenant(acme.slug) as (s, _):
            data = {
                "name": low.name,
                "first_response_minutes": 480,
                "resolution_minutes": 4320,
                "active": True,
            }
            await sla.update_policy(s, low.id, data)


def test_timers_run_against_the_next_target():
    now = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    t = Ticket(
        status="open",
        first_response_due_at=now + timedelta(minutes=135),
        resolution_due_at=now + timedelta(days=2),
    )
    timer = sla_timer(t, now)
    assert timer == Timer("response", now + timedelta(minutes=135), 135 * 60)
    assert (timer.label, timer.level) == ("2 h 15 min left", "ok")
    t.first_responded_at = now
    timer = sla_timer(t, now)
    assert (timer.target, timer.label) == ("resolution", "2 d left")  # type: ignore[union-attr]
    t.resolution_due_at = now - timedelta(minutes=61, seconds=30)
    assert (sla_timer(t, now).label, sla_timer(t, now).level) == ("Overdue by 1 h 1 min", "err")  # type: ignore[union-attr]
    t.resolution_due_at = now + timedelta(minutes=20)
    assert sla_timer(t, now).level == "warn"  # type: ignore[union-attr]
    t.status = "resolved"
    assert sla_timer(t, now) is None


async def _escalated(ticket_id: int) -> tuple[bool, bool, int, datetime | None]:
    async with in_tenant("acme") as (s, _):
        t = await s.get(Ticket, ticket_id)
        assert t is not None
        return t.response_breached, t.resolution_breached, t.escalation_level, t.escalated_at


async def _notes(user_id: int, ticket_number: str) -> list[str]:
    async with in_tenant("acme") as (s, _):
        rows = await s.execute(
            select(Notification.title).where(
                Notification.user_id == user_id,
                Notification.kind == "crm.ticket_escalated",
                Notification.title.like(f"{ticket_number} %"),
            )
        )
        return sorted(rows.scalars())


async def _escalation_events(ticket_id: int) -> list[tuple[int, str]]:
    async with in_tenant("acme") as (s, _):
        rows = await s.execute(
            select(OutboxEvent.payload).where(
                OutboxEvent.topic == events.TICKET_ESCALATED,
                OutboxEvent.payload["ticket_id"].as_integer() == ticket_id,
            )
        )
        return sorted((p["level"], p["reason"]) for p in rows.scalars())


async def test_escalation_flags_notifies_the_manager_and_a_second_run_changes_nothing(acme):
    assert periodic_task("crm.ticket_escalation").every == timedelta(minutes=1)  # type: ignore[union-attr]
    team, (agent, manager) = await new_team(acme, f"ES{marker()}", agents=1, manager=True)
    now = utcnow()
    async with in_tenant(acme.slug) as (s, _):
        both = await add_ticket(
            s, "Both late", status="open", owner_id=agent, team_id=team, description="Dead printer",
            first_response_due_at=now - timedelta(minutes=5), resolution_due_at=now - timedelta(minutes=1),
        )  # fmt: skip
        answered = await add_ticket(
            s, "Answered, unresolved", status="pending", owner_id=agent, team_id=team,
            first_response_due_at=now - timedelta(hours=2), first_responded_at=now - timedelta(hours=3),
            resolution_due_at=now - timedelta(minutes=1),
        )  # fmt: skip
        in_time = await add_ticket(
            s, "In time", status="new", team_id=team,
            first_response_due_at=now + timedelta(minutes=5), resolution_due_at=now + timedelta(hours=1),
        )  # fmt: skip
        resolved = await add_ticket(
            s, "Resolved", status="resolved", team_id=team, resolved_at=now - timedelta(hours=1),
            first_responded_at=now - timedelta(hours=2), first_response_due_at=now - timedelta(hours=1),
            resolution_due_at=now - timedelta(minutes=30),
        )  # fmt: skip
        numbers = {t.id: t.number for t in (both, answered, in_time, resolved)}
    async with in_tenant(acme.slug) as (s, _):
        first = await escalate_overdue_tickets(s)
    assert first["breaches"] >= 3
    assert (await _escalated(both.id))[:3] == (True, True, 2)
    assert (await _escalated(answered.id))[:3] == (False, True, 1)
    assert await _escalated(in_time.id) == (False, False, 0, None)
    assert await _escalated(resolved.id) == (False, False, 0, None)
    assert (await _escalated(both.id))[3] is not None
    assert await _escalation_events(both.id) == [(1, "response"), (2, "resolution")]
    assert await _escalation_events(answered.id) == [(1, "resolution")]
    assert await _notes(manager, numbers[both.id]) == [
        f"{numbers[both.id]} is past its first-response target: Both late",
        f"{numbers[both.id]} is past its resolution target: Both late",
    ]
    assert await _notes(manager, numbers[answered.id]) == [
        f"{numbers[answered.id]} is past its resolution target: Answered, unresolved"
    ]
    assert await _notes(agent, numbers[both.id]) == []  # the manager hears of it, not the agent

    state = [await _escalated(t) for t in (both.id, answered.id)]
    events_before = await outbox_count(events.TICKET_ESCALATED)
    async with in_tenant(acme.slug) as (s, _):
        notes_before = await s.scalar(select(func.count()).select_from(Notification))
        second = await escalate_overdue_tickets(s)
    assert second == {"tickets": 0, "breaches": 0}
    assert [await _escalated(t) for t in (both.id, answered.id)] == state
    assert await outbox_count(events.TICKET_ESCALATED) == events_before
    async with in_tenant(acme.slug) as (s, _):
        assert await s.scalar(select(func.count()).select_from(Notification)) == notes_before


async def test_a_team_without_a_manager_escalates_to_the_administrators(acme):
    now = utcnow()
    async with in_tenant(acme.slug) as (s, _):
        t = await add_ticket(
            s, f"Support late {marker()}", status="new", team_id=acme.teams["Support"],
            first_response_due_at=now - timedelta(minutes=1), resolution_due_at=now + timedelta(hours=3),
        )  # fmt: skip
    async with in_tenant(acme.slug) as (s, _):
        await escalate_overdue_tickets(s)
    assert await _notes(acme.users["ada"], t.number) == [
        f"{t.number} is past its first-response target: {t.subject}"
    ]
    assert (await _escalated(t.id))[:3] == (True, False, 1)


async def test_tickets_resolved_for_a_week_close_by_themselves_once(acme):
    from app.crm.jobs.service import close_resolved_tickets

    now = utcnow()
    async with in_tenant(acme.slug) as (s, _):
        old = await add_ticket(
            s, "Resolved long ago", status="resolved", resolved_at=now - timedelta(days=7, minutes=1)
        )
        recent = await add_ticket(
            s, "Resolved yesterday", status="resolved", resolved_at=now - timedelta(days=1)
        )
    async with in_tenant(acme.slug) as (s, _):
        assert (await close_resolved_tickets(s))["closed"] >= 1
    async with in_tenant(acme.slug) as (s, _):
        assert (await s.get(Ticket, old.id)).status == "closed"  # type: ignore[union-attr]
        assert (await s.get(Ticket, recent.id)).status == "resolved"  # type: ignore[union-attr]
        assert await close_resolved_tickets(s) == {"closed": 0}
        closing = select(func.count()).where(
            OutboxEvent.topic == events.TICKET_CLOSED, OutboxEvent.payload["ticket_id"].as_integer() == old.id
        )
        assert await s.scalar(closing) == 1
