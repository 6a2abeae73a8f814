"""Reading customer invoices and credit notes (FIN-2): lists, one document with its lines, the
credit notes and payments applied to it, and its status.

A document's status is derived, never stored. An invoice is *paid* when nothing is open
(``total - paid - credited``) and something was paid, *credited* when credit notes took all of
it, *overdue* when money is open after its due date, *partially paid* when some was settled,
*open* otherwise. A credit note is *issued* (it is applied to its invoice in full when issued).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.models import Allocation, Invoice, InvoiceLine, Payment
from app.finance.services.receivables import tenant_today
from app.kernel.errors import NotFound
from app.kernel.i18n import lazy, lazy_p

STATUS_LABELS = {
    "open": lazy_p("document status", "Open"),
    "partially_paid": lazy("Partially paid"),
    "overdue": lazy("Overdue"),
    "paid": lazy("Paid"),
    "credited": lazy("Credited"),
    "issued": lazy("Issued"),
}
STATUS_TONES = {
    "open": "info",
    "partially_paid": "warn",
    "overdue": "err",
    "paid": "ok",
    "credited": "",
    "issued": "",
}
KIND_LABELS = {"invoice": lazy("Invoice"), "credit_note": lazy("Credit note")}
# What a list can be narrowed to (the API's and the portal's ``status`` filter).
STATUS_FILTERS = ("open", "overdue", "paid")

OPEN_AMOUNT = Invoice.total - Invoice.paid - Invoice.credited


def open_amount(invoice: Invoice) -> Decimal:
    if invoice.kind != "invoice":
        return Decimal("0.00")
    return Decimal(invoice.total) - Decimal(invoice.paid) - Decimal(invoice.credited)


def status_of(invoice: Invoice, today: date) -> str:
    if invoice.kind == "credit_note":
        return "issued"
    if open_amount(invoice) <= 0:
        return "credited" if invoice.paid == 0 and invoice.credited > 0 else "paid"
    if invoice.due_date < today:
        return "overdue"
    if invoice.paid > 0 or invoice.credited > 0:
        return "partially_paid"
    return "open"


def invoices_stmt(
    *,
    kind: str | None = None,
    account_id: int | None = None,
    status: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    today: date | None = None,
) -> Select[Any]:
    """Invoices and credit notes, narrowed by kind, customer, status (open / overdue / paid, which
    imply invoices) and issue dates (inclusive)."""
    stmt = select(Invoice)
    if kind is not None:
        stmt = stmt.where(Invoice.kind == kind)
    if account_id is not None:
        stmt = stmt.where(Invoice.account_id == account_id)
    if status is not None:
        stmt = with_status(stmt, status, today or tenant_today())
    if date_from is not None:
        stmt = stmt.where(Invoice.issue_date >= date_from)
    if date_to is not None:
        stmt = stmt.where(Invoice.issue_date <= date_to)
    return stmt


def with_status(stmt: Select[Any], status: str, today: date) -> Select[Any]:
    """Narrow to invoices ``open`` (money open), ``overdue`` (open after the due date) or ``paid``
    (nothing open: paid or credited)."""
    if status == "open":
        return stmt.where(Invoice.kind == "invoice", OPEN_AMOUNT > 0)
    if status == "overdue":
        return stmt.where(Invoice.kind == "invoice", OPEN_AMOUNT > 0, Invoice.due_date < today)
    if status == "paid":
        return stmt.where(Invoice.kind == "invoice", OPEN_AMOUNT <= 0)
    return stmt.where(Invoice.id < 0)


async def get_invoice(session: AsyncSession, invoice_id: int, *, kind: str | None = None) -> Invoice:
    invoice = await session.get(Invoice, invoice_id)
    if invoice is None or (kind is not None and invoice.kind != kind):
        raise NotFound(lazy("invoice"))
    return invoice


async def lock_invoice(session: AsyncSession, invoice_id: int) -> Invoice | None:
    """The invoice's row ``FOR UPDATE``, re-read (its open amount as committed now)."""
    stmt = select(Invoice).where(Invoice.id == invoice_id).with_for_update()
    return (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()


async def invoice_lines(session: AsyncSession, invoice_id: int) -> list[InvoiceLine]:
    stmt = select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id).order_by(InvoiceLine.line_no)
    return list((await session.execute(stmt)).scalars())


async def credit_notes_of(session: AsyncSession, invoice_id: int) -> list[Invoice]:
    stmt = (
        select(Invoice)
        .where(Invoice.kind == "credit_note", Invoice.credited_invoice_id == invoice_id)
        .order_by(Invoice.issue_date, Invoice.id)
    )
    return list((await session.execute(stmt)).scalars())


async def allocations_to(session: AsyncSession, invoice_id: int) -> list[tuple[Allocation, Payment]]:
    """The payments settling an invoice, oldest first."""
    stmt = (
        select(Allocation, Payment)
        .join(Payment, Payment.id == Allocation.payment_id)
        .where(Allocation.invoice_id == invoice_id)
        .order_by(Allocation.allocated_on, Allocation.id)
    )
    return [(a, p) for a, p in (await session.execute(stmt)).all()]


async def open_invoices_of(session: AsyncSession, account_id: int) -> list[Invoice]:
    """A customer's invoices with money open, oldest due first (what a payment may settle)."""
    stmt = (
        select(Invoice)
        .where(Invoice.account_id == account_id, Invoice.kind == "invoice", OPEN_AMOUNT > 0)
        .order_by(Invoice.due_date, Invoice.id)
    )
    return list((await session.execute(stmt)).scalars())


async def numbers_of(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Invoice.id, Invoice.number).where(Invoice.id.in_(ids)))
    return dict(rows.all())


async def get_customer_invoice(session: AsyncSession, account_id: int, invoice_id: int) -> Invoice:
    """One invoice or credit note of the customer ``account_id`` (the customer portal's record
    rule): another account's is NotFound, exactly like one that does not exist."""
    stmt = select(Invoice).where(Invoice.id == invoice_id, Invoice.account_id == account_id)
    invoice = (await session.execute(stmt)).scalar_one_or_none()
    if invoice is None:
        raise NotFound(lazy("invoice"))
    return invoice
