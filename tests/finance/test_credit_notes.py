"""Credit notes (FIN-2): per-line partial or everything left, never above the invoice's open
amount; the mirror entry; every refusal writes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.finance.errors import CreditExceedsLine, CreditNoteExceedsInvoice, NotAnInvoice, ReceivableRefused
from app.finance.models import Entry, Invoice, InvoiceLine
from app.finance.services import invoices as invoice_reads
from app.finance.services.ar_reports import check_receivables
from app.finance.services.credit_notes import issue_credit_note, left_to_credit
from app.finance.services.payments_in import receive_payment
from app.kernel.errors import NotFound, ValidationFailed
from tests.finance.ar_support import (
    as_admin,
    customer,
    entry_lines,
    invoiced,
    on,
    past_year,
    written,
)

D = Decimal
LINES = [("100.00", "2", "13"), ("50.00", "1", "6")]  # net 200 + 50, VAT 26 + 3 → 279


async def test_a_partial_credit_note_posts_the_mirror_entry_and_reduces_the_open_amount(books):
    year = past_year()
    async with as_admin(books) as (session, admin):
        buyer = await customer(session, "退货客户")
        invoice = await invoiced(session, buyer, LINES, on(year, 3, 1))
        note = await issue_credit_note(
            session,
            admin,
            invoice.id,
            lines=[{"line_no": 1, "amount": "100.00"}],
            on=on(year, 3, 5),
            memo="退货 1 件",
        )
        assert (note.kind, note.number, note.credited_invoice_id, note.sales_order_id) == (
            "credit_note",
            f"CN-{year}-00001",
            invoice.id,
            invoice.sales_order_id,
        )
        assert (note.subtotal, note.tax_total, note.total, note.issue_date) == (
            D("100.00"),
            D("13.00"),
            D("113.00"),
            on(year, 3, 5),
        )
        assert (invoice.credited, invoice_reads.open_amount(invoice)) == (D("113.00"), D("166.00"))
        assert invoice_reads.status_of(invoice, on(year, 3, 6)) == "partially_paid"
        entry = await session.get(Entry, note.entry_id)
        assert (entry.source_type, entry.source_id) == ("finance.credit_note", note.id)
        assert await entry_lines(session, note.entry_id) == [
            ("1122", D("0"), D("113.00"), buyer.id),
            ("6001", D("100.00"), D("0"), None),
            ("222101", D("13.00"), D("0"), None),
        ]
        left = {item.line.line_no: (item.net, item.tax) for item in await left_to_credit(session, invoice.id)}
        assert left == {1: (D("100.00"), D("13.00")), 2: (D("50.00"), D("3.00"))}
        assert await check_receivables(session) == []


async def test_crediting_everything_left_brings_revenue_and_vat_back_to_zero(books):
    year = past_year()
    async with as_admin(books) as (session, admin):
        buyer = await customer(session, "Rounding Co")
        invoice = await invoiced(session, buyer, [("33.33", "1", "13"), ("10.00", "3", "6")], on(year, 5, 2))
        assert invoice.total == D("33.33") + D("4.33") + D("30.00") + D("1.80")
        # 11.11 at 13 % is 1.44 (1.4443); the rest is 22.22 with the 2.89 of VAT left, not 22.22 × 13 %
        first = await issue_credit_note(session, admin, invoice.id, lines=[{"line_no": 1, "amount": "11.11"}])
        rest = await issue_credit_note(session, admin, invoice.id)
        assert (first.tax_total, rest.subtotal, rest.tax_total) == (D("1.44"), D("52.22"), D("4.69"))
        assert invoice_reads.open_amount(invoice) == D("0.00")
        assert invoice_reads.status_of(invoice, on(year, 12, 31)) == "credited"
        lines = (
            await session.execute(
                select(InvoiceLine.line_no, InvoiceLine.net_amount).where(InvoiceLine.invoice_id == rest.id)
            )
        ).all()
        assert sorted(lines) == [(1, D("22.22")), (2, D("30.00"))]
        with pytest.raises(ReceivableRefused) as nothing:
            await issue_credit_note(session, admin, invoice.id)
        assert nothing.value.code == "nothing_to_credit"
        assert await check_receivables(session) == []


async def test_a_credit_note_never_exceeds_the_open_amount_or_its_line(books):
    year = past_year()
    async with as_admin(books) as (session, admin):
        buyer = await customer(session, "Paid Co")
        invoice = await invoiced(session, buyer, LINES, on(year, 1, 10))
        await receive_payment(
            session,
            admin,
            {
                "account_id": buyer.id,
                "payment_date": on(year, 1, 20).isoformat(),
                "amount": "200.00",
                "allocations": [{"invoice_id": invoice.id, "amount": "200.00"}],
            },
        )
        invoice_id = invoice.id
    before = await written(books)
    async with as_admin(books) as (session, admin):
        with pytest.raises(CreditNoteExceedsInvoice) as whole:
            await issue_credit_note(session, admin, invoice_id)  # 279 left to credit, 79 open
        with pytest.raises(CreditNoteExceedsInvoice):
            await issue_credit_note(session, admin, invoice_id, lines=[{"line_no": 1, "amount": "80.00"}])
        with pytest.raises(CreditExceedsLine) as line:
            await issue_credit_note(session, admin, invoice_id, lines=[{"line_no": 2, "amount": "50.01"}])
        with pytest.raises(ValidationFailed) as bad:
            await issue_credit_note(
                session,
                admin,
                invoice_id,
                lines=[
                    {"line_no": 9, "amount": "1"},
                    {"line_no": 1, "amount": "-5"},
                    {"line_no": 2, "amount": "1.001"},
                ],
                on="yesterday",
            )
        with pytest.raises(ValidationFailed) as early:
            await issue_credit_note(session, admin, invoice_id, on=on(year, 1, 9))
        with pytest.raises(NotFound):
            await issue_credit_note(session, admin, 987654321)
    assert (whole.value.code, whole.value.params) == (
        "credit_note_exceeds_invoice",
        {"amount": "279.00", "open": "79.00"},
    )
    assert (line.value.code, line.value.errors[0].field, line.value.params) == (
        "credit_exceeds_line",
        "lines.0.amount",
        {"left": "50.00"},
    )
    assert sorted(e.field for e in bad.value.errors) == [
        "issue_date",
        "lines.0.line_no",
        "lines.1.amount",
        "lines.2.amount",
    ]
    assert [e.field for e in early.value.errors] == ["issue_date"]
    assert await written(books) == before
    async with as_admin(books) as (session, admin):
        fits = await issue_credit_note(session, admin, invoice_id, lines=[{"line_no": 1, "amount": "69.91"}])
        assert fits.total == D("79.00")  # 69.91 + 9.09 VAT: exactly what was open
        assert invoice_reads.status_of(await session.get(Invoice, invoice_id), on(year, 2, 1)) == "paid"


async def test_a_credit_note_is_not_credited(books):
    async with as_admin(books) as (session, admin):
        invoice = await invoiced(session, await customer(session, "CN Co"), LINES)
        note = await issue_credit_note(session, admin, invoice.id, lines=[{"line_no": 2, "amount": "10"}])
        with pytest.raises(NotAnInvoice) as refused:
            await issue_credit_note(session, admin, note.id)
    assert refused.value.code == "not_an_invoice"
