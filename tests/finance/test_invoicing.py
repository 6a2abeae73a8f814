"""Invoicing sales orders (FIN-2, INT-1): the order's confirmation (or delivery, a tenant setting)
issues its invoice and posts one entry in the same transaction; refusals refuse the step and
write nothing; invoicing is idempotent, also when two people confirm at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.crm.errors import InvalidState
from app.crm.interface import mark_order_invoiced
from app.crm.models import SalesOrder
from app.crm.services import order_status
from app.finance.errors import DocumentCurrencyMismatch, OrderNotInvoiceable, UnknownTaxRate
from app.finance.events import INVOICE_ISSUED
from app.finance.models import Entry, Invoice, InvoiceLine, TaxRate
from app.finance.services.ar_reports import check_receivables
from app.finance.services.receivables import invoice_order, tenant_today
from app.finance.services.reports import check_ledger
from app.kernel.errors import ValidationFailed
from tenants.service import in_tenant
from tests.finance.ar_support import (
    as_admin,
    customer,
    draft_order,
    entry_lines,
    events_of,
    past_year,
    set_finance,
    written,
)

D = Decimal
LINES = [("100.00", "2", "13"), ("50.00", "1", "6")]  # net 200 + 50, VAT 26 + 3


async def test_confirming_an_order_issues_its_invoice_and_posts_one_entry(books):
    async with as_admin(books) as (session, admin):
        buyer = await customer(session, "华东机械")
        order = await draft_order(session, buyer, LINES)
        order_id, buyer_id = order.id, buyer.id
        confirmed = await order_status.confirm_order(session, admin, order_id)
        today = tenant_today()
        assert (confirmed.status, confirmed.invoice_ref) == ("invoiced", f"INV-{today.year}-00001")
        invoice = (
            await session.execute(select(Invoice).where(Invoice.sales_order_id == order_id))
        ).scalar_one()
        assert (invoice.kind, invoice.number, invoice.account_id) == (
            "invoice",
            f"INV-{today.year}-00001",
            buyer_id,
        )
        assert (invoice.issue_date, (invoice.due_date - invoice.issue_date).days) == (today, 30)
        assert (invoice.subtotal, invoice.tax_total, invoice.total) == (D("250.00"), D("29.00"), D("279.00"))
        assert (invoice.paid, invoice.credited, invoice.currency) == (D("0"), D("0"), "CNY")
        lines = (
            await session.execute(
                select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id).order_by("line_no")
            )
        ).scalars()
        rates = dict((await session.execute(select(TaxRate.id, TaxRate.code))).all())
        assert [(ln.line_no, ln.net_amount, ln.tax_amount, rates[ln.tax_rate_id]) for ln in lines] == [
            (1, D("200.00"), D("26.00"), "VAT13"),
            (2, D("50.00"), D("3.00"), "VAT6"),
        ]
        entry = await session.get(Entry, invoice.entry_id)
        assert (entry.source_type, entry.source_id, entry.journal, entry.entry_date) == (
            "finance.invoice",
            invoice.id,
            "general",
            today,
        )
        assert await entry_lines(session, entry.id) == [
            ("1122", D("279.00"), D("0"), buyer_id),
            ("6001", D("0"), D("250.00"), None),
            ("222101", D("0"), D("26.00"), None),
            ("222101", D("0"), D("3.00"), None),
        ]
        assert await check_receivables(session) == []
        assert await check_ledger(session) == []
    [event] = await events_of(books, INVOICE_ISSUED)
    assert event == {
        "invoice_id": invoice.id,
        "number": f"INV-{today.year}-00001",
        "account_id": buyer_id,
        "sales_order_id": order_id,
        "issue_date": today.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "currency": "CNY",
        "subtotal": "250.00",
        "tax_total": "29.00",
        "total": "279.00",
        "entry_id": invoice.entry_id,
    }


async def test_a_tenant_invoicing_on_delivery_invoices_when_the_order_is_fulfilled(books):
    await set_finance(books, invoice_on="fulfilled", payment_terms_days=45)
    async with as_admin(books) as (session, admin):
        order = await draft_order(session, await customer(session, "Delivery Co"), LINES)
        confirmed = await order_status.confirm_order(session, admin, order.id)
        assert confirmed.status == "confirmed"
        assert await session.scalar(select(func.count()).select_from(Invoice)) == 0
        fulfilled = await order_status.fulfil_order(session, admin, order.id)
        invoice = (await session.execute(select(Invoice))).scalar_one()
    assert (fulfilled.status, fulfilled.invoice_ref) == ("invoiced", invoice.number)
    assert (invoice.due_date - invoice.issue_date).days == 45


async def test_invoicing_on_confirmation_does_not_invoice_again_on_delivery(books):
    async with as_admin(books) as (session, admin):
        order = await draft_order(session, await customer(session, "Once Co"), LINES)
        await order_status.confirm_order(session, admin, order.id)
        delivered = await order_status.fulfil_order(session, admin, order.id)
        again = await invoice_order(session, admin, order.id)
        assert (delivered.status, delivered.fulfilled_at is not None) == ("invoiced", True)
        assert await session.scalar(select(func.count()).select_from(Invoice)) == 1
        assert await session.scalar(select(func.count()).select_from(Entry)) == 1
        assert again.number == delivered.invoice_ref


async def test_an_order_invoiced_outside_tessera_is_still_delivered(books):
    await set_finance(books, invoice_on="fulfilled")
    async with as_admin(books) as (session, admin):
        order = await draft_order(session, await customer(session, "Outside Co"), LINES)
        await order_status.confirm_order(session, admin, order.id)
        await mark_order_invoiced(session, order.id, "EXT-0042")  # "Record invoice" on the order page
        delivered = await order_status.fulfil_order(session, admin, order.id)
        assert (delivered.status, delivered.invoice_ref, delivered.fulfilled_at is not None) == (
            "invoiced",
            "EXT-0042",
            True,
        )
        assert await session.scalar(select(func.count()).select_from(Invoice)) == 0


async def test_an_order_is_invoiced_by_hand_once_and_a_draft_not_at_all(books):
    await set_finance(books, invoice_on="fulfilled")
    year = past_year()
    async with as_admin(books) as (session, admin):
        buyer = await customer(session, "Hand Co")
        order = await draft_order(session, buyer, LINES)
        with pytest.raises(OrderNotInvoiceable):
            await invoice_order(session, admin, order.id)
        await order_status.confirm_order(session, admin, order.id)  # waits for delivery
        first = await invoice_order(session, admin, order.id, on=tenant_today().replace(year=year))
        second = await invoice_order(session, admin, order.id)
        assert first.id == second.id
        assert first.number == f"INV-{year}-00001"
        assert (await session.get(SalesOrder, order.id)).status == "invoiced"
        other = await draft_order(session, buyer, LINES)
        await order_status.confirm_order(session, admin, other.id)
        tomorrow = tenant_today() + timedelta(days=1)
        with pytest.raises(ValidationFailed) as future:
            await invoice_order(session, admin, other.id, on=tomorrow)
    assert future.value.errors[0].field == "issue_date"


async def test_refusals_refuse_the_confirmation_and_write_nothing(books):
    async with as_admin(books) as (session, admin):
        buyer = await customer(session, "Refused Co")
        dollars = (await draft_order(session, buyer, LINES, currency="USD")).id
        odd_rate = (await draft_order(session, buyer, [("10.00", "1", "13"), ("10.00", "1", "7")])).id
    before = await written(books)
    async with as_admin(books) as (session, admin):
        with pytest.raises(DocumentCurrencyMismatch) as mismatch:
            await order_status.confirm_order(session, admin, dollars)
        await session.rollback()
    async with as_admin(books) as (session, admin):
        with pytest.raises(UnknownTaxRate) as unknown:
            await order_status.confirm_order(session, admin, odd_rate)
        await session.rollback()
    assert (mismatch.value.code, mismatch.value.status, mismatch.value.errors[0].field) == (
        "currency_mismatch",
        422,
        "currency",
    )
    assert mismatch.value.params == {"currency": "USD", "base": "CNY"}
    assert (unknown.value.code, unknown.value.errors[0].field, unknown.value.params) == (
        "unknown_tax_rate",
        "lines.1.tax_rate",
        {"rate": "7"},
    )
    assert await written(books) == before
    async with in_tenant(books.slug) as (session, _):
        statuses = {o.id: o.status for o in (await session.execute(select(SalesOrder))).scalars()}
    assert statuses[dollars] == statuses[odd_rate] == "draft"


async def test_a_free_order_is_invoiced_without_an_entry(books):
    async with as_admin(books) as (session, admin):
        order = await draft_order(session, await customer(session, "Sample Co"), [("0.00", "3", "13")])
        await order_status.confirm_order(session, admin, order.id)
        invoice = (await session.execute(select(Invoice))).scalar_one()
        assert (invoice.total, invoice.entry_id) == (D("0.00"), None)
        assert await check_receivables(session) == []


async def test_two_simultaneous_confirmations_make_one_invoice(books):
    async with as_admin(books) as (session, _):
        order_id = (await draft_order(session, await customer(session, "Race Co"), LINES)).id
    started = asyncio.Event()

    async def confirm(hold: bool) -> str:
        async with as_admin(books) as (session, admin):
            try:
                if hold:
                    order = await order_status.confirm_order(session, admin, order_id)
                    started.set()
                    await asyncio.sleep(0.3)  # the invoice and its entry are written, not committed
                    return order.status
                await started.wait()
                order = await order_status.confirm_order(session, admin, order_id)
                return order.status
            except InvalidState as exc:
                return exc.code

    results = await asyncio.gather(confirm(True), confirm(False))
    assert sorted(results) == ["invoiced", "order_already_confirmed"]
    async with in_tenant(books.slug) as (session, _):
        assert await session.scalar(select(func.count()).select_from(Invoice)) == 1
        assert await session.scalar(select(func.count()).select_from(Entry)) == 1
        assert await check_receivables(session) == []


async def test_an_english_tenant_keeping_cny_books_on_the_ifrs_chart_invoices_chinese_vat(make_tenant):
    tenant = await make_tenant("arifrs")  # English, CNY: IFRS-style chart with the PRC rates too
    async with as_admin(tenant) as (session, admin):
        buyer = await customer(session, "Shanghai Tools")
        order = await draft_order(session, buyer, LINES)
        confirmed = await order_status.confirm_order(session, admin, order.id)
        assert confirmed.status == "invoiced"
        invoice = (
            await session.execute(select(Invoice).where(Invoice.sales_order_id == order.id))
        ).scalar_one()
        assert await entry_lines(session, invoice.entry_id) == [
            ("1100", D("279.00"), D("0"), buyer.id),
            ("4000", D("0"), D("250.00"), None),
            ("2210", D("0"), D("26.00"), None),  # one output VAT line per rate
            ("2210", D("0"), D("3.00"), None),
        ]


async def test_an_invoices_entry_is_corrected_through_the_invoice_not_reversed_in_the_journal(app, books):
    from app.finance import errors
    from app.finance.services import posting
    from tests.helpers import signed_in

    async with as_admin(books) as (session, admin):
        buyer = await customer(session, "只读客户")
        order = await draft_order(session, buyer, LINES)
        await order_status.confirm_order(session, admin, order.id)
        invoice = (
            await session.execute(select(Invoice).where(Invoice.sales_order_id == order.id))
        ).scalar_one()
        entry_id = invoice.entry_id
    before = await written(books)
    with pytest.raises(errors.EntryOfDocument):
        async with as_admin(books) as (session, admin):
            await posting.reverse(session, admin, entry_id)
    async with signed_in(app, books, "ada") as b:
        page = await b.get(f"/finance/entries/{entry_id}")
        assert f'action="/finance/entries/{entry_id}/reverse"' not in page.text
        refused = await b.post(f"/finance/entries/{entry_id}/reverse", {})
        assert refused.status_code == 303
    assert await written(books) == before
    async with in_tenant(books.slug) as (session, _):
        assert await check_receivables(session) == []
