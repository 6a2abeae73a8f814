"""Collections (CRM-5): partial receipts, never more than is open, derived instalment status, the
due/overdue board per rep, and reminders the worker sends once per instalment and kind."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.crm.errors import InvalidState
from app.crm.jobs.sales import send_collection_reminders
from app.crm.models import PaymentInstalment
from app.crm.notifications import COLLECTION_DUE
from app.crm.services import collections
from app.crm.services.calendar import tenant_today
from app.kernel.errors import ValidationFailed
from app.notifications.models import Notification
from tenants.service import in_tenant
from tests.crm.factories.sales import account_row, contract_row
from tests.crm.support import acting_as, table_counts

TABLES = ("crm_collections", "crm_payment_instalments")


@dataclass
class Book:
    today: date
    contract_id: int
    overdue: int  # 100.00 due 5 days ago
    soon: int  # 200.00 due in 2 days
    later: int  # 300.00 due in 20 days
    far: int  # 400.00 due in 40 days: not on the board
    marker: str


async def ids_of(session, contract_id: int) -> list[int]:
    stmt = select(PaymentInstalment.id).where(PaymentInstalment.contract_id == contract_id)
    return list((await session.execute(stmt.order_by(PaymentInstalment.due_date))).scalars())


@pytest.fixture
async def book(acme) -> Book:
    marker = uuid.uuid4().hex[:8]
    async with in_tenant(acme.slug) as (session, _):
        today = tenant_today()
        account = await account_row(session, f"回款客户 {marker}", owner_id=acme.users["alice"])
        contract = await contract_row(
            session,
            account,
            "1000.00",
            [
                (today - timedelta(days=5), "100.00"),
                (today + timedelta(days=2), "200.00"),
                (today + timedelta(days=20), "300.00"),
                (today + timedelta(days=40), "400.00"),
            ],
            owner_id=acme.users["alice"],
            team_id=acme.teams["East"],
            title=f"维保 {marker}",
        )
        overdue, soon, later, far = await ids_of(session, contract.id)
        return Book(today, contract.id, overdue, soon, later, far, marker)


def fields_of(exc: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {e.field: e.message for e in exc.value.errors}


async def test_partial_collections_and_the_derived_status(acme, book):
    async with acting_as(acme, "alice") as (session, principal):
        await collections.record_collection(
            session,
            principal,
            book.soon,
            {"amount": "50.00", "reference": "招行 8812", "method": "bank_transfer"},
        )
    async with acting_as(acme, "alice") as (session, principal):
        await collections.record_collection(
            session, principal, book.soon, {"amount": "150.00", "method": "cash"}
        )
        await collections.record_collection(session, principal, book.overdue, {"amount": "40.00"})
    async with in_tenant(acme.slug) as (session, _):
        rows = {i.id: i for i in (await session.execute(select(PaymentInstalment))).scalars()}
        statuses = [
            collections.instalment_status(rows[i], book.today) for i in (book.overdue, book.soon, book.later)
        ]
        assert statuses == ["overdue", "paid", "pending"]
        assert rows[book.overdue].collected == Decimal("40.00")
        received = await collections.collections_of(session, book.contract_id)
        assert sorted((c.amount, c.method, c.reference) for c in received) == [
            (Decimal("40.00"), "bank_transfer", None),
            (Decimal("50.00"), "bank_transfer", "招行 8812"),
            (Decimal("150.00"), "cash", None),
        ]
        rows[book.later].collected = Decimal("1.00")
        assert collections.instalment_status(rows[book.later], book.today) == "partially_paid"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"amount": "200.01"}, {"amount": "More than the open amount of {open} {currency}."}),
        ({"amount": "0"}, {"amount": "Must be greater than zero."}),
        ({"amount": "-5"}, {"amount": "Must be greater than zero."}),
        ({"amount": "1", "method": "bitcoin"}, {"method": "Choose one of: {choices}."}),
        (
            {"amount": "1", "received_on": "2999-01-01"},
            {"received_on": "A collection cannot be received in the future."},
        ),
    ],
)
async def test_bad_collections_are_refused_and_nothing_changes(acme, book, data, expected):
    before = await table_counts(acme, *TABLES)
    async with acting_as(acme, "alice") as (session, principal):
        with pytest.raises(ValidationFailed) as exc:
            await collections.record_collection(session, principal, book.soon, data)
    assert fields_of(exc) == expected
    assert await table_counts(acme, *TABLES) == before
    async with in_tenant(acme.slug) as (session, _):
        assert (await session.get(PaymentInstalment, book.soon)).collected == Decimal("0.00")


async def test_a_second_receipt_cannot_exceed_what_is_left(acme, book):
    async with acting_as(acme, "alice") as (session, principal):
        await collections.record_collection(session, principal, book.overdue, {"amount": "70.00"})
    async with acting_as(acme, "alice") as (session, principal):
        with pytest.raises(ValidationFailed) as exc:
            await collections.record_collection(session, principal, book.overdue, {"amount": "30.01"})
    assert exc.value.errors[0].params == {"open": "30.00", "currency": "CNY"}


async def test_collections_need_an_active_contract(acme, book):
    async with in_tenant(acme.slug) as (session, _):
        from app.crm.models import Contract

        (await session.get(Contract, book.contract_id)).status = "draft"
    async with acting_as(acme, "alice") as (session, principal):
        with pytest.raises(InvalidState) as exc:
            await collections.record_collection(session, principal, book.soon, {"amount": "1"})
    assert exc.value.code == "contract_not_active"


async def test_the_board_shows_overdue_and_the_next_30_days_per_rep(acme, book):
    async with acting_as(acme, "alice") as (session, principal):
        await collections.record_collection(session, principal, book.later, {"amount": "120.50"})
    async with acting_as(acme, "alice") as (session, principal):
        board = await collections.collection_board(session, principal, book.today)
        mine = [i for i in board.overdue + board.due if i.contract.id == book.contract_id]
        assert [(i.instalment.id, i.status, i.open) for i in mine] == [
            (book.overdue, "overdue", Decimal("100.00")),
            (book.soon, "pending", Decimal("200.00")),
            (book.later, "partially_paid", Decimal("179.50")),
        ]
        assert {r.owner_id for r in board.reps} == {acme.users["alice"]}
    async with acting_as(acme, "sam") as (session, principal):
        team = await collections.collection_board(
            session, principal, book.today, owner_id=acme.users["alice"]
        )
        assert book.contract_id in {i.contract.id for i in team.overdue}
    async with acting_as(acme, "dave") as (session, principal):
        other = await collections.collection_board(session, principal, book.today)
        assert book.contract_id not in {i.contract.id for i in other.overdue + other.due}


async def test_board_totals_are_exact_per_currency(acme):
    async with in_tenant(acme.slug) as (session, _):
        from app.security.models import User
        from app.security.services.users import create_user

        rep = await create_user(
            session,
            email=f"rep-{uuid.uuid4().hex[:6]}@acme.example",
            full_name="Solo Rep",
            password="correct horse battery",
            role_keys=["sales_rep"],
        )
        await session.flush()
        today = tenant_today()
        account = await account_row(session, "Totals Ltd", owner_id=rep.id)
        await contract_row(
            session,
            account,
            "0.30",
            [(today - timedelta(days=1), "0.10"), (today - timedelta(days=2), "0.20")],
            owner_id=rep.id,
        )
        await contract_row(session, account, "2.00", [(today + timedelta(days=3), "2.00")], owner_id=rep.id)
        assert await session.get(User, rep.id) is not None
    from app.security.principal import load_user_principal

    async with in_tenant(acme.slug) as (session, ref):
        principal = await load_user_principal(session, ref, rep.id)
        board = await collections.collection_board(session, principal, today)
    assert (board.overdue_totals, board.due_totals) == ({"CNY": Decimal("0.30")}, {"CNY": Decimal("2.00")})
    (solo,) = board.reps
    assert (solo.owner_id, solo.overdue, solo.due, solo.count) == (
        rep.id,
        {"CNY": Decimal("0.30")},
        {"CNY": Decimal("2.00")},
        3,
    )


async def reminders_for(acme, marker: str) -> list[tuple[int, str, str]]:
    async with in_tenant(acme.slug) as (session, _):
        stmt = select(Notification).where(
            Notification.kind == COLLECTION_DUE, Notification.body.like(f"%{marker}%")
        )
        return sorted((n.user_id, n.title, n.link or "") for n in (await session.execute(stmt)).scalars())


async def test_reminders_go_once_per_instalment_and_kind(acme, book):
    async with in_tenant(acme.slug) as (session, _):
        first = await send_collection_reminders(session, book.today)
    async with in_tenant(acme.slug) as (session, _):
        second = await send_collection_reminders(session, book.today)
    assert first["due"] >= 1
    assert first["overdue"] >= 1
    assert second == {"due": 0, "overdue": 0}
    sent = await reminders_for(acme, book.marker)
    link = f"/sales/contracts/{book.contract_id}"
    alice = acme.users["alice"]
    assert [(u, t.split(":")[0], lk) for u, t, lk in sent] == [
        (alice, f"Due on {_en(book.today + timedelta(days=2))}", link),
        (alice, f"Overdue since {_en(book.today - timedelta(days=5))}", link),
    ]
    assert all("回款客户" in t and "CN¥" in t for _, t, _ in sent)
    # Two days later the instalment due "soon" is overdue: it gets its overdue reminder, once.
    async with in_tenant(acme.slug) as (session, _):
        later = await send_collection_reminders(session, book.today + timedelta(days=3))
    assert later["overdue"] >= 1
    assert len(await reminders_for(acme, book.marker)) == 3
    async with in_tenant(acme.slug) as (session, _):
        rows = {i.id: i for i in (await session.execute(select(PaymentInstalment))).scalars()}
        assert (rows[book.soon].due_reminder_sent_on, rows[book.soon].overdue_reminder_sent_on) == (
            book.today,
            book.today + timedelta(days=3),
        )
        assert rows[book.far].due_reminder_sent_on is None


def _en(day: date) -> str:
    from app.kernel import i18n

    with i18n.use_locale("en"):
        return i18n.format_date(day)


async def test_paid_instalments_and_closed_contracts_are_not_chased(acme, book):
    async with acting_as(acme, "alice") as (session, principal):
        await collections.record_collection(session, principal, book.soon, {"amount": "200.00"})
    async with in_tenant(acme.slug) as (session, _):
        from app.crm.models import Contract

        await send_collection_reminders(session, book.today)
    sent = await reminders_for(acme, book.marker)
    assert [t.split(" ")[0] for _, t, _ in sent] == ["Overdue"]
    async with in_tenant(acme.slug) as (session, _):
        (await session.get(Contract, book.contract_id)).status = "terminated"
    async with in_tenant(acme.slug) as (session, _):
        await send_collection_reminders(session, book.today + timedelta(days=30))
    assert len(await reminders_for(acme, book.marker)) == 1


async def test_the_registered_daily_task_runs_with_a_session_and_is_idempotent(acme, book):
    from app.kernel.periodic import periodic_task

    task = periodic_task("crm.collection_reminders")
    assert task is not None
    assert (task.every, task.per_tenant) == (timedelta(days=1), True)
    async with in_tenant(acme.slug) as (session, _):
        first = await task.fn(session)
    async with in_tenant(acme.slug) as (session, _):
        again = await task.fn(session)
    assert first["due"] >= 1
    assert first["overdue"] >= 1
    assert again == {"due": 0, "overdue": 0}
    assert len(await reminders_for(acme, book.marker)) == 2
