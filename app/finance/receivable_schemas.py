"""API representations and request bodies of the receivables (/api/v1/finance/invoices, payments,
receivables/ageing, customers/{id}/statement). Money as decimal strings with two places, dates ISO
8601; bodies refuse unknown fields and wrong JSON types (400); what the values mean is judged by
the services (422 with field errors naming ``lines.0.amount`` or ``allocations.1.invoice_id``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from msgspec import Meta, Struct

from app.finance import models
from app.finance.schemas import Number, money
from app.finance.services import ar_reports, invoices

InvoiceKind = Literal["invoice", "credit_note"]
InvoiceStatus = Literal["open", "partially_paid", "overdue", "paid", "credited", "issued"]
StatusFilter = Literal["open", "overdue", "paid"]
Method = Literal["bank_transfer", "cheque", "cash", "card", "online", "acceptance_bill", "other"]
Id = Annotated[int, Meta(ge=1)]
Day = date


class InvoiceLine(Struct):
    line_no: Annotated[int, Meta(description="On a credit note: the number of the invoice line it credits.")]
    description: str
    sku: str | None
    quantity: str
    unit: str | None
    unit_price: str
    tax_rate: Annotated[str, Meta(description='VAT in percent, e.g. "13.00".')]
    net_amount: str
    tax_amount: str
    total_amount: str


class Invoice(Struct):
    id: int
    kind: InvoiceKind
    number: Annotated[str, Meta(description='"INV-2026-00001" or, for a credit note, "CN-2026-00001".')]
    account_id: Annotated[int, Meta(description="The customer (a CRM account id).")]
    sales_order_id: int | None
    credited_invoice_id: Annotated[int | None, Meta(description="A credit note's invoice.")]
    issue_date: date
    due_date: date
    currency: str
    subtotal: str
    tax_total: str
    total: str
    paid: str
    credited: str
    open_amount: Annotated[str, Meta(description="total - paid - credited; 0.00 for credit notes.")]
    status: InvoiceStatus
    entry_id: Annotated[int | None, Meta(description="The journal entry it posted (none for a zero total).")]
    customer_reference: str | None
    memo: str


class DocumentRef(Struct):
    id: int
    number: str
    date: Day
    amount: str


class InvoiceDetail(Invoice):
    lines: list[InvoiceLine] = []
    credit_notes: list[DocumentRef] = []
    payments: Annotated[
        list[DocumentRef], Meta(description="Allocations of payments: the amount allocated.")
    ] = []


class InvoicePage(Struct):
    items: list[Invoice]
    next_cursor: str | None


def _invoice_fields(i: models.Invoice, today: date) -> tuple[object, ...]:
    return (
        i.id, i.kind, i.number, i.account_id, i.sales_order_id, i.credited_invoice_id, i.issue_date,
        i.due_date, i.currency, money(i.subtotal), money(i.tax_total), money(i.total), money(i.paid),
        money(i.credited), money(invoices.open_amount(i)), invoices.status_of(i, today), i.entry_id,
        i.customer_reference, i.memo,
    )  # fmt: skip


def invoice_of(i: models.Invoice, today: date) -> Invoice:
    return Invoice(*_invoice_fields(i, today))  # type: ignore[arg-type]


def invoice_detail_of(
    i: models.Invoice,
    today: date,
    lines: list[models.InvoiceLine],
    notes: list[models.Invoice],
    allocations: list[tuple[models.Allocation, models.Payment]],
) -> InvoiceDetail:
    return InvoiceDetail(  # type: ignore[call-arg]
        *_invoice_fields(i, today),  # type: ignore[arg-type]
        [
            InvoiceLine(
                line_no=ln.line_no,
                description=ln.description,
                sku=ln.sku,
                quantity=f"{ln.quantity.normalize():f}",
                unit=ln.unit,
                unit_price=str(ln.unit_price),
                tax_rate=money(ln.tax_rate),
                net_amount=money(ln.net_amount),
                tax_amount=money(ln.tax_amount),
                total_amount=money(ln.total_amount),
            )
            for ln in lines
        ],
        [DocumentRef(n.id, n.number, n.issue_date, money(n.total)) for n in notes],
        [DocumentRef(p.id, p.number, a.allocated_on, money(a.amount)) for a, p in allocations],
    )


class InvoiceCreate(Struct, forbid_unknown_fields=True):
    """Invoice a confirmed or fulfilled sales order. An order already invoiced answers its invoice."""

    sales_order_id: Id
    issue_date: Annotated[date | None, Meta(description="Today (the organisation's) by default.")] = None


class CreditLine(Struct, forbid_unknown_fields=True):
    line_no: Annotated[int, Meta(ge=1, description="The invoice line to credit.")]
    amount: Annotated[Number, Meta(description="The net amount (before VAT) to credit.")]


class CreditNoteCreate(Struct, forbid_unknown_fields=True):
    """A credit note against the invoice: the listed lines' net amounts, or everything not yet
    credited when ``lines`` is left out. Never more than the invoice's open amount."""

    lines: Annotated[list[CreditLine], Meta(max_length=500)] | None = None
    issue_date: date | None = None
    memo: Annotated[str, Meta(max_length=1000)] = ""


class AllocationIn(Struct, forbid_unknown_fields=True):
    invoice_id: Id
    amount: Number


class PaymentCreate(Struct, forbid_unknown_fields=True):
    """Money received from a customer, allocated to the listed open invoices of that customer;
    what is not allocated stays as the customer's prepayment."""

    account_id: Annotated[int, Meta(ge=1, description="The paying customer (a CRM account id).")]
    amount: Number
    payment_date: Annotated[date | None, Meta(description="Today by default; never in the future.")] = None
    currency: Annotated[str, Meta(description="Must be the books' base currency.", max_length=3)] | None = (
        None
    )
    method: Method = "bank_transfer"
    reference: Annotated[str, Meta(max_length=80)] | None = None
    bank_account_id: Annotated[
        int | None, Meta(description="A bank or cash ledger account; the `bank` posting rule's by default.")
    ] = None
    memo: Annotated[str, Meta(max_length=1000)] = ""
    allocations: Annotated[list[AllocationIn], Meta(max_length=500)] = []


class AllocationsCreate(Struct, forbid_unknown_fields=True):
    """Allocate what the payment has left to the customer's open invoices."""

    allocations: Annotated[list[AllocationIn], Meta(max_length=500)] = []
    allocated_on: date | None = None


class Allocation(Struct):
    invoice_id: int
    invoice_number: str
    amount: str
    allocated_on: date


class Payment(Struct):
    id: int
    number: Annotated[str, Meta(description='"RCV-2026-00001".')]
    account_id: int
    payment_date: date
    amount: str
    allocated: str
    unallocated: Annotated[str, Meta(description="The customer's prepayment left on this receipt.")]
    currency: str
    method: str
    reference: str | None
    bank_account_id: int
    entry_id: int | None
    memo: str


class PaymentDetail(Payment):
    allocations: list[Allocation] = []


class PaymentPage(Struct):
    items: list[Payment]
    next_cursor: str | None


def _payment_fields(p: models.Payment) -> tuple[object, ...]:
    return (
        p.id, p.number, p.account_id, p.payment_date, money(p.amount), money(p.allocated),
        money(p.amount - p.allocated), p.currency, p.method, p.reference, p.bank_account_id, p.entry_id,
        p.memo,
    )  # fmt: skip


def payment_of(p: models.Payment) -> Payment:
    return Payment(*_payment_fields(p))  # type: ignore[arg-type]


def payment_detail_of(
    p: models.Payment, allocations: list[tuple[models.Allocation, models.Invoice]]
) -> PaymentDetail:
    return PaymentDetail(  # type: ignore[call-arg]
        *_payment_fields(p),  # type: ignore[arg-type]
        [Allocation(i.id, i.number, money(a.amount), a.allocated_on) for a, i in allocations],
    )


class AgeingRow(Struct):
    account_id: int
    name: str
    current: Annotated[str, Meta(description="Not yet due.")]
    d1_30: str
    d31_60: str
    d61_90: str
    over_90: str
    open_total: str
    unallocated: Annotated[str, Meta(description="Prepayments received and not yet allocated.")]
    balance: Annotated[str, Meta(description="open_total - unallocated.")]
    invoices: int


class Ageing(Struct):
    as_of: date
    rows: list[AgeingRow]
    totals: AgeingRow


def _ageing_row(r: ar_reports.AgeingRow) -> AgeingRow:
    b = r.buckets
    return AgeingRow(
        r.account_id, r.name, money(b["current"]), money(b["d1_30"]), money(b["d31_60"]), money(b["d61_90"]),
        money(b["over_90"]), money(r.open_total), money(r.unallocated), money(r.balance), r.invoices,
    )  # fmt: skip


def ageing_of(report: ar_reports.Ageing) -> Ageing:
    return Ageing(report.as_of, [_ageing_row(r) for r in report.rows], _ageing_row(report.totals))


class StatementLine(Struct):
    date: Day
    kind: Literal["invoice", "credit_note", "payment"]
    document_id: int
    number: str
    description: str
    due_date: Day | None
    debit: str
    credit: str
    balance: str


class Statement(Struct):
    account_id: int
    name: str
    date_from: date
    date_to: date
    currency: str
    opening_balance: Annotated[str, Meta(description="Positive: the customer owes; negative: a prepayment.")]
    lines: list[StatementLine]
    closing_balance: str


def statement_of(st: ar_reports.Statement) -> Statement:
    return Statement(
        st.account_id,
        st.name,
        st.date_from,
        st.date_to,
        st.currency,
        money(st.opening),
        [
            StatementLine(
                date=ln.on,
                kind=ln.kind,  # type: ignore[arg-type]
                document_id=ln.document_id,
                number=ln.number,
                description=ln.description,
                due_date=ln.due_on,
                debit=money(ln.debit),
                credit=money(ln.credit),
                balance=money(ln.balance),
            )
            for ln in st.lines
        ],
        money(st.closing),
    )
