"""Invoices in the customer self-service portal (CRM-12 with FIN-2): a customer sees their own
account's invoices and credit notes — in the list, on the order's page and one by one — and never
another customer's (404, as for a number that does not exist)."""

from __future__ import annotations

import uuid

from app.finance.services.credit_notes import issue_credit_note
from app.finance.services.payments_in import receive_payment
from tenants.service import in_tenant
from tests.crm.factories.portal import customer_account, customer_browser
from tests.finance.ar_support import invoiced

LINES = [("100.00", "2", "20")]  # 240.00


async def test_a_customer_sees_only_their_own_invoices(app, acme):
    marker = uuid.uuid4().hex[:8]
    async with in_tenant(acme.slug) as (session, _):
        from app.crm.models import Account

        a = await customer_account(session, f"a{marker}")
        b = await customer_account(session, f"b{marker}")
        mine = await invoiced(session, await session.get(Account, a.account_id), LINES)
        theirs = await invoiced(session, await session.get(Account, b.account_id), LINES)
        note = await issue_credit_note(session, None, mine.id, lines=[{"line_no": 1, "amount": "50.00"}])
        await receive_payment(
            session,
            None,
            {
                "account_id": a.account_id,
                "amount": "100.00",
                "allocations": [{"invoice_id": mine.id, "amount": "100.00"}],
            },
        )
        ids = (mine.id, mine.number, mine.sales_order_id, note.id, note.number, theirs.id, theirs.number)
    mine_id, mine_number, order_id, note_id, note_number, theirs_id, theirs_number = ids
    async with customer_browser(app, acme, a.email) as browser:
        home = await browser.get("/portal")
        listing = await browser.get("/portal/invoices")
        order = await browser.get(f"/portal/orders/{order_id}")
        one = await browser.get(f"/portal/invoices/{mine_id}")
        credit = await browser.get(f"/portal/invoices/{note_id}")
        other = await browser.get(f"/portal/invoices/{theirs_id}")
        missing = await browser.get("/portal/invoices/987654321")
    assert 'href="/portal/invoices"' in home.text
    assert mine_number in home.text
    assert mine_number in listing.text
    assert note_number in listing.text
    assert theirs_number not in listing.text
    assert f'href="/portal/invoices/{mine_id}"' in listing.text
    assert mine_number in order.text
    assert one.status_code == 200
    # 240.00 − credit 60.00 (50 + VAT 10) − paid 100.00
    assert "CN¥80.00" in one.text.split('id="customer-invoice-due">', 1)[1][:40]
    assert note_number in one.text
    assert "Payment received" in one.text
    assert credit.status_code == 200
    assert f"Credits invoice {mine_number}" in credit.text
    assert (other.status_code, missing.status_code) == (404, 404)
    assert theirs_number not in other.text


async def test_staff_cannot_open_a_customers_invoice_page(app, acme):
    from tests.helpers import signed_in

    async with in_tenant(acme.slug) as (session, _):
        from app.crm.models import Account

        c = await customer_account(session, f"s{uuid.uuid4().hex[:8]}")
        invoice = await invoiced(session, await session.get(Account, c.account_id), LINES)
    async with signed_in(app, acme, "bob") as b:
        assert (await b.get(f"/portal/invoices/{invoice.id}")).status_code == 403
