"""The account timeline (CRM-1): every source merged by time, each under its own record rules,
pluggable sources, paging; logging interactions and ticking off tasks from the profile."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from app.crm.interface import TIMELINE_SOURCES, TimelineEntry, register_timeline_source
from app.crm.models import Quote, SalesOrder, Ticket
from app.crm.services import activities, opportunities, timeline
from app.kernel.db import utcnow
from app.kernel.errors import NotFound, ValidationFailed
from tests.crm.customers_support import CUSTOMER_TABLES, mark, new_account, new_contact
from tests.crm.support import acting_as, count_rows, table_counts
from tests.helpers import signed_in


async def _documents(tenant, account_id: int, owner: str, m: str) -> None:
    """A quote, an order and a ticket of ``owner`` at the account, one hour apart (oldest first)."""
    async with acting_as(tenant, owner) as (session, principal):
        now = utcnow()
        owned = {"owner_id": principal.id, "team_id": min(principal.team_ids, default=None)}
        session.add(
            Quote(
                number=f"Q-{m}",
                account_id=account_id,
                currency="CNY",
                total=Decimal("1130.00"),
                created_at=now - timedelta(hours=3),
                **owned,
            )
        )
        session.add(
            SalesOrder(
                number=f"SO-{m}",
                account_id=account_id,
                currency="CNY",
                status="confirmed",
                order_date=now.date(),
                total=Decimal("2260.00"),
                created_at=now - timedelta(hours=2),
                **owned,
            )
        )
        session.add(
            Ticket(
                number=f"T-{m}",
                subject="Printer jams",
                account_id=account_id,
                status="open",
                created_at=now - timedelta(hours=1),
                **owned,
            )
        )


async def test_timeline_merges_every_source_newest_first(acme):
    m = mark()
    account = await new_account(acme, "alice", name=f"Timeline {m}")
    await _documents(acme, account, "alice", m)
    async with acting_as(acme, "alice") as (session, principal):
        await activities.log_activity(
            session,
            principal,
            account,
            {
                "kind": "call",
                "subject": "First call",
                "occurred_at": (utcnow() - timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"),
            },
        )
        await opportunities.create_opportunity(
            session, principal, {"account_id": account, "name": f"Deal {m}", "amount": "5000"}
        )
    async with acting_as(acme, "alice") as (session, principal):
        page = await timeline.account_timeline(session, principal, account)
    assert [(e.kind, e.title) for e in page.entries] == [
        ("Opportunity", f"Deal {m}"),
        ("Ticket", f"T-{m} · Printer jams"),
        ("Sales order", f"SO-{m}"),
        ("Quote", f"Q-{m}"),
        ("Call", "First call"),
    ]
    order = page.entries[2]
    assert (order.status, order.tone, order.amount, order.currency) == (
        "Confirmed",
        "info",
        Decimal("2260.00"),
        "CNY",
    )
    assert page.next_cursor is None


async def test_each_source_keeps_its_own_record_rules(acme):
    """Dave's order at alice's account: alice sees the account but not dave's order; ada sees all."""
    m = mark()
    account = await new_account(acme, "ada", name=f"Shared {m}", owner_id=acme.users["alice"])
    await _documents(acme, account, "dave", m)
    async with acting_as(acme, "alice") as (session, principal):
        alices_view = await timeline.account_timeline(session, principal, account)
    async with acting_as(acme, "ada") as (session, principal):
        adas_view = await timeline.account_timeline(session, principal, account)
    async with acting_as(acme, "dave") as (session, principal):
        with pytest.raises(NotFound):  # dave owns documents there, but not the account
            await timeline.account_timeline(session, principal, account)
    assert alices_view.entries == []
    assert [e.title for e in adas_view.entries] == [f"T-{m} · Printer jams", f"SO-{m}", f"Q-{m}"]


async def test_another_context_plugs_in_a_source(acme):
    account = await new_account(acme, "alice")
    calls = []

    async def invoices_of(session, principal, account_id, before, limit):
        calls.append((account_id, limit))
        return [
            TimelineEntry(
                at=utcnow() - timedelta(minutes=1),
                key="invoice:000000000007",
                kind="Invoice",
                title="INV-2026-0007",
                icon="coins",
                amount=Decimal("99.50"),
                currency="CNY",
            )
        ]

    register_timeline_source(invoices_of, name="test_invoices", label="Invoices")
    try:
        async with acting_as(acme, "alice") as (session, principal):
            page = await timeline.account_timeline(session, principal, account)
            only = await timeline.account_timeline(session, principal, account, only=["activities"])
    finally:
        TIMELINE_SOURCES.pop("test_invoices")
    assert [e.title for e in page.entries] == ["INV-2026-0007"]
    assert "test_invoices" in [s.name for s in page.sources]
    assert only.entries == []
    assert only.selected == ["activities"]
    assert calls == [(account, timeline.DEFAULT_LIMIT + 1)]


async def test_paging_never_repeats_or_skips(acme):
    account = await new_account(acme, "alice")
    async with acting_as(acme, "alice") as (session, principal):
        start = utcnow() - timedelta(days=1)
        for i in range(7):
            when = (start + timedelta(minutes=i // 3)).strftime("%Y-%m-%dT%H:%M")  # three share a minute
            await activities.log_activity(
                session, principal, account, {"kind": "note", "subject": f"Note {i}", "occurred_at": when}
            )
    seen, cursor = [], None
    async with acting_as(acme, "alice") as (session, principal):
        while True:
            page = await timeline.account_timeline(session, principal, account, before=cursor, limit=3)
            seen += [e.title for e in page.entries]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        garbage = await timeline.account_timeline(session, principal, account, before="nonsense|x", limit=2)
    assert seen == [f"Note {i}" for i in reversed(range(7))]
    assert [e.title for e in garbage.entries] == ["Note 6", "Note 5"]  # a bad cursor starts at the newest


async def test_logging_refuses_bad_input_and_writes_nothing(acme):
    account = await new_account(acme, "alice")
    other = await new_account(acme, "alice")
    strangers = await new_contact(acme, other)
    future = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    before = await table_counts(acme, *CUSTOMER_TABLES)
    cases = [
        ({"kind": "fax", "subject": "x"}, [("kind", "Choose one of: {choices}.")]),
        ({"kind": "call", "subject": " "}, [("subject", "This field is required.")]),
        (
            {"kind": "call", "subject": "x", "occurred_at": future},
            [("occurred_at", "An interaction that has happened cannot be in the future.")],
        ),
        (
            {"kind": "call", "subject": "x", "occurred_at": "yesterday"},
            [("occurred_at", "Enter a date and time as YYYY-MM-DD HH:MM.")],
        ),
        (
            {"kind": "call", "subject": "x", "direction": "sideways"},
            [("direction", "Choose one of: {choices}.")],
        ),
        (
            {"kind": "note", "subject": "x", "contact_id": strangers},
            [("contact_id", "Choose a contact of this account.")],
        ),
    ]
    for data, expected in cases:
        with pytest.raises(ValidationFailed) as err:
            async with acting_as(acme, "alice") as (session, principal):
                await activities.log_activity(session, principal, account, data)
        assert [(e.field, e.message) for e in err.value.errors] == expected
    assert await table_counts(acme, *CUSTOMER_TABLES) == before


async def test_profile_logs_an_interaction_with_htmx_and_ticks_off_a_task(app, acme):
    account = await new_account(acme, "alice", name=f"Profile {mark()}")
    contact = await new_contact(acme, account, full_name="王芳")
    async with signed_in(app, acme, "alice") as b:
        page = await b.get(f"/crm/accounts/{account}")
        assert page.status_code == 200
        assert 'id="timeline-block"' in page.text
        r = await b.htmx(
            "POST",
            f"/crm/accounts/{account}/activities",
            {
                "kind": "meeting",
                "subject": "Visited the plant",
                "contact_id": str(contact),
                "body": "Line 3 needs two more A2.",
            },
        )
        assert r.status_code == 200
        assert "Visited the plant" in r.text
        assert "with 王芳" in r.text
        assert "Meeting logged." in r.text
        bad = await b.htmx("POST", f"/crm/accounts/{account}/activities", {"kind": "call", "subject": ""})
        assert bad.status_code == 422
        assert bad.headers["HX-Retarget"] == "#timeline-block"
        assert "This field is required." in bad.text
        task = await b.htmx(
            "POST",
            f"/crm/accounts/{account}/activities",
            {"kind": "task", "subject": "Send the quote", "due_at": "2026-01-02T09:00"},
        )
        assert "Overdue" in task.text
        task_id = await _last_activity(acme, account)
        done = await b.htmx("POST", f"/crm/activities/{task_id}/done")
        assert done.status_code == 200
        assert "Done" in done.text
        more = await b.get(
            f"/crm/accounts/{account}/timeline?only=activities", headers={"HX-Request": "true"}
        )
        assert "Visited the plant" in more.text
        assert 'class="chip active"' in more.text
    assert await count_rows(acme, "crm_activities", "account_id = :a", a=account) == 2
    assert await count_rows(acme, "crm_activities", "id = :t AND done_at IS NOT NULL", t=task_id) == 1


async def _last_activity(tenant, account_id: int) -> int:
    from sqlalchemy import select

    from app.crm.models import Activity
    from tenants.service import in_tenant

    async with in_tenant(tenant.slug) as (session, _):
        stmt = select(Activity.id).where(Activity.account_id == account_id).order_by(Activity.id.desc())
        return int((await session.execute(stmt.limit(1))).scalar_one())


async def test_other_reps_cannot_log_on_an_account_or_tick_its_tasks(app, acme):
    account = await new_account(acme, "alice")
    async with acting_as(acme, "alice") as (session, principal):
        task = await activities.log_activity(session, principal, account, {"kind": "task", "subject": "Mine"})
    async with signed_in(app, acme, "dave") as b:
        before = await table_counts(acme, *CUSTOMER_TABLES)
        logged = await b.post(f"/crm/accounts/{account}/activities", {"kind": "note", "subject": "Hi"})
        ticked = await b.post(f"/crm/activities/{task.id}/done")
        assert await table_counts(acme, *CUSTOMER_TABLES) == before
    assert (logged.status_code, ticked.status_code) == (404, 404)
