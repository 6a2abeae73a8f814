"""Quotes (CRM-4): lines priced from the catalogue and the quote's price list, totals with the one
rounding rule, the status flow, record rules, and every refused write leaving nothing behind."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest

from app.crm.errors import InvalidState
from app.crm.jobs.sales import expire_quotes
from app.crm.models import PriceList, PriceListItem, Product
from app.crm.services import orders, quotes
from app.crm.services.calendar import tenant_today
from app.kernel.errors import NotFound, ValidationFailed
from tenants.service import in_tenant
from tests.crm.factories.sales import account_row, opportunity_row, product_row
from tests.crm.support import acting_as, table_counts

TABLES = ("crm_quotes", "crm_quote_lines", "crm_sales_orders", "crm_sales_order_lines")


@dataclass
class Catalogue:
    account_id: int
    toner: Product  # list 80.00, 13 % VAT; on the price list 75 from 1, 70 from 10
    odd: Product  # list 33.3333, 13 % VAT; not on the price list
    usd: Product  # priced in USD only
    off: Product  # no longer sold
    plist_id: int


@pytest.fixture
async def cat(acme) -> Catalogue:
    tag = uuid.uuid4().hex[:6].upper()
    async with in_tenant(acme.slug) as (session, _):
        account = await account_row(
            session, f"明辉贸易 {tag}", owner_id=acme.users["alice"], team_id=acme.teams["East"]
        )
        toner = await product_row(session, f"TON-{tag}", "80.00", "13", name="Toner cartridge")
        odd = await product_row(session, f"ODD-{tag}", "33.3333", "13", name="Odd unit", unit="h")
        usd = await product_row(session, f"USD-{tag}", "10.00", "0", currency="USD")
        off = await product_row(session, f"OFF-{tag}", "1.00", "0", active=False)
        plist = PriceList(name=f"Dealers {tag}", currency="CNY", is_default=False, active=True)
        session.add(plist)
        await session.flush()
        session.add_all(
            [
                PriceListItem(
                    price_list_id=plist.id,
                    product_id=toner.id,
                    min_quantity=Decimal("1"),
                    unit_price=Decimal("75"),
                ),
                PriceListItem(
                    price_list_id=plist.id,
                    product_id=toner.id,
                    min_quantity=Decimal("10"),
                    unit_price=Decimal("70"),
                ),
            ]
        )
        return Catalogue(account.id, toner, odd, usd, off, plist.id)


def fields_of(exc: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {e.field: e.message for e in exc.value.errors}


async def test_lines_take_the_price_list_break_or_the_list_price_and_totals_add_up(acme, cat):
    async with acting_as(acme, "alice") as (session, principal):
        quote = await quotes.create_quote(
            session,
            principal,
            {
                "account_id": cat.account_id,
                "price_list_id": cat.plist_id,
                "lines": [
                    {"product_id": cat.toner.id, "quantity": "12"},
                    {"product_id": cat.odd.id, "quantity": "3", "discount_percent": "10"},
                ],
            },
        )
        qid = quote.id
    async with acting_as(acme, "alice") as (session, principal):
        quote = await quotes.get_quote(session, principal, qid)
        lines = await quotes.quote_lines(session, qid)
        assert quote.number.startswith(f"Q-{tenant_today().year}-")
        assert (quote.status, quote.currency, quote.owner_id, quote.team_id) == (
            "draft",
            "CNY",
            acme.users["alice"],
            acme.teams["East"],
        )
        assert quote.valid_until == tenant_today() + timedelta(days=30)
        first, second = lines
        assert (first.description, first.unit, first.unit_price, first.tax_rate) == (
            "Toner cartridge",
            "pcs",
            Decimal("70.0000"),
            Decimal("13.00"),
        )
        assert (first.net_amount, first.tax_amount, first.total_amount) == (
            Decimal("840.00"),
            Decimal("109.20"),
            Decimal("949.20"),
        )
        assert (second.description, second.unit, second.unit_price) == ("Odd unit", "h", Decimal("33.3333"))
        assert (second.discount_amount, second.net_amount, second.tax_amount, second.total_amount) == (
            Decimal("10.00"),
            Decimal("90.00"),
            Decimal("11.70"),
            Decimal("101.70"),
        )
        assert (quote.subtotal, quote.discount_total, quote.tax_total, quote.total) == (
            Decimal("930.00"),
            Decimal("10.00"),
            Decimal("120.90"),
            Decimal("1050.90"),
        )


async def test_changing_the_quantity_reprices_from_the_next_break(acme, cat):
    async with acting_as(acme, "alice") as (session, principal):
        quote = await quotes.create_quote(
            session, principal, {"account_id": cat.account_id, "price_list_id": cat.plist_id}
        )
        line = await quotes.add_quote_line(
            session, principal, quote.id, {"product_id": cat.toner.id, "quantity": "2"}
        )
        assert line.unit_price == Decimal("75")
    async with acting_as(acme, "alice") as (session, principal):
        line = await quotes.update_quote_line(
            session, principal, quote.id, line.id, {"quantity": "10", "unit_price": ""}
        )
        assert (line.unit_price, line.net_amount) == (Decimal("70"), Decimal("700.00"))
        line = await quotes.update_quote_line(session, principal, quote.id, line.id, {"unit_price": "68.5"})
        assert (line.unit_price, line.net_amount, line.tax_amount) == (
            Decimal("68.5"),
            Decimal("685.00"),
            Decimal("89.05"),
        )
        stored = await quotes.get_quote(session, principal, quote.id)
        assert stored.total == Decimal("774.05")


async def test_a_quote_from_an_opportunity_takes_its_account_and_currency(acme, cat):
    async with in_tenant(acme.slug) as (session, _):
        from app.crm.models import Account

        account = await session.get(Account, cat.account_id)
        opp = await opportunity_row(session, account, owner_id=acme.users["alice"], currency="CNY")
    async with acting_as(acme, "alice") as (session, principal):
        quote = await quotes.create_quote(session, principal, {"opportunity_id": opp.id})
        assert (quote.account_id, quote.opportunity_id, quote.currency) == (cat.account_id, opp.id, "CNY")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ({"quantity": "-1"}, {"lines[0].quantity": "Must be greater than zero."}),
        ({"quantity": "0"}, {"lines[0].quantity": "Must be greater than zero."}),
        ({"unit_price": "-5"}, {"lines[0].unit_price": "Must be at least {min}."}),
        ({"discount_percent": "100.01"}, {"lines[0].discount_percent": "Must be at most {max}."}),
        ({"discount_percent": "-1"}, {"lines[0].discount_percent": "Must be at least {min}."}),
        ({"quantity": "1.2345"}, {"lines[0].quantity": "Use at most {n} decimal places."}),
        ({"product_id": 999999999}, {"lines[0].product_id": "Choose an existing product."}),
    ],
)
async def test_bad_lines_are_refused_and_nothing_is_written(acme, cat, line, expected):
    before = await table_counts(acme, *TABLES)
    async with acting_as(acme, "alice") as (session, principal):
        with pytest.raises(ValidationFailed) as exc:
            await quotes.create_quote(
                session,
                principal,
                {
                    "account_id": cat.account_id,
                    "lines": [{"product_id": cat.toner.id, "quantity": "1", **line}],
                },
            )
    assert fields_of(exc) == expected
    assert await table_counts(acme, *TABLES) == before


async def test_a_currency_other_than_the_price_lists_is_refused(acme, cat):
    before = await table_counts(acme, *TABLES)
    async with acting_as(acme, "alice") as (session, principal):
        with pytest.raises(ValidationFailed) as exc:
            await quotes.create_quote(
                session,
                principal,
                {"account_id": cat.account_id, "price_list_id": cat.plist_id, "currency": "USD"},
            )
    assert fields_of(exc) == {
        "currency": "The price list {name} is in {list_currency}; use {list_currency} or another price list."
    }
    assert exc.value.errors[0].params["list_currency"] == "CNY"
    assert await table_counts(acme, *TABLES) == before


async def test_a_product_without_a_price_in_the_currency_or_no_longer_sold_is_refused(acme, cat):
    before = await table_counts(acme, *TABLES)
    async with acting_as(acme, "alice") as (session, principal):
        with pytest.raises(ValidationFailed) as exc:
            await quotes.create_quote(
                session,
                principal,
                {
                    "account_id": cat.account_id,
                    "currency": "CNY",
                    "lines": [
                        {"product_id": cat.usd.id, "quantity": "1"},
                        {"product_id": cat.off.id, "quantity": "1"},
                    ],
                },
            )
    assert fields_of(exc) == {
        "lines[0].unit_price": "{sku} has no price in {currency}: enter the unit price.",
        "lines[1].product_id": "{sku} is no longer sold.",
    }
    assert await table_counts(acme, *TABLES) == before


async def test_lines_change_only_while_the_quote_is_a_draft(acme, cat):
    async with acting_as(acme, "alice") as (session, principal):
        quote = await quotes.create_quote(
            session,
            principal,
            {"account_id": cat.account_id, "lines": [{"product_id": cat.odd.id, "quantity": "1"}]},
        )
        await quotes.send_quote(session, principal, quote.id)
    before = await table_counts(acme, *TABLES)
    async with acting_as(acme, "alice") as (session, principal):
        with pytest.raises(InvalidState) as exc:
            await quotes.add_quote_line(
                session, principal, quote.id, {"product_id": cat.odd.id, "quantity": "1"}
            )
    assert exc.value.code == "quote_not_draft"
    assert await table_counts(acme, *TABLES) == before


async def test_the_status_flow_and_its_refusals(acme, cat):
    async with acting_as(acme, "alice") as (session, principal):
        empty = await quotes.create_quote(session, principal, {"account_id": cat.account_id})
        with pytest.raises(InvalidState) as exc:
            await quotes.send_quote(session, principal, empty.id)
        assert exc.value.code == "quote_empty"
        await quotes.add_quote_line(session, principal, empty.id, {"product_id": cat.odd.id, "quantity": "1"})
        with pytest.raises(InvalidState) as exc:
            await quotes.change_quote_status(session, principal, empty.id, "accept")
        assert exc.value.code == "quote_cannot_accept"
        sent = await quotes.send_quote(session, principal, empty.id)
        assert sent.status == "sent"
        assert sent.sent_at is not None
        assert (await quotes.change_quote_status(session, principal, empty.id, "reject")).status == "rejected"
        assert (await quotes.change_quote_status(session, principal, empty.id, "reopen")).status == "draft"
        await quotes.send_quote(session, principal, empty.id)
        assert (await quotes.change_quote_status(session, principal, empty.id, "accept")).status == "accepted"


async def test_an_accepted_quote_becomes_one_order_with_the_same_lines(acme, cat):
    async with acting_as(acme, "alice") as (session, principal):
        quote = await quotes.create_quote(
            session,
            principal,
            {
                "account_id": cat.account_id,
                "price_list_id": cat.plist_id,
                "notes": "交货前电话联系",
                "lines": [{"product_id": cat.toner.id, "quantity": "12", "discount_percent": "5"}],
            },
        )
        await quotes.send_quote(session, principal, quote.id)
        await quotes.change_quote_status(session, principal, quote.id, "accept")
    async with acting_as(acme, "alice") as (session, principal):
        order = await orders.create_order_from_quote(session, principal, quote.id)
        oid = order.id
    async with acting_as(acme, "alice") as (session, principal):
        order = await orders.get_order(session, principal, oid)
        (line,) = await orders.order_lines(session, oid)
        quote = await quotes.get_quote(session, principal, quote.id)
        assert quote.status == "ordered"
        assert (order.status, order.quote_id, order.account_id, order.price_list_id, order.notes) == (
            "draft",
            quote.id,
            cat.account_id,
            cat.plist_id,
            "交货前电话联系",
        )
        assert (
            line.quantity,
            line.unit_price,
            line.discount_percent,
            line.net_amount,
            line.total_amount,
        ) == (
            Decimal("12.000"),
            Decimal("70.0000"),
            Decimal("5.00"),
            Decimal("798.00"),
            Decimal("901.74"),
        )
        assert (order.subtotal, order.discount_total, order.tax_total, order.total) == (
            Decimal("798.00"),
            Decimal("42.00"),
            Decimal("103.74"),
            Decimal("901.74"),
        )
    before = await table_counts(acme, *TABLES)
    async with acting_as(acme, "alice") as (session, principal):
        with pytest.raises(InvalidState) as exc:
            await orders.create_order_from_quote(session, principal, quote.id)
    assert exc.value.code == "quote_not_orderable"
    assert await table_counts(acme, *TABLES) == before


async def test_reps_see_their_own_quotes_and_managers_their_teams(acme, cat):
    async with acting_as(acme, "alice") as (session, principal):
        quote = await quotes.create_quote(session, principal, {"account_id": cat.account_id})
    async with acting_as(acme, "dave") as (session, principal):
        with pytest.raises(NotFound):
            await quotes.get_quote(session, principal, quote.id)
        ids = set((await session.execute(quotes.visible_quotes(principal))).scalars())
        assert quote.id not in {q.id for q in ids}
    async with acting_as(acme, "sam") as (session, principal):
        assert (await quotes.get_quote(session, principal, quote.id)).id == quote.id
    async with acting_as(acme, "dave") as (session, principal):
        with pytest.raises(ValidationFailed) as exc:  # dave cannot quote alice's account either
            await quotes.create_quote(session, principal, {"account_id": cat.account_id})
        assert fields_of(exc) == {"account_id": "Choose an existing account."}


async def test_sent_quotes_past_their_validity_expire_once(acme, cat):
    async with acting_as(acme, "alice") as (session, principal):
        quote = await quotes.create_quote(
            session,
            principal,
            {"account_id": cat.account_id, "lines": [{"product_id": cat.odd.id, "quantity": "1"}]},
        )
        await quotes.send_quote(session, principal, quote.id)
    later = quote.valid_until + timedelta(days=1)
    async with in_tenant(acme.slug) as (session, _):
        assert await expire_quotes(session, later) >= 1
    async with in_tenant(acme.slug) as (session, _):
        assert await expire_quotes(session, later) == 0
    async with acting_as(acme, "alice") as (session, principal):
        assert (await quotes.get_quote(session, principal, quote.id)).status == "expired"
