"""The CRM-4/5 JSON API: products, quotes, sales orders (create with Idempotency-Key, confirm,
fulfil, cancel) and contracts — money as decimal strings, problems with stable codes and field
errors, nothing written by a refused request."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from app.crm.events import SALES_ORDER_CONFIRMED
from app.crm.services.calendar import tenant_today
from app.security.permissions import (
    CRM_ACCOUNT_READ,
    CRM_CONTRACT_READ,
    CRM_ORDER_CONFIRM,
    CRM_ORDER_READ,
    CRM_ORDER_WRITE,
    CRM_PRODUCT_READ,
)
from tenants.service import in_tenant
from tests.crm.factories.sales import account_row, contract_row, order_row, product_row
from tests.crm.support import api_as, outbox_count, problem_of, table_counts

# CRM's own order steps: finance's listeners are detached (tests/crm/conftest.py).
pytestmark = pytest.mark.usefixtures("crm_orders_alone")

# Creating a document for an account needs the account to be visible: crm.account.read as well.
SCOPES = [
    CRM_ACCOUNT_READ,
    CRM_PRODUCT_READ,
    CRM_ORDER_READ,
    CRM_ORDER_WRITE,
    CRM_ORDER_CONFIRM,
    CRM_CONTRACT_READ,
]
TABLES = ("crm_sales_orders", "crm_sales_order_lines", "crm_quotes", "crm_quote_lines", "idempotency_keys")


@pytest.fixture
async def api(app, acme):
    async with api_as(app, acme, SCOPES) as client:
        yield client


@pytest.fixture
async def world_bits(acme):
    tag = uuid.uuid4().hex[:6].upper()
    async with in_tenant(acme.slug) as (session, _):
        account = await account_row(session, f"API 客户 {tag}", owner_id=acme.users["alice"])
        product = await product_row(session, f"API-{tag}", "12.3450", "13", name="接口产品")
        return {"account_id": account.id, "product": product, "tag": tag}


async def test_products_list_and_item(api, world_bits):
    product = world_bits["product"]
    r = await api.get("/api/v1/crm/products", params={"q": world_bits["tag"].lower()})
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    assert item == {
        "id": product.id,
        "sku": product.sku,
        "name": "接口产品",
        "description": "",
        "category": None,
        "unit": "pcs",
        "list_price": "12.3450",
        "currency": "CNY",
        "tax_rate": "13.00",
        "active": True,
        "created_at": item["created_at"],
        "updated_at": item["updated_at"],
    }
    r = await api.get(f"/api/v1/crm/products/{product.id}")
    assert r.json()["sku"] == product.sku
    assert (await api.get("/api/v1/crm/products/999999999")).status_code == 404


async def test_an_order_created_twice_with_one_key_is_created_once_then_confirmed(api, acme, world_bits):
    body = {
        "account_id": world_bits["account_id"],
        "customer_reference": "PO-API-1",
        "lines": [{"product_id": world_bits["product"].id, "quantity": "3", "discount_percent": "10"}],
    }
    key = str(uuid.uuid4())
    first = await api.post("/api/v1/crm/orders", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    again = await api.post("/api/v1/crm/orders", json=body, headers={"Idempotency-Key": key})
    assert (again.status_code, again.headers["Idempotent-Replayed"], again.json()) == (
        201,
        "true",
        first.json(),
    )
    order = first.json()
    assert first.headers["Location"] == f"/api/v1/crm/orders/{order['id']}"
    item = await api.get(first.headers["Location"])  # the item route reads back what was created
    assert (item.status_code, item.json()) == (200, order)
    assert (await api.get(f"/api/v1/crm/orders/{order['id'] + 10_000_000}")).status_code == 404
    assert (
        order["status"],
        order["subtotal"],
        order["discount_total"],
        order["tax_total"],
        order["total"],
    ) == (
        "draft",
        "33.34",
        "3.70",
        "4.33",
        "37.67",
    )
    (line,) = order["lines"]
    assert (line["quantity"], line["unit_price"], line["net_amount"], line["total_amount"]) == (
        "3.000",
        "12.3450",
        "33.34",
        "37.67",
    )
    events = await outbox_count(SALES_ORDER_CONFIRMED)
    r = await api.post(f"/api/v1/crm/orders/{order['id']}/confirm")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["confirmed_at"] is not None) == ("confirmed", True)
    r = await api.post(f"/api/v1/crm/orders/{order['id']}/confirm")
    assert (r.status_code, problem_of(r)["code"]) == (409, "order_already_confirmed")
    assert await outbox_count(SALES_ORDER_CONFIRMED) == events + 1
    r = await api.post(f"/api/v1/crm/orders/{order['id']}/fulfil")
    assert r.json()["status"] == "fulfilled"
    assert (await api.get(f"/api/v1/crm/orders/{order['id']}")).json()["status"] == "fulfilled"
    r = await api.post(f"/api/v1/crm/orders/{order['id']}/cancel", json={"reason": "too late"})
    assert (r.status_code, problem_of(r)["code"]) == (409, "order_not_cancellable")


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ({"quantity": "-1"}, "lines[0].quantity", "Must be greater than zero."),
        ({"unit_price": "-0.5"}, "lines[0].unit_price", "Must be at least 0."),
        ({"discount_percent": "150"}, "lines[0].discount_percent", "Must be at most 100."),
    ],
)
async def test_bad_order_lines_are_422_with_the_field_and_nothing_is_written(
    api, acme, world_bits, line, field, message
):
    before = await table_counts(acme, *TABLES)
    body = {
        "account_id": world_bits["account_id"],
        "lines": [{"product_id": world_bits["product"].id, **line}],
    }
    r = await api.post("/api/v1/crm/orders", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
    problem = problem_of(r)
    assert (r.status_code, problem["code"], problem["errors"]) == (
        422,
        "validation_failed",
        [{"field": field, "message": message}],
    )
    assert await table_counts(acme, *TABLES) == before


async def test_malformed_bodies_are_400(api, acme, world_bits):
    before = await table_counts(acme, *TABLES)
    r = await api.post("/api/v1/crm/orders", json={"account_id": world_bits["account_id"], "colour": "red"})
    assert (r.status_code, problem_of(r)["code"]) == (400, "invalid_request")
    r = await api.post("/api/v1/crm/orders", json={"account_id": "7"})
    assert (r.status_code, problem_of(r)["code"]) == (400, "invalid_request")
    assert await table_counts(acme, *TABLES) == before


async def test_cancel_needs_a_reason_and_a_cancelled_order_cannot_be_confirmed(api, acme, world_bits):
    async with in_tenant(acme.slug) as (session, _):
        from app.crm.models import Account

        account = await session.get(Account, world_bits["account_id"])
        order = await order_row(session, account, [(world_bits["product"], "1")])
    r = await api.post(f"/api/v1/crm/orders/{order.id}/cancel", json={})
    assert (r.status_code, problem_of(r)["errors"]) == (
        422,
        [{"field": "reason", "message": "This field is required."}],
    )
    r = await api.post(f"/api/v1/crm/orders/{order.id}/cancel", json={"reason": "客户撤单"})
    assert (r.json()["status"], r.json()["cancel_reason"]) == ("cancelled", "客户撤单")
    r = await api.post(f"/api/v1/crm/orders/{order.id}/confirm")
    assert (r.status_code, problem_of(r)["code"]) == (409, "order_cancelled")


async def test_the_order_list_filters_by_status_account_owner_and_dates(api, acme, world_bits):
    async with in_tenant(acme.slug) as (session, _):
        from app.crm.models import Account

        account = await session.get(Account, world_bits["account_id"])
        draft = await order_row(session, account, [(world_bits["product"], "1")], owner_id=acme.users["dave"])
        done = await order_row(session, account, [(world_bits["product"], "2")], status="confirmed")
        today = tenant_today()
    base = {"account_id": world_bits["account_id"]}
    r = await api.get("/api/v1/crm/orders", params=base)
    assert [o["id"] for o in r.json()["items"]] == [done.id, draft.id]
    assert r.json()["items"][0]["lines"] is None
    r = await api.get("/api/v1/crm/orders", params={**base, "status": "confirmed"})
    assert [o["id"] for o in r.json()["items"]] == [done.id]
    r = await api.get("/api/v1/crm/orders", params={**base, "owner_id": acme.users["dave"]})
    assert [o["id"] for o in r.json()["items"]] == [draft.id]
    r = await api.get(
        "/api/v1/crm/orders", params={**base, "ordered_from": (today + timedelta(days=1)).isoformat()}
    )
    assert r.json()["items"] == []
    r = await api.get("/api/v1/crm/orders", params={**base, "limit": 1})
    page = r.json()
    assert [o["id"] for o in page["items"]] == [done.id]
    r = await api.get("/api/v1/crm/orders", params={**base, "limit": 1, "cursor": page["next_cursor"]})
    assert [o["id"] for o in r.json()["items"]] == [draft.id]
    r = await api.get("/api/v1/crm/orders", params={"status": "shipped"})
    assert r.status_code == 400


async def test_quotes_create_list_and_item(api, acme, world_bits):
    r = await api.post(
        "/api/v1/crm/quotes",
        json={"account_id": world_bits["account_id"], "lines": [{"product_id": world_bits["product"].id}]},
    )
    assert r.status_code == 201, r.text
    quote = r.json()
    assert (quote["status"], quote["total"], quote["lines"][0]["quantity"]) == ("draft", "13.96", "1.000")
    r = await api.get(f"/api/v1/crm/quotes/{quote['id']}")
    assert r.json()["lines"] == quote["lines"]
    r = await api.get(
        "/api/v1/crm/quotes", params={"account_id": world_bits["account_id"], "status": "draft"}
    )
    assert [q["id"] for q in r.json()["items"]] == [quote["id"]]
    r = await api.post("/api/v1/crm/quotes", json={"account_id": world_bits["account_id"], "currency": "US"})
    assert (r.status_code, problem_of(r)["errors"][0]["field"]) == (422, "currency")


async def test_contracts_with_their_schedule(api, acme, world_bits):
    async with in_tenant(acme.slug) as (session, _):
        from app.crm.models import Account

        account = await session.get(Account, world_bits["account_id"])
        today = tenant_today()
        contract = await contract_row(
            session,
            account,
            "1000.00",
            [(today - timedelta(days=1), "400.00"), (today + timedelta(days=9), "600.00")],
        )
    r = await api.get(f"/api/v1/crm/contracts/{contract.id}")
    body = r.json()
    assert (body["value"], body["status"], body["currency"]) == ("1000.00", "active", "CNY")
    assert [(i["amount"], i["collected"], i["open"], i["status"]) for i in body["instalments"]] == [
        ("400.00", "0.00", "400.00", "overdue"),
        ("600.00", "0.00", "600.00", "pending"),
    ]
    r = await api.get("/api/v1/crm/contracts", params={"account_id": world_bits["account_id"]})
    assert [(c["id"], c["instalments"]) for c in r.json()["items"]] == [(contract.id, None)]
