"""The sales order pages (CRM-4): create directly, edit lines while a draft, confirm with the
timeline showing it, cancel with a reason, the accountant's "record invoice", list filters and
export under record rules; refusals re-render with the message and change nothing."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from app.crm.events import SALES_ORDER_CONFIRMED
from app.crm.models import Account, SalesOrder, SalesOrderLine
from tenants.service import in_tenant
from tests.crm.factories.sales import account_row, order_row, product_row
from tests.crm.support import outbox_count, table_counts
from tests.helpers import signed_in

# CRM's own order steps: finance's listeners are detached (tests/crm/conftest.py).
pytestmark = pytest.mark.usefixtures("crm_orders_alone")

TABLES = ("crm_sales_orders", "crm_sales_order_lines")


@pytest.fixture
async def bits(acme):
    tag = uuid.uuid4().hex[:6].upper()
    async with in_tenant(acme.slug) as (session, _):
        account = await account_row(
            session,
            f"订单客户 {tag}",
            owner_id=acme.users["alice"],
            team_id=acme.teams["East"],
            address="杭州市西湖区文三路 1 号",
        )
        product = await product_row(session, f"OP-{tag}", "1200.00", "13", name=f"工作站 {tag}")
        order = await order_row(session, account, [(product, "2")], owner_id=acme.users["alice"])
        line_id = await session.scalar(select(SalesOrderLine.id).where(SalesOrderLine.order_id == order.id))
        return {
            "account_id": account.id,
            "product_id": product.id,
            "tag": tag,
            "order": order,
            "line_id": line_id,
        }


async def test_a_rep_creates_an_order_adds_lines_and_confirms_it(app, acme, bits):
    async with signed_in(app, acme, "alice") as b:
        r = await b.get("/sales/orders/new")
        assert r.status_code == 200
        r = await b.post(
            "/sales/orders",
            {
                "account_id": bits["account_id"],
                "currency": "CNY",
                "price_list_id": "",
                "owner_id": acme.users["alice"],
                "customer_reference": "PO-8890",
            },
        )
        assert r.status_code == 303, r.text
        url = r.headers["location"]
        oid = int(url.rsplit("/", 1)[1])
        r = await b.post(f"{url}/lines", {"product_id": bits["product_id"], "quantity": "1"})
        assert r.status_code == 303, r.text
        r = await b.post(f"{url}/lines", {"description": "运费", "quantity": "1", "unit_price": "50"})
        assert r.status_code == 303, r.text
        r = await b.get(url)
        assert "杭州市西湖区文三路 1 号" in r.text  # the account's address, proposed
        assert "CN¥1,250.00" in r.text
        assert "CN¥1,406.00" in r.text
        events = await outbox_count(SALES_ORDER_CONFIRMED)
        r = await b.post(f"{url}/confirm", {})
        assert r.status_code == 303, r.text
        r = await b.get(url)
        assert 'class="current "' in r.text or 'class="current' in r.text
        assert "Only draft orders change their lines." in r.text
        assert "Confirm order" not in r.text
    assert await outbox_count(SALES_ORDER_CONFIRMED) == events + 1
    async with in_tenant(acme.slug) as (session, _):
        order = await session.get(SalesOrder, oid)
        assert (order.status, order.total, order.customer_reference) == ("confirmed", 1406, "PO-8890")
        assert (await session.get(Account, bits["account_id"])).lifecycle_stage == "customer"


async def test_a_confirmed_orders_lines_cannot_change_in_the_portal(app, acme, bits):
    oid = bits["order"].id
    async with signed_in(app, acme, "alice") as b:
        await b.get(f"/sales/orders/{oid}")
        assert (await b.post(f"/sales/orders/{oid}/confirm", {})).status_code == 303
        before = await table_counts(acme, *TABLES)
        r = await b.post(f"/sales/order-lines/{bits['line_id']}", {"quantity": "5"})
        assert r.status_code == 422
        assert "Only draft orders can be changed: a confirmed order keeps its lines." in r.text
        r = await b.post(f"/sales/orders/{oid}/confirm", {})
        assert r.status_code == 422
        assert "This order is already confirmed." in r.text
    assert await table_counts(acme, *TABLES) == before
    async with in_tenant(acme.slug) as (session, _):
        assert (await session.get(SalesOrderLine, bits["line_id"])).quantity == 2


async def test_cancel_needs_a_reason_and_then_shows_it(app, acme, bits):
    oid = bits["order"].id
    async with signed_in(app, acme, "alice") as b:
        await b.get(f"/sales/orders/{oid}")
        r = await b.post(f"/sales/orders/{oid}/cancel", {"reason": ""})
        assert r.status_code == 422
        assert "This field is required." in r.text
        async with in_tenant(acme.slug) as (session, _):
            assert (await session.get(SalesOrder, oid)).status == "draft"
        r = await b.post(f"/sales/orders/{oid}/cancel", {"reason": "客户预算取消"})
        assert r.status_code == 303
        r = await b.get(f"/sales/orders/{oid}")
        assert "客户预算取消" in r.text
        assert "Cancelled" in r.text
        r = await b.post(f"/sales/orders/{oid}/confirm", {})
        assert r.status_code == 422
        assert "This order was cancelled; it cannot be confirmed." in r.text


async def test_only_the_accountant_records_an_invoice(app, acme, bits):
    oid = bits["order"].id
    async with signed_in(app, acme, "alice") as b:
        await b.get(f"/sales/orders/{oid}")
        await b.post(f"/sales/orders/{oid}/confirm", {})
        r = await b.get(f"/sales/orders/{oid}")
        assert "Mark invoiced" not in r.text
        assert (await b.post(f"/sales/orders/{oid}/invoiced", {"invoice_ref": "X"})).status_code == 403
    async with signed_in(app, acme, "bob") as b:
        r = await b.get(f"/sales/orders/{oid}")
        assert "Mark invoiced" in r.text
        r = await b.post(f"/sales/orders/{oid}/invoiced", {"invoice_ref": " "})
        assert r.status_code == 422
        assert "Give the invoice number (at most 80 characters)." in r.text
        r = await b.post(f"/sales/orders/{oid}/invoiced", {"invoice_ref": "INV-2026-0042"})
        assert r.status_code == 303
        r = await b.get(f"/sales/orders/{oid}")
        assert "INV-2026-0042" in r.text
    async with in_tenant(acme.slug) as (session, _):
        assert (await session.get(SalesOrder, oid)).status == "invoiced"


async def test_the_list_filters_by_status_and_hides_other_reps_orders(app, acme, bits):
    order = bits["order"]
    async with signed_in(app, acme, "alice") as b:
        r = await b.get("/sales/orders", params={"q": bits["tag"], "f_status": "draft"})
        assert f'href="/sales/orders/{order.id}"' in r.text
        r = await b.get("/sales/orders", params={"q": bits["tag"], "f_status": "confirmed"})
        assert f'href="/sales/orders/{order.id}"' not in r.text
        r = await b.get("/sales/orders", params={"q": bits["tag"], "f_period": "this_month"})
        assert f'href="/sales/orders/{order.id}"' in r.text
        r = await b.get("/sales/orders/export.csv", params={"q": bits["tag"]})
        lines = r.text.lstrip("\ufeff").splitlines()
        assert lines[0].startswith("Order,Order date,Account")
        assert lines[1].startswith(f"{order.number},")
        assert ",2712.00," in lines[1]
    async with signed_in(app, acme, "dave") as b:
        r = await b.get("/sales/orders", params={"q": bits["tag"]})
        assert f'href="/sales/orders/{order.id}"' not in r.text
        assert (await b.get(f"/sales/orders/{order.id}")).status_code == 404
        assert (await b.get(f"/sales/orders/{order.id}/print")).status_code == 404
        assert order.number not in (await b.get("/sales/orders/export.csv")).text
        assert (await b.post(f"/sales/orders/{order.id}/confirm", {})).status_code == 404
    async with signed_in(app, acme, "sam") as b:
        assert (await b.get(f"/sales/orders/{order.id}")).status_code == 200
        r = await b.get(f"/sales/orders/{order.id}/print")
        assert r.status_code == 200
        assert "Order confirmation" in r.text
        assert "CN¥2,712.00" in r.text
