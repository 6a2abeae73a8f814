"""Contracts and their payment schedules (CRM-5): equal instalments with the residual cent on the
last, hand-edited schedules that must add up to the value, the status flow, record rules."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from app.crm.errors import InvalidState
from app.crm.services import contracts
from app.crm.services.contracts import add_months, equal_instalments
from app.kernel.errors import NotFound, ValidationFailed
from tenants.service import in_tenant
from tests.crm.factories.sales import account_row, order_row, product_row
from tests.crm.support import acting_as, table_counts

TABLES = ("crm_contracts", "crm_payment_instalments")


@pytest.fixture
async def account_id(acme) -> int:
    async with in_tenant(acme.slug) as (session, _):
        account = await account_row(
            session,
            f"Contract client {uuid.uuid4().hex[:6]}",
            owner_id=acme.users["alice"],
            team_id=acme.teams["East"],
        )
        return account.id


async def draft(acme, account: int, value: str = "1000.00", **extra) -> int:
    async with acting_as(acme, "alice") as (session, principal):
        contract = await contracts.create_contract(
            session,
            principal,
            {
                "title": "年度维保合同",
                "account_id": account,
                "value": value,
                "start_date": "2027-01-01",
                "end_date": "2027-12-31",
                "payment_terms": "30% on signing",
                **extra,
            },
        )
        return contract.id


def test_equal_instalments_put_the_residual_cent_on_the_last_one():
    assert equal_instalments(Decimal("1000.00"), 3) == [
        Decimal("333.33"),
        Decimal("333.33"),
        Decimal("333.34"),
    ]
    assert equal_instalments(Decimal("100.00"), 7) == [Decimal("14.28")] * 6 + [Decimal("14.32")]
    assert equal_instalments(Decimal("0.05"), 5) == [Decimal("0.01")] * 5
    assert sum(equal_instalments(Decimal("98765.43"), 12)) == Decimal("98765.43")


def test_months_are_added_inside_short_months():
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2027, 11, 15), 3) == date(2028, 2, 15)


async def test_a_generated_schedule_adds_up_and_the_contract_activates(acme, account_id):
    cid = await draft(acme, account_id)
    async with acting_as(acme, "alice") as (session, principal):
        rows = await contracts.generate_schedule(
            session, principal, cid, {"count": "3", "first_due_date": "2027-01-31", "every_months": "1"}
        )
        assert [(r.due_date, r.amount) for r in rows] == [
            (date(2027, 1, 31), Decimal("333.33")),
            (date(2027, 2, 28), Decimal("333.33")),
            (date(2027, 3, 31), Decimal("333.34")),
        ]
    async with acting_as(acme, "alice") as (session, principal):
        contract = await contracts.activate_contract(session, principal, cid)
        assert contract.status == "active"
        assert contract.signed_on is not None
        assert contract.number.startswith("CT-")


async def test_a_contract_whose_schedule_does_not_add_up_cannot_activate(acme, account_id):
    cid = await draft(acme, account_id)
    async with acting_as(acme, "alice") as (session, principal):
        with pytest.raises(InvalidState) as exc:
            await contracts.activate_contract(session, principal, cid)
    assert exc.value.code == "schedule_mismatch"
    assert exc.value.params == {"scheduled": "0.00", "value": "1000.00"}
    async with acting_as(acme, "alice") as (session, principal):
        assert (await contracts.get_contract(session, principal, cid)).status == "draft"


async def test_a_hand_edited_schedule_must_sum_to_the_value(acme, account_id):
    cid = await draft(acme, account_id)
    before = await table_counts(acme, *TABLES)
    async with acting_as(acme, "alice") as (session, principal):
        with pytest.raises(ValidationFailed) as exc:
            await contracts.save_schedule(
                session,
                principal,
                cid,
                [
                    {"due_date": "2027-01-15", "amount": "300.00"},
                    {"due_date": "2027-06-15", "amount": "699.99"},
                ],
            )
    assert [(e.field, e.message, e.params) for e in exc.value.errors] == [
        (
            "instalments",
            "The instalments add up to {total}; the contract value is {value}.",
            {"total": "999.99", "value": "1000.00"},
        )
    ]
    assert await table_counts(acme, *TABLES) == before
    async with acting_as(acme, "alice") as (session, principal):
        rows = await contracts.save_schedule(
            session,
            principal,
            cid,
            [
                {"due_date": "2027-01-15", "amount": "300.00", "description": "签约款"},
                {"due_date": "2027-06-15", "amount": "700.00", "description": "验收款"},
            ],
        )
        first_id = rows[0].id
    async with acting_as(acme, "alice") as (session, principal):
        rows = await contracts.save_schedule(  # keep the first, change it, replace the second by two
            session,
            principal,
            cid,
            [
                {"id": first_id, "due_date": "2027-01-20", "amount": "300.00", "description": "签约款"},
                {"due_date": "2027-04-15", "amount": "350.00"},
                {"due_date": "2027-07-15", "amount": "350.00"},
            ],
        )
    async with acting_as(acme, "alice") as (session, _):
        stored = await contracts.instalments_of(session, cid)
        assert [(i.id == first_id, i.due_date, i.amount, i.description) for i in stored] == [
            (True, date(2027, 1, 20), Decimal("300.00"), "签约款"),
            (False, date(2027, 4, 15), Decimal("350.00"), ""),
            (False, date(2027, 7, 15), Decimal("350.00"), ""),
        ]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            [{"due_date": "2027-01-15", "amount": "-1000.00"}],
            {"instalments[0].amount": "Must be greater than zero."},
        ),
        ([{"due_date": "", "amount": "1000.00"}], {"instalments[0].due_date": "This field is required."}),
        (
            [{"due_date": "2027-01-15", "amount": "1000.001"}],
            {"instalments[0].amount": "Use at most {n} decimal places."},
        ),
        (
            [{"id": 999999999, "due_date": "2027-01-15", "amount": "1000.00"}],
            {"instalments[0].id": "This instalment is not part of the contract."},
        ),
    ],
)
async def test_bad_schedule_rows_are_refused(acme, account_id, rows, expected):
    cid = await draft(acme, account_id)
    before = await table_counts(acme, *TABLES)
    async with acting_as(acme, "alice") as (session, principal):
        with pytest.raises(ValidationFailed) as exc:
            await contracts.save_schedule(session, principal, cid, rows)
    assert {e.field: e.message for e in exc.value.errors} == expected
    assert await table_counts(acme, *TABLES) == before


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"count": "0"}, {"count": "Must be at least {min}."}),
        ({"count": "121"}, {"count": "Must be at most {max}."}),
        ({"first_due_date": ""}, {"first_due_date": "This field is required."}),
        ({"every_months": "0"}, {"every_months": "Must be at least {min}."}),
    ],
)
async def test_bad_schedule_generation_is_refused(acme, account_id, data, expected):
    cid = await draft(acme, account_id)
    before = await table_counts(acme, *TABLES)
    async with acting_as(acme, "alice") as (session, principal):
        with pytest.raises(ValidationFailed) as exc:
            await contracts.generate_schedule(
                session, principal, cid, {"count": "4", "first_due_date": "2027-01-01", **data}
            )
    assert {e.field: e.message for e in exc.value.errors} == expected
    assert await table_counts(acme, *TABLES) == before


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"value": "-1"}, {"value": "Must be at least {min}."}),
        ({"title": ""}, {"title": "This field is required."}),
        ({"end_date": "2026-01-01"}, {"end_date": "The end date must not be before the start date."}),
        ({"account_id": ""}, {"account_id": "Choose the account."}),
        ({"currency": "yuan"}, {"currency": "Use a three-letter currency code (CNY, TWD, USD…)."}),
    ],
)
async def test_bad_contracts_are_refused(acme, account_id, data, expected):
    before = await table_counts(acme, *TABLES)
    with pytest.raises(ValidationFailed) as exc:
        await draft(acme, account_id, **data)
    assert {e.field: e.message for e in exc.value.errors} == expected
    assert await table_counts(acme, *TABLES) == before


async def test_a_contract_for_an_order_takes_its_value_and_currency(acme, account_id):
    async with in_tenant(acme.slug) as (session, _):
        from app.crm.models import Account

        account = await session.get(Account, account_id)
        product = await product_row(session, f"CT-{uuid.uuid4().hex[:6]}", "1000.00", "13")
        order = await order_row(
            session, account, [(product, "3")], status="confirmed", owner_id=acme.users["alice"]
        )
    async with acting_as(acme, "alice") as (session, principal):
        contract = await contracts.create_contract(
            session, principal, {"title": "供货合同", "sales_order_id": order.id}
        )
        assert (contract.account_id, contract.value, contract.currency) == (
            account_id,
            Decimal("3390.00"),
            "CNY",
        )


async def test_an_active_contract_keeps_its_value(acme, account_id):
    cid = await draft(acme, account_id)
    async with acting_as(acme, "alice") as (session, principal):
        await contracts.generate_schedule(
            session, principal, cid, {"count": "2", "first_due_date": "2027-02-01"}
        )
        await contracts.activate_contract(session, principal, cid)
    async with acting_as(acme, "alice") as (session, principal):
        with pytest.raises(ValidationFailed) as exc:
            await contracts.update_contract(session, principal, cid, {"value": "2000.00"})
        assert [e.field for e in exc.value.errors] == ["value"]
        updated = await contracts.update_contract(
            session, principal, cid, {"terms": "付款后 5 个工作日内开票。"}
        )
        assert (updated.value, updated.terms) == (Decimal("1000.00"), "付款后 5 个工作日内开票。")
        with pytest.raises(InvalidState) as state:
            await contracts.complete_contract(session, principal, cid)
        assert state.value.code == "contract_has_open_instalments"
        assert (await contracts.terminate_contract(session, principal, cid)).status == "terminated"


async def test_contracts_follow_record_rules(acme, account_id):
    cid = await draft(acme, account_id)
    async with acting_as(acme, "dave") as (session, principal):
        with pytest.raises(NotFound):
            await contracts.get_contract(session, principal, cid)
        with pytest.raises(NotFound):
            await contracts.generate_schedule(
                session, principal, cid, {"count": "1", "first_due_date": "2027-01-01"}
            )
        assert cid not in {
            c.id for c in (await session.execute(contracts.visible_contracts(principal))).scalars()
        }
    async with acting_as(acme, "sam") as (session, principal):
        assert (await contracts.get_contract(session, principal, cid)).id == cid
    async with acting_as(acme, "bob") as (session, principal):
        assert (await contracts.get_contract(session, principal, cid)).id == cid


async def test_terms_dates_are_checked_on_update(acme, account_id):
    cid = await draft(acme, account_id)
    async with acting_as(acme, "alice") as (session, principal):
        with pytest.raises(ValidationFailed) as exc:
            await contracts.update_contract(session, principal, cid, {"end_date": "2026-12-31"})
        assert [e.field for e in exc.value.errors] == ["end_date"]
        contract = await contracts.update_contract(session, principal, cid, {"end_date": "2029-01-01"})
        assert contract.end_date == date(2029, 1, 1)
