"""The quote pages (CRM-4): a rep builds a quote line by line, sends it, records the acceptance
and turns it into a sales order; bad input re-renders with the message and writes nothing; other
reps' quotes are invisible in the list, the page, the print view and the export."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from app.crm.models import Account, Quote, QuoteLine
from tenants.service import in_tenant
from tests.crm.factories.sales import account_row, product_row, quote_row
from tests.crm.support import table_counts
from tests.helpers import signed_in

TABLES = ("crm_quotes", "crm_quote_lines", "crm_sales_orders", "crm_sales_order_lines")


@pytest.fixture
async def bits(acme):
    tag = uuid.uuid4().hex[:6].upper()
    async with in_tenant(acme.slug) as (session, _):
        account = await account_row(
            session, f"门户客户 {tag}", owner_id=acme.users["alice"], team_id=acme.teams["East"]
        )
        product = await product_row(session, f"QP-{tag}", "199.00", "13", name=f"扫描仪 {tag}")
        return {"account_id": account.id, "product_id": product.id, "tag": tag}


def quote_id_of(location: str) -> int:
    m = re.fullmatch(r"/sales/quotes/(\d+)", location)
    assert m, location
    return int(m.group(1))


async def test_a_rep_builds_sends_accepts_and_orders_a_quote(app, acme, bits):
    async with signed_in(app, acme, "alice") as b:
        r = await b.get(f"/sales/quotes/new?account_id={bits['account_id']}")
        assert r.status_code == 200
        assert f"门户客户 {bits['tag']}" in r.text
        r = await b.post(
            "/sales/quotes",
            {
                "account_id": bits["account_id"],
                "price_list_id": "",
                "currency": "CNY",
                "owner_id": acme.users["alice"],
                "notes": "含安装",
            },
        )
        assert r.status_code == 303, r.text
        qid = quote_id_of(r.headers["location"])
        r = await b.post(
            f"/sales/quotes/{qid}/lines",
            {"product_id": bits["product_id"], "quantity": "3", "discount_percent": "5"},
        )
        assert r.status_code == 303, r.text
        r = await b.get(f"/sales/quotes/{qid}")
        assert f"扫描仪 {bits['tag']}" in r.text
        assert "CN¥567.15" in r.text  # 3 × 199.00 less 5 % = 567.15 net
        assert "CN¥640.88" in r.text  # + 13 % VAT 73.73
        for action in ("send", "accept"):
            r = await b.post(f"/sales/quotes/{qid}/status", {"action": action})
            assert r.status_code == 303, r.text
        r = await b.get(f"/sales/quotes/{qid}/print")
        assert r.status_code == 200
        assert "Quotation" in r.text
        assert "CN¥640.88" in r.text
        r = await b.post(f"/sales/quotes/{qid}/order", {})
        assert r.status_code == 303, r.text
        order_url = r.headers["location"]
        r = await b.get(order_url)
        assert r.status_code == 200
        assert "CN¥640.88" in r.text
        assert "Confirm order" in r.text
    async with in_tenant(acme.slug) as (session, _):
        assert (await session.get(Quote, qid)).status == "ordered"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"quantity": "-2"}, "Must be greater than zero."),
        ({"quantity": "1", "unit_price": "-1"}, "Must be at least 0."),
        ({"quantity": "1", "discount_percent": "101"}, "Must be at most 100."),
    ],
)
async def test_a_bad_line_is_shown_with_its_message_and_nothing_changes(app, acme, bits, line, message):
    async with in_tenant(acme.slug) as (session, _):
        quote = await quote_row(
            session, await session.get(Account, bits["account_id"]), [], owner_id=acme.users["alice"]
        )
    before = await table_counts(acme, *TABLES)
    async with signed_in(app, acme, "alice") as b:
        await b.get(f"/sales/quotes/{quote.id}")
        r = await b.post(f"/sales/quotes/{quote.id}/lines", {"product_id": bits["product_id"], **line})
    assert r.status_code == 422
    assert message in r.text
    assert await table_counts(acme, *TABLES) == before


async def test_a_sent_quote_cannot_change_and_says_so(app, acme, bits):
    async with in_tenant(acme.slug) as (session, _):
        from app.crm.models import Product

        product = await session.get(Product, bits["product_id"])
        quote = await quote_row(
            session,
            await session.get(Account, bits["account_id"]),
            [(product, "1")],
            status="sent",
            owner_id=acme.users["alice"],
        )
        line_id = await session.scalar(select(QuoteLine.id).where(QuoteLine.quote_id == quote.id))
    before = await table_counts(acme, *TABLES)
    async with signed_in(app, acme, "alice") as b:
        await b.get(f"/sales/quotes/{quote.id}")
        r = await b.post(f"/sales/quote-lines/{line_id}", {"quantity": "9"})
    assert r.status_code == 422
    assert "Only draft quotes can be changed. Take it back to draft first." in r.text
    assert await table_counts(acme, *TABLES) == before


async def test_other_reps_quotes_are_invisible(app, acme, bits):
    async with in_tenant(acme.slug) as (session, _):
        quote = await quote_row(
            session,
            await session.get(Account, bits["account_id"]),
            [],
            owner_id=acme.users["alice"],
            notes=bits["tag"],
        )
    async with signed_in(app, acme, "dave") as b:
        r = await b.get("/sales/quotes", params={"q": quote.number})
        assert r.status_code == 200
        assert f'href="/sales/quotes/{quote.id}"' not in r.text
        assert "No quotes match these filters." in r.text
        assert (await b.get(f"/sales/quotes/{quote.id}")).status_code == 404
        assert (await b.get(f"/sales/quotes/{quote.id}/print")).status_code == 404
        r = await b.get("/sales/quotes/export.csv")
        assert quote.number not in r.text
        assert (await b.post(f"/sales/quotes/{quote.id}/status", {"action": "send"})).status_code == 404
    async with signed_in(app, acme, "sam") as b:
        r = await b.get("/sales/quotes", params={"q": quote.number})
        assert f'href="/sales/quotes/{quote.id}"' in r.text
        r = await b.get("/sales/quotes/export.csv", params={"q": quote.number})
        assert quote.number in r.text
