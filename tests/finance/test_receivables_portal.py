"""The receivables pages of the finance portal: the accountant invoices an order, credits part of
it, receives a payment with allocation rows, allocates the rest later, reads the ageing and a
statement (and their CSVs); refused forms re-render with errors beside their rows, status 422,
nothing written; a sales rep has none of these pages."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import select

from app.crm.models import SalesOrder
from app.finance.services.receivables import tenant_today
from tenants.service import in_tenant
from tests.finance.ar_support import customer, draft_order, set_finance, written
from tests.helpers import signed_in

PAGES = [
    "/finance/invoices",
    "/finance/invoices/export.csv",
    "/finance/orders-to-invoice",
    "/finance/payments",
    "/finance/payments/export.csv",
    "/finance/payments/new",
    "/finance/receivables/ageing",
    "/finance/receivables/ageing.csv",
    "/finance/statements",
]
LINES = [("100.00", "2", "20"), ("40.00", "1", "5")]  # net 240, VAT 42 → 282.00


async def an_order(tenant: Any, status: str = "confirmed") -> tuple[int, int, str]:
    name = f"Portal buyer {uuid.uuid4().hex[:8]}"
    async with in_tenant(tenant.slug) as (session, _):
        buyer = await customer(session, name)
        order = await draft_order(session, buyer, LINES, status=status)
        return buyer.id, order.id, order.number


def last_id(location: str) -> int:
    return int(location.rstrip("/").rsplit("/", 1)[1])


async def test_the_accountant_invoices_credits_and_collects_through_the_pages(app, acme):
    buyer, order, order_number = await an_order(acme)
    async with signed_in(app, acme, "bob") as b:
        for page in PAGES:
            r = await b.get(page)
            assert r.status_code == 200, page
        home = await b.get("/finance/invoices")
        for link in ("/finance/orders-to-invoice", "/finance/payments", "/finance/receivables/ageing"):
            assert f'href="{link}"' in home.text
        waiting = await b.get("/finance/orders-to-invoice")
        assert order_number in waiting.text
        issued = await b.post(f"/finance/orders/{order}/invoice", {})
        assert issued.status_code == 303, issued.text
        invoice_id = last_id(issued.headers["location"])
        page = await b.get(f"/finance/invoices/{invoice_id}")
        assert f'href="/sales/orders/{order}"' in page.text
        assert 'id="invoice-entry">记-' in page.text  # its journal entry
        assert "282.00" in page.text
        assert order_number not in (await b.get("/finance/orders-to-invoice")).text
        printable = await b.get(f"/finance/invoices/{invoice_id}/print")
        assert printable.status_code == 200
        assert "Please pay" in printable.text

        await b.get(f"/finance/invoices/{invoice_id}/credit-note")
        credited = await b.post(
            f"/finance/invoices/{invoice_id}/credit-notes",
            {"lines.2.amount": "40.00", "issue_date": tenant_today().isoformat(), "memo": "returned"},
        )
        assert credited.status_code == 303, credited.text
        note = await b.get(credited.headers["location"])
        assert "42.00" in note.text

        form = await b.get(f"/finance/payments/new?invoice_id={invoice_id}")
        assert f'name="allocations.{invoice_id}.amount" inputmode="decimal" value="240.00"' in form.text
        paid = await b.post(
            "/finance/payments",
            {
                "account_id": str(buyer),
                "payment_date": tenant_today().isoformat(),
                "amount": "300.00",
                "method": "bank_transfer",
                "reference": "T/T 9",
                f"allocations.{invoice_id}.amount": "200.00",
            },
        )
        assert paid.status_code == 303, paid.text
        payment_id = last_id(paid.headers["location"])
        payment = await b.get(f"/finance/payments/{payment_id}")
        assert 'id="allocate-form"' in payment.text
        allocated = await b.post(
            f"/finance/payments/{payment_id}/allocations", {f"allocations.{invoice_id}.amount": "40.00"}
        )
        assert allocated.status_code == 303, allocated.text
        invoice_page = await b.get(f"/finance/invoices/{invoice_id}")
        assert "Paid" in invoice_page.text
        listing = await b.get("/finance/invoices", params={"f_customer": "Portal buyer", "f_status": "paid"})
        assert f'href="/finance/invoices/{invoice_id}"' in listing.text
        csv = await b.get(
            "/finance/invoices/export.csv", params={"f_customer": "Portal buyer", "f_kind": "invoice"}
        )
        assert csv.headers["content-type"].startswith("text/csv")
        assert [ln.split(",")[-2] for ln in csv.text.splitlines() if f"{order_number}" in ln] == ["0.00"]
        ageing = await b.get("/finance/receivables/ageing")
        assert f"/finance/customers/{buyer}/statement" in ageing.text
        statement = await b.get(f"/finance/customers/{buyer}/statement")
        assert re.search(r'id="statement-closing">[^<]*60\.00', statement.text)  # a prepayment of 60
        statement_csv = await b.get(f"/finance/customers/{buyer}/statement.csv")
        assert "Closing balance" in statement_csv.text
        assert "-60.00" in statement_csv.text


async def test_refused_forms_re_render_with_errors_and_write_nothing(app, acme):
    buyer, order, _ = await an_order(acme)
    _, draft, _ = await an_order(acme, status="draft")
    async with signed_in(app, acme, "bob") as b:
        issued = await b.post(f"/finance/orders/{order}/invoice", {})
        invoice_id = last_id(issued.headers["location"])
        before = await written(acme)
        too_much = await b.post(
            f"/finance/invoices/{invoice_id}/credit-notes", {"lines.1.amount": "200.01", "issue_date": ""}
        )
        garbage = await b.post(f"/finance/invoices/{invoice_id}/credit-notes", {"lines.1.amount": "lots"})
        over_open = await b.post(
            "/finance/payments",
            {"account_id": str(buyer), "amount": "500", f"allocations.{invoice_id}.amount": "282.01"},
        )
        over_payment = await b.post(
            "/finance/payments",
            {"account_id": str(buyer), "amount": "5", f"allocations.{invoice_id}.amount": "6"},
        )
        bad_amount = await b.post("/finance/payments", {"account_id": str(buyer), "amount": "-3"})
        no_customer = await b.post("/finance/payments", {"amount": "3"})
        not_invoiceable = await b.post(f"/finance/orders/{draft}/invoice", {})
        bad_ageing = await b.get("/finance/receivables/ageing", params={"as_of": "someday"})
        bad_statement = await b.get(
            f"/finance/customers/{buyer}/statement", params={"from": "2026-02-01", "to": "2026-01-01"}
        )
    assert too_much.status_code == 422
    assert 'id="lines.1.amount-error"' in too_much.text
    assert 'value="200.01"' in too_much.text
    assert garbage.status_code == 422
    assert 'id="lines.1.amount-error"' in garbage.text
    assert over_open.status_code == 422
    assert f'id="allocations.{invoice_id}.amount-error"' in over_open.text
    assert over_payment.status_code == 422
    assert 'id="allocations-error"' in over_payment.text
    assert bad_amount.status_code == 422
    assert 'id="amount-error"' in bad_amount.text
    assert no_customer.status_code == 422
    assert not_invoiceable.status_code == 422
    assert "only confirmed or fulfilled orders are invoiced" in not_invoiceable.text
    assert bad_ageing.status_code == 422
    assert bad_statement.status_code == 422
    assert await written(acme) == before


async def test_a_tenant_invoicing_on_delivery_shows_confirmed_orders_waiting(app, acme):
    _, _, number = await an_order(acme)
    await set_finance(acme, invoice_on="fulfilled")
    try:
        async with signed_in(app, acme, "bob") as b:
            page = await b.get("/finance/orders-to-invoice")
    finally:
        await set_finance(acme, invoice_on="confirmed")
    row = page.text[page.text.index(number) :]
    row = row[: row.index("</tr>")]
    assert "waits for delivery" in row
    assert "data-confirm" in row


async def test_sales_reps_have_no_receivables_pages(app, acme):
    buyer, order, _ = await an_order(acme)
    async with signed_in(app, acme, "alice") as b:
        for page in [*PAGES, f"/finance/customers/{buyer}/statement"]:
            assert (await b.get(page)).status_code == 403, page
        assert (await b.post(f"/finance/orders/{order}/invoice", {})).status_code == 403
        home = await b.get("/")
    assert "/finance/invoices" not in home.text


async def test_the_sales_order_page_issues_the_invoice_in_finance_not_a_number_from_outside(app, acme):
    _, order, number = await an_order(acme)  # confirmed, not invoiced (as under invoicing on delivery)
    async with signed_in(app, acme, "bob") as b:
        page = await b.get(f"/sales/orders/{order}")
        assert "Issue the invoice" in page.text
        assert f'action="/finance/orders/{order}/invoice"' in page.text
        assert "Mark invoiced" not in page.text  # recording an outside number would bypass the books
        issued = await b.post(f"/finance/orders/{order}/invoice", {})
        assert issued.status_code == 303
        invoice = await b.get(issued.headers["location"])
    assert number in invoice.text
    async with in_tenant(acme.slug) as (session, _):
        row = await session.execute(
            select(SalesOrder.status, SalesOrder.invoice_ref).where(SalesOrder.id == order)
        )
        status, ref = row.one()
    assert status == "invoiced"
    assert (ref or "").startswith("INV-")
