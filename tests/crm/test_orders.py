"""Sales orders (CRM-4): direct creation, draft-only edits, confirm → fulfil → invoiced or cancel,
the exact events finance and production consume, and refusals that change nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.crm.errors import InvalidState
from app.crm.events import SALES_ORDER_CANCELLED, SALES_ORDER_CONFIRMED, SALES_ORDER_FULFILLED
from app.crm.interface import mark_order_invoiced, sales_order_for_finance
from app.crm.models import Account, Product
from app.crm.services import order_status, orders
from app.crm.services.calendar import tenant_today
from app.kernel.audit import AuditEntry
from app.kernel.db import get_database
from app.kernel.errors import Forbidden, NotFound, ValidationFailed
from app.kernel.outbox import OutboxEvent
from tenants.service import in_tenant
from tests.crm.factories.sales import account_row, product_row
from tests.crm.support import acting_as, outbox_count, table_counts

# CRM's own order steps: finance's listeners are detached (tests/crm/conftest.py).
pytestmark = pytest.mark.usefixtures("crm_orders_alone")

TABLES = ("crm_sales_orders", "crm_sales_order_lines", "crm_accounts")


@dataclass
class Setup:
    account_id: int
    account_name: str
    printer: Product  # 4999.00, 13 % VAT
    service: Product  # 350.00 per hour, 6 % VAT


@pytest.fixture
async def setup(acme) -> Setup:
    tag = uuid.uuid4().hex[:6].upper()
    async with in_tenant(acme.slug) as (session, _):
        account = await account_row(
            session,
            f"华东精密 {tag}",
            owner_id=acme.users["alice"],
            team_id=acme.teams["East"],
            address="上海市浦东新区张江路 88 号",
        )
        printer = await product_row(session, f"PRN-{tag}", "4999.00", "13", name="A2 打印机")
        service = await product_row(session, f"SVC-{tag}", "350.00", "6", name="上门安装", unit="h")
        return Setup(account.id, account.name, printer, service)


async def new_order(acme, setup: Setup, persona: str = "alice", **extra) -> int:
    async with acting_as(acme, persona) as (session, principal):
        order = await orders.create_order(
            session,
            principal,
            {
                "account_id": setup.account_id,
                "customer_reference": "PO-7781",
                "requested_delivery_date": (tenant_today() + timedelta(days=14)).isoformat(),
                "lines": [
                    {"product_id": setup.printer.id, "quantity": "2"},
                    {"product_id": setup.service.id, "quantity": "1.5", "discount_percent": "10"},
                ],
                **extra,
            },
        )
        return order.id


async def events_for(topic: str, order_id: int) -> list[dict]:
    async with get_database().shared_session() as s:
        rows = await s.execute(select(OutboxEvent.payload).where(OutboxEvent.topic == topic))
        return [p for p in rows.scalars() if p.get("order_id") == order_id]


async def test_a_direct_order_is_priced_and_numbered(acme, setup):
    oid = await new_order(acme, setup)
    async with acting_as(acme, "alice") as (session, principal):
        order = await orders.get_order(session, principal, oid)
        lines = await orders.order_lines(session, oid)
        assert order.number.startswith(f"SO-{tenant_today().year}-")
        assert (order.status, order.currency, order.customer_reference, order.shipping_address) == (
            "draft",
            "CNY",
            "PO-7781",
            "上海市浦东新区张江路 88 号",
        )
        assert [(ln.description, ln.net_amount, ln.tax_amount) for ln in lines] == [
            ("A2 打印机", Decimal("9998.00"), Decimal("1299.74")),
            ("上门安装", Decimal("472.50"), Decimal("28.35")),
        ]
        assert (order.subtotal, order.discount_total, order.tax_total, order.total) == (
            Decimal("10470.50"),
            Decimal("52.50"),
            Decimal("1328.09"),
            Decimal("11798.59"),
        )


async def test_confirming_freezes_the_order_makes_a_customer_and_publishes_the_documented_event(acme, setup):
    oid = await new_order(acme, setup)
    async with acting_as(acme, "alice") as (session, principal):
        order = await order_status.confirm_order(session, principal, oid)
        lines = await orders.order_lines(session, oid)
        today = tenant_today()
    (payload,) = await events_for(SALES_ORDER_CONFIRMED, oid)
    assert payload == {
        "order_id": oid,
        "number": order.number,
        "account_id": setup.account_id,
        "account_name": setup.account_name,
        "currency": "CNY",
        "order_date": today.isoformat(),
        "confirmed_at": order.confirmed_at.isoformat(),
        "subtotal": "10470.50",
        "tax_total": "1328.09",
        "total": "11798.59",
        "owner_id": acme.users["alice"],
        "requested_delivery_date": (today + timedelta(days=14)).isoformat(),
        "lines": [
            {
                "line_id": lines[0].id,
                "product_id": setup.printer.id,
                "sku": setup.printer.sku,
                "description": "A2 打印机",
                "quantity": "2.000",
                "unit": "pcs",
                "unit_price": "4999.0000",
                "discount_percent": "0.00",
                "tax_rate": "13.00",
                "net_amount": "9998.00",
                "tax_amount": "1299.74",
                "total_amount": "11297.74",
            },
            {
                "line_id": lines[1].id,
                "product_id": setup.service.id,
                "sku": setup.service.sku,
                "description": "上门安装",
                "quantity": "1.500",
                "unit": "h",
                "unit_price": "350.0000",
                "discount_percent": "10.00",
                "tax_rate": "6.00",
                "net_amount": "472.50",
                "tax_amount": "28.35",
                "total_amount": "500.85",
            },
        ],
    }
    async with in_tenant(acme.slug) as (session, _):
        assert (await session.get(Account, setup.account_id)).lifecycle_stage == "customer"
    before = await table_counts(acme, "crm_sales_orders", "crm_sales_order_lines")
    async with acting_as(acme, "alice") as (session, principal):
        with pytest.raises(InvalidState) as exc:
            await orders.update_order_line(session, principal, oid, lines[0].id, {"quantity": "3"})
        assert exc.value.code == "order_locked"
        with pytest.raises(InvalidState):
            await orders.add_order_line(
                session, principal, oid, {"product_id": setup.printer.id, "quantity": "1"}
            )
        with pytest.raises(InvalidState):
            await orders.remove_order_line(session, principal, oid, lines[0].id)
        with pytest.raises(InvalidState) as exc:
            await order_status.confirm_order(session, principal, oid)
        assert exc.value.code == "order_already_confirmed"
    assert await table_counts(acme, "crm_sales_orders", "crm_sales_order_lines") == before
    async with acting_as(acme, "alice") as (session, principal):
        (line,) = [ln for ln in await orders.order_lines(session, oid) if ln.id == lines[0].id]
        assert line.quantity == Decimal("2.000")
    assert len(await events_for(SALES_ORDER_CONFIRMED, oid)) == 1


async def test_fulfilled_then_invoiced_by_finance(acme, setup):
    oid = await new_order(acme, setup)
    async with acting_as(acme, "alice") as (session, principal):
        await order_status.confirm_order(session, principal, oid)
        order = await order_status.fulfil_order(session, principal, oid)
        assert order.status == "fulfilled"
        assert order.fulfilled_at is not None
    assert await events_for(SALES_ORDER_FULFILLED, oid) == [
        {"order_id": oid, "number": order.number, "account_id": setup.account_id}
    ]
    async with in_tenant(acme.slug) as (session, _):
        await mark_order_invoiced(session, oid, "INV-2026-00031")
    async with in_tenant(acme.slug) as (session, _):
        await mark_order_invoiced(session, oid, "INV-2026-00031")  # a redelivered event: no change
        doc = await sales_order_for_finance(session, oid)
        assert (doc["status"], doc["invoice_ref"], doc["total"], doc["discount_total"]) == (
            "invoiced",
            "INV-2026-00031",
            "11798.59",
            "52.50",
        )
        assert [ln["sku"] for ln in doc["lines"]] == [setup.printer.sku, setup.service.sku]
        with pytest.raises(InvalidState) as exc:
            await mark_order_invoiced(session, oid, "INV-OTHER")
        assert exc.value.code == "order_already_invoiced"
    async with acting_as(acme, "alice") as (session, principal):
        order = await orders.get_order(session, principal, oid)
        steps = order_status.timeline(order)
        assert [(s.status, s.state) for s in steps] == [
            ("draft", "done"),
            ("confirmed", "done"),
            ("fulfilled", "done"),
            ("invoiced", "current"),
        ]
        assert steps[3].note == "INV-2026-00031"
        with pytest.raises(InvalidState) as exc:
            await order_status.cancel_order(session, principal, oid, "too late")
        assert exc.value.code == "order_not_cancellable"
    # marking it invoiced is flushed with the caller's next flush or commit, under its own event
    async with get_database().tenant_session(acme.schema) as s:
        rows = await s.execute(
            select(AuditEntry.event, AuditEntry.after)
            .where(AuditEntry.entity_type == "crm_sales_orders", AuditEntry.entity_id == str(oid))
            .order_by(AuditEntry.id)
        )
        invoiced = [after for event, after in rows.all() if event == "crm.sales_order_invoiced"]
    assert len(invoiced) == 1
    assert (invoiced[0]["status"], invoiced[0]["invoice_ref"]) == ("invoiced", "INV-2026-00031")


async def test_an_order_invoiced_at_confirmation_still_records_its_delivery(acme, setup):
    oid = await new_order(acme, setup)
    async with acting_as(acme, "alice") as (session, principal):
        await order_status.confirm_order(session, principal, oid)
    async with in_tenant(acme.slug) as (session, _):
        await mark_order_invoiced(session, oid, "INV-9")
    async with acting_as(acme, "alice") as (session, principal):
        order = await order_status.fulfil_order(session, principal, oid)
        assert (order.status, order.fulfilled_at is not None) == ("invoiced", True)
        with pytest.raises(InvalidState):
            await order_status.fulfil_order(session, principal, oid)


async def test_a_draft_cannot_be_invoiced_or_fulfilled(acme, setup):
    oid = await new_order(acme, setup)
    async with in_tenant(acme.slug) as (session, _):
        with pytest.raises(InvalidState) as exc:
            await mark_order_invoiced(session, oid, "INV-1")
        assert exc.value.code == "order_not_invoiceable"
    async with acting_as(acme, "alice") as (session, principal):
        with pytest.raises(InvalidState) as exc:
            await order_status.fulfil_order(session, principal, oid)
        assert exc.value.code == "order_not_fulfillable"


async def test_cancelling_needs_a_reason_publishes_once_and_a_cancelled_order_cannot_be_confirmed(
    acme, setup
):
    oid = await new_order(acme, setup)
    async with acting_as(acme, "alice") as (session, principal):
        await order_status.confirm_order(session, principal, oid)
    async with acting_as(acme, "alice") as (session, principal):
        with pytest.raises(ValidationFailed) as exc:
            await order_status.cancel_order(session, principal, oid, "  ")
        assert [(e.field, e.message) for e in exc.value.errors] == [("reason", "This field is required.")]
    async with acting_as(acme, "alice") as (session, principal):
        order = await order_status.cancel_order(session, principal, oid, "客户取消  订单")
        assert (order.status, order.cancel_reason) == ("cancelled", "客户取消 订单")
    assert await events_for(SALES_ORDER_CANCELLED, oid) == [
        {
            "order_id": oid,
            "number": order.number,
            "account_id": setup.account_id,
            "reason": "客户取消 订单",
            "was": "confirmed",
        }
    ]
    confirmed = await outbox_count(SALES_ORDER_CONFIRMED)
    async with acting_as(acme, "alice") as (session, principal):
        with pytest.raises(InvalidState) as exc:
            await order_status.confirm_order(session, principal, oid)
        assert exc.value.code == "order_cancelled"
        order = await orders.get_order(session, principal, oid)
        assert order.status == "cancelled"
        assert [(s.status, s.state, s.note) for s in order_status.timeline(order)][-1] == (
            "cancelled",
            "current",
            "客户取消 订单",
        )
    assert await outbox_count(SALES_ORDER_CONFIRMED) == confirmed


async def test_an_empty_order_cannot_be_confirmed(acme, setup):
    async with acting_as(acme, "alice") as (session, principal):
        order = await orders.create_order(session, principal, {"account_id": setup.account_id})
    confirmed = await outbox_count(SALES_ORDER_CONFIRMED)
    async with acting_as(acme, "alice") as (session, principal):
        with pytest.raises(InvalidState) as exc:
            await order_status.confirm_order(session, principal, order.id)
    assert exc.value.code == "order_empty"
    assert await outbox_count(SALES_ORDER_CONFIRMED) == confirmed


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"lines": [{"product_id": 0, "quantity": "-2"}]}, {"lines[0].product_id", "lines[0].quantity"}),
        ({"requested_delivery_date": "2000-01-01"}, {"requested_delivery_date"}),
        ({"order_date": "31/12/2026"}, {"order_date"}),
        ({"owner_id": -1}, {"owner_id"}),
        ({"price_list_id": 999999999}, {"price_list_id"}),
        ({"currency": "USD"}, {"lines[0].unit_price", "lines[1].unit_price"}),  # CNY prices only
    ],
)
async def test_bad_orders_are_refused_and_nothing_is_written(acme, setup, data, expected):
    before = await table_counts(acme, *TABLES)
    with pytest.raises(ValidationFailed) as exc:
        await new_order(acme, setup, **data)
    assert {e.field for e in exc.value.errors} == expected
    assert await table_counts(acme, *TABLES) == before


async def test_draft_lines_edit_and_totals_follow(acme, setup):
    oid = await new_order(acme, setup)
    async with acting_as(acme, "alice") as (session, principal):
        first, second = await orders.order_lines(session, oid)
        await orders.remove_order_line(session, principal, oid, second.id)
        await orders.update_order_line(
            session, principal, oid, first.id, {"quantity": "1", "discount_percent": "100"}
        )
        order = await orders.get_order(session, principal, oid)
        assert (order.subtotal, order.discount_total, order.tax_total, order.total) == (
            Decimal("0.00"),
            Decimal("4999.00"),
            Decimal("0.00"),
            Decimal("0.00"),
        )
    before = await table_counts(acme, *TABLES)
    async with acting_as(acme, "alice") as (session, principal):
        with pytest.raises(ValidationFailed) as exc:
            await orders.update_order_line(session, principal, oid, first.id, {"unit_price": "-1"})
        assert [e.field for e in exc.value.errors] == ["unit_price"]
    assert await table_counts(acme, *TABLES) == before
    async with acting_as(acme, "alice") as (session, principal):
        (line,) = await orders.order_lines(session, oid)
        assert line.unit_price == Decimal("4999.0000")


async def test_record_rules_on_orders(acme, setup):
    oid = await new_order(acme, setup)
    async with acting_as(acme, "dave") as (session, principal):
        with pytest.raises(NotFound):
            await orders.get_order(session, principal, oid)
        with pytest.raises(NotFound):
            await order_status.confirm_order(session, principal, oid)
        visible = {o.id for o in (await session.execute(orders.visible_orders(principal))).scalars()}
        assert oid not in visible
    async with acting_as(acme, "sam") as (session, principal):
        assert (await orders.get_order(session, principal, oid)).id == oid
    async with acting_as(acme, "bob") as (session, principal):  # accountant: reads every order, confirms none
        assert (await orders.get_order(session, principal, oid)).id == oid
        with pytest.raises(Forbidden):
            await order_status.confirm_order(session, principal, oid)


async def test_lines_read_in_a_transaction_follow_every_change_made_in_it(acme, setup):
    """An order's lines are read once per transaction (confirming, finance and the answer all ask);
    adding, changing or removing a line in the same transaction is seen at once."""
    async with acting_as(acme, "alice") as (session, principal):
        order = await orders.create_order(
            session,
            principal,
            {"account_id": setup.account_id, "lines": [{"product_id": setup.printer.id, "quantity": "1"}]},
        )
        (first,) = await orders.order_lines(session, order.id)  # the creator's own lines, no read
        added = await orders.add_order_line(
            session, principal, order.id, {"product_id": setup.service.id, "quantity": "1"}
        )
        assert [ln.id for ln in await orders.order_lines(session, order.id)] == [first.id, added.id]
        await orders.update_order_line(session, principal, order.id, added.id, {"quantity": "3"})
        assert [ln.quantity for ln in await orders.order_lines(session, order.id)] == [
            Decimal("1.000"),
            Decimal("3.000"),
        ]
        await orders.remove_order_line(session, principal, order.id, first.id)
        assert [ln.id for ln in await orders.order_lines(session, order.id)] == [added.id]
        assert order.total == Decimal("1113.00")  # 3 h × 350.00 + 6 % VAT


@pytest.mark.parametrize("product_id", ["²", " 7x", True, -3, 0, 2**70, "99999999999999999999"])
async def test_an_odd_product_id_is_a_field_error_not_a_crash(acme, setup, product_id):
    before = await table_counts(acme, *TABLES)
    async with acting_as(acme, "alice") as (session, principal):
        with pytest.raises(ValidationFailed) as exc:
            await orders.create_order(
                session,
                principal,
                {"account_id": setup.account_id, "lines": [{"product_id": product_id, "quantity": "1"}]},
            )
        assert {e.field for e in exc.value.errors} == {"lines[0].product_id"}
    assert await table_counts(acme, *TABLES) == before
