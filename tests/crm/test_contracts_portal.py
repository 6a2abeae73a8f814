"""The contract and collections pages (CRM-5): create a contract from an order, generate and
hand-edit its schedule, activate it, record collections; the collections page per rep; refusals
re-render with the message and change nothing; other reps' contracts are invisible."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from app.crm.models import Contract, PaymentInstalment
from app.crm.services.calendar import tenant_today
from tenants.service import in_tenant
from tests.crm.factories.sales import account_row, contract_row, order_row, product_row
from tests.crm.support import table_counts
from tests.helpers import signed_in

TABLES = ("crm_contracts", "crm_payment_instalments", "crm_collections")


@pytest.fixture
async def bits(acme):
    tag = uuid.uuid4().hex[:6].upper()
    async with in_tenant(acme.slug) as (session, _):
        account = await account_row(
            session, f"合同客户 {tag}", owner_id=acme.users["alice"], team_id=acme.teams["East"]
        )
        product = await product_row(session, f"CP-{tag}", "1000.00", "0")
        order = await order_row(
            session, account, [(product, "1")], status="confirmed", owner_id=acme.users["alice"]
        )
        today = tenant_today()
        active = await contract_row(
            session,
            account,
            "900.00",
            [
                (today - timedelta(days=3), "300.00"),
                (today + timedelta(days=5), "300.00"),
                (today + timedelta(days=60), "300.00"),
            ],
            owner_id=acme.users["alice"],
            title=f"维保 {tag}",
        )
        return {"account_id": account.id, "order_id": order.id, "tag": tag, "active": active}


async def test_a_contract_from_an_order_gets_a_schedule_and_goes_live(app, acme, bits):
    async with signed_in(app, acme, "alice") as b:
        r = await b.get(f"/sales/contracts/new?sales_order_id={bits['order_id']}")
        assert r.status_code == 200
        assert 'value="1000.00"' in r.text
        r = await b.post(
            "/sales/contracts",
            {
                "sales_order_id": bits["order_id"],
                "title": "年度服务合同",
                "account_id": bits["account_id"],
                "value": "1000.00",
                "currency": "CNY",
                "owner_id": acme.users["alice"],
            },
        )
        assert r.status_code == 303, r.text
        url = r.headers["location"]
        cid = int(url.rsplit("/", 1)[1])
        r = await b.post(f"{url}/status", {"action": "activate"})
        assert r.status_code == 422
        assert "The payment schedule adds up to 0.00, the contract value is 1000.00." in r.text
        r = await b.post(
            f"{url}/schedule/generate", {"count": "3", "first_due_date": "2027-01-31", "every_months": "1"}
        )
        assert r.status_code == 303, r.text
        r = await b.get(url)
        assert "CN¥333.34" in r.text
        assert "1/3" in r.text
        assert (await b.post(f"{url}/status", {"action": "activate"})).status_code == 303
    async with in_tenant(acme.slug) as (session, _):
        contract = await session.get(Contract, cid)
        assert (contract.status, contract.sales_order_id, contract.value) == (
            "active",
            bits["order_id"],
            1000,
        )


async def test_a_schedule_that_does_not_add_up_is_refused_with_the_sum(app, acme, bits):
    async with in_tenant(acme.slug) as (session, _):
        from app.crm.models import Account

        draft = await contract_row(
            session,
            await session.get(Account, bits["account_id"]),
            "500.00",
            [],
            status="draft",
            owner_id=acme.users["alice"],
        )
    before = await table_counts(acme, *TABLES)
    async with signed_in(app, acme, "alice") as b:
        await b.get(f"/sales/contracts/{draft.id}")
        r = await b.post(
            f"/sales/contracts/{draft.id}/schedule",
            {
                "id[]": ["", "", ""],
                "due_date[]": ["2027-01-10", "2027-02-10", ""],
                "amount[]": ["200.00", "-5", ""],
                "description[]": ["首付", "", ""],
            },
        )
        assert r.status_code == 422
        assert "Row 2: Must be greater than zero." in r.text
        r = await b.post(
            f"/sales/contracts/{draft.id}/schedule",
            {
                "id[]": ["", ""],
                "due_date[]": ["2027-01-10", "2027-02-10"],
                "amount[]": ["200.00", "299.99"],
                "description[]": ["首付", ""],
            },
        )
        assert r.status_code == 422
        assert "The instalments add up to 499.99; the contract value is 500.00." in r.text
        assert 'value="299.99"' in r.text  # what was typed is kept
    assert await table_counts(acme, *TABLES) == before


async def test_recording_collections_and_refusing_more_than_is_open(app, acme, bits):
    contract = bits["active"]
    async with in_tenant(acme.slug) as (session, _):
        from sqlalchemy import select

        first = await session.scalar(
            select(PaymentInstalment)
            .where(PaymentInstalment.contract_id == contract.id)
            .order_by(PaymentInstalment.due_date)
            .limit(1)
        )
    url = f"/sales/contracts/{contract.id}/collections"
    async with signed_in(app, acme, "alice") as b:
        await b.get(f"/sales/contracts/{contract.id}")
        before = await table_counts(acme, *TABLES)
        r = await b.post(url, {"instalment_id": first.id, "amount": "300.01", "method": "bank_transfer"})
        assert r.status_code == 422
        assert "More than the open amount of 300.00 CNY." in r.text
        r = await b.post(url, {"instalment_id": "999999999", "amount": "1"})
        assert r.status_code == 422
        assert "Choose an instalment of this contract." in r.text
        assert await table_counts(acme, *TABLES) == before
        r = await b.post(
            url,
            {"instalment_id": first.id, "amount": "120", "method": "bank_transfer", "reference": "工行 5521"},
        )
        assert r.status_code == 303, r.text
        r = await b.get(f"/sales/contracts/{contract.id}")
        assert "工行 5521" in r.text
        assert "CN¥180.00" in r.text
        assert "Overdue" in r.text
    async with in_tenant(acme.slug) as (session, _):
        assert (await session.get(PaymentInstalment, first.id)).collected == Decimal("120.00")


async def test_the_collections_page_per_rep(app, acme, bits):
    contract = bits["active"]
    async with signed_in(app, acme, "alice") as b:
        r = await b.get("/sales/collections")
        assert r.status_code == 200
        assert f'href="/sales/contracts/{contract.id}#schedule"' in r.text
        page = r.text
        overdue, due = page.split("<h2>Overdue</h2>", 1)[1].split("<h2>Due in the next 30 days</h2>", 1)
        assert f"/sales/contracts/{contract.id}#schedule" in overdue
        assert "3 days late" in overdue
        assert f"/sales/contracts/{contract.id}#schedule" in due
    async with signed_in(app, acme, "dave") as b:
        r = await b.get("/sales/collections")
        assert f"/sales/contracts/{contract.id}#schedule" not in r.text
        assert (await b.get(f"/sales/contracts/{contract.id}")).status_code == 404
        assert contract.number not in (await b.get("/sales/contracts/export.csv")).text
    async with signed_in(app, acme, "sam") as b:
        r = await b.get("/sales/collections", params={"owner": acme.users["alice"]})
        assert f"/sales/contracts/{contract.id}#schedule" in r.text
        r = await b.get("/sales/contracts", params={"q": bits["tag"]})
        assert f'href="/sales/contracts/{contract.id}"' in r.text
