"""Receivables reports (FIN-2): ageing as of a date, a customer's statement of account, and the
invariant that the AR subledger equals its control account(s).

Both reports are *as of* their dates, rebuilt from the documents: an invoice's open amount on a
day is its total less the allocations dated up to that day and the credit notes issued up to that
day, so an ageing of last month's end reads the same today as it did then.

    report = await ageing(session, date(2026, 12, 31))
    report.rows[0].buckets            # not yet due, 1–30, 31–60, 61–90, over 90 days past due
    st = await statement(session, account_id, date(2026, 1, 1), date(2026, 12, 31))
    problems = await check_receivables(session)   # [] when the books agree
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm import interface as crm
from app.finance.models import Account, Allocation, Entry, EntryLine, Invoice, Payment, PeriodBalance
from app.finance.services.receivables import (
    CREDIT_NOTE_SOURCE,
    INVOICE_SOURCE,
    PAYMENT_SOURCE,
    ZERO,
    finance_settings,
)
from app.finance.services.rules import account_code
from app.finance.services.setup import ensure_finance
from app.kernel.errors import FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy

# (key, English label, first day past due, last day past due or None)
BUCKETS: tuple[tuple[str, str, int | None, int | None], ...] = (
    ("current", lazy("Not yet due"), None, 0),
    ("d1_30", lazy("1–30 days"), 1, 30),
    ("d31_60", lazy("31–60 days"), 31, 60),
    ("d61_90", lazy("61–90 days"), 61, 90),
    ("over_90", lazy("Over 90 days"), 91, None),
)
BUCKET_KEYS = tuple(b[0] for b in BUCKETS)


def bucket_of(days_past_due: int) -> str:
    for key, _label, _first, last in BUCKETS:
        if last is None or days_past_due <= last:
            return key
    return BUCKETS[-1][0]


@dataclass
class AgeingRow:
    account_id: int
    name: str
    buckets: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(BUCKET_KEYS, ZERO))
    unallocated: Decimal = ZERO  # prepayments: received, not yet allocated
    invoices: int = 0

    @property
    def open_total(self) -> Decimal:
        return sum(self.buckets.values(), ZERO)

    @property
    def balance(self) -> Decimal:
        """What the customer owes: open invoices less the prepayments not yet allocated."""
        return self.open_total - self.unallocated


@dataclass
class Ageing:
    as_of: date
    rows: list[AgeingRow]
    totals: AgeingRow


def _allocated_by(as_of: date) -> Any:
    return (
        select(Allocation.invoice_id.label("invoice_id"), func.sum(Allocation.amount).label("amount"))
        .where(Allocation.invoice_id.is_not(None), Allocation.allocated_on <= as_of)
        .group_by(Allocation.invoice_id)
        .subquery()
    )


async def open_invoices_as_of(
    session: AsyncSession, as_of: date
) -> list[tuple[int, int, str, date, Decimal]]:
    """(invoice id, customer, number, due date, open amount on ``as_of``) of every invoice issued
    by then with money open that day."""
    allocated = _allocated_by(as_of)
    notes = (
        select(Invoice.credited_invoice_id.label("invoice_id"), func.sum(Invoice.total).label("amount"))
        .where(Invoice.kind == "credit_note", Invoice.issue_date <= as_of)
        .group_by(Invoice.credited_invoice_id)
        .subquery()
    )
    open_amount = Invoice.total - func.coalesce(allocated.c.amount, 0) - func.coalesce(notes.c.amount, 0)
    stmt = (
        select(Invoice.id, Invoice.account_id, Invoice.number, Invoice.due_date, open_amount)
        .outerjoin(allocated, allocated.c.invoice_id == Invoice.id)
        .outerjoin(notes, notes.c.invoice_id == Invoice.id)
        .where(Invoice.kind == "invoice", Invoice.issue_date <= as_of, open_amount > 0)
        .order_by(Invoice.account_id, Invoice.due_date, Invoice.id)
    )
    return [(i, a, n, d, Decimal(o)) for i, a, n, d, o in (await session.execute(stmt)).all()]


async def prepayments_as_of(session: AsyncSession, as_of: date) -> dict[int, Decimal]:
    """Per customer, what was received by ``as_of`` and not allocated by then."""
    allocated = (
        select(Allocation.payment_id.label("payment_id"), func.sum(Allocation.amount).label("amount"))
        .where(Allocation.allocated_on <= as_of)
        .group_by(Allocation.payment_id)
        .subquery()
    )
    left = Payment.amount - func.coalesce(allocated.c.amount, 0)
    stmt = (
        select(Payment.account_id, func.sum(left))
        .outerjoin(allocated, allocated.c.payment_id == Payment.id)
        .where(Payment.direction == "in", Payment.payment_date <= as_of, left > 0)
        .group_by(Payment.account_id)
    )
    return {a: Decimal(v) for a, v in (await session.execute(stmt)).all() if a is not None}


async def ageing(session: AsyncSession, as_of: date) -> Ageing:
    """Open receivables on ``as_of`` per customer in buckets of days past due, with the
    prepayments not yet allocated; customers by name."""
    await ensure_finance(session)
    rows: dict[int, AgeingRow] = {}
    for _id, account_id, _number, due, amount in await open_invoices_as_of(session, as_of):
        row = rows.setdefault(account_id, AgeingRow(account_id, ""))
        row.buckets[bucket_of((as_of - due).days)] += amount
        row.invoices += 1
    for account_id, amount in (await prepayments_as_of(session, as_of)).items():
        rows.setdefault(account_id, AgeingRow(account_id, "")).unallocated += amount
    names = await crm.account_names(session, rows)
    for row in rows.values():
        row.name = names.get(row.account_id, f"#{row.account_id}")
    ordered = sorted(rows.values(), key=lambda r: (r.name.lower(), r.account_id))
    totals = AgeingRow(0, "")
    for row in ordered:
        for key in BUCKET_KEYS:
            totals.buckets[key] += row.buckets[key]
        totals.unallocated += row.unallocated
        totals.invoices += row.invoices
    return Ageing(as_of, ordered, totals)


# --- statement of account -----------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    on: date
    kind: str  # "invoice" | "credit_note" | "payment"
    document_id: int
    number: str
    description: str
    debit: Decimal
    credit: Decimal
    balance: Decimal
    due_on: date | None = None


@dataclass(frozen=True)
class Statement:
    account_id: int
    name: str
    date_from: date
    date_to: date
    currency: str
    opening: Decimal
    lines: list[StatementLine]
    closing: Decimal

    @property
    def debits(self) -> Decimal:
        return sum((line.debit for line in self.lines), ZERO)

    @property
    def credits(self) -> Decimal:
        return sum((line.credit for line in self.lines), ZERO)


KIND_ORDER = {"invoice": 0, "credit_note": 1, "payment": 2}


async def statement(session: AsyncSession, account_id: int, date_from: date, date_to: date) -> Statement:
    """The customer's account between two dates (inclusive): the opening balance, every invoice
    (debit), credit note and payment (credit) in date order with the running balance, the
    closing balance. A positive balance is what the customer owes; negative, a prepayment."""
    if date_from > date_to:
        raise ValidationFailed([FieldError("to", lazy("The end date must not be before the start date."))])
    names = await crm.account_names(session, {account_id})
    if account_id not in names:
        raise NotFound(lazy("customer"))
    settings = await finance_settings(session)
    signed = func.sum(case((Invoice.kind == "invoice", Invoice.total), else_=-Invoice.total))
    docs_before = (
        await session.execute(
            select(func.coalesce(signed, 0)).where(
                Invoice.account_id == account_id, Invoice.issue_date < date_from
            )
        )
    ).scalar_one()
    paid_before = (
        await session.execute(
            select(func.coalesce(func.sum(Payment.amount), 0)).where(
                Payment.direction == "in", Payment.account_id == account_id, Payment.payment_date < date_from
            )
        )
    ).scalar_one()
    opening = Decimal(docs_before) - Decimal(paid_before)

    raw: list[tuple[date, str, int, str, str, Decimal, Decimal, date | None]] = []
    docs = await session.execute(
        select(Invoice)
        .where(Invoice.account_id == account_id, Invoice.issue_date.between(date_from, date_to))
        .order_by(Invoice.issue_date, Invoice.id)
    )
    credited_numbers = dict(
        (
            await session.execute(
                select(Invoice.id, Invoice.number).where(
                    Invoice.id.in_(
                        select(Invoice.credited_invoice_id).where(
                            Invoice.account_id == account_id, Invoice.kind == "credit_note"
                        )
                    )
                )
            )
        ).all()
    )
    for doc in docs.scalars():
        if doc.kind == "invoice":
            raw.append(
                (doc.issue_date, "invoice", doc.id, doc.number, doc.memo, doc.total, ZERO, doc.due_date)
            )
        else:
            about = credited_numbers.get(doc.credited_invoice_id or 0, "")
            raw.append((doc.issue_date, "credit_note", doc.id, doc.number, about, ZERO, doc.total, None))
    payments = await session.execute(
        select(Payment)
        .where(
            Payment.direction == "in",
            Payment.account_id == account_id,
            Payment.payment_date.between(date_from, date_to),
        )
        .order_by(Payment.payment_date, Payment.id)
    )
    for p in payments.scalars():
        raw.append((p.payment_date, "payment", p.id, p.number, p.reference or "", ZERO, p.amount, None))
    raw.sort(key=lambda r: (r[0], KIND_ORDER[r[1]], r[3]))
    running = opening
    lines = []
    for on, kind, ident, number, text, debit, credit, due in raw:
        running += Decimal(debit) - Decimal(credit)
        lines.append(
            StatementLine(on, kind, ident, number, text, Decimal(debit), Decimal(credit), running, due)
        )
    return Statement(
        account_id, names[account_id], date_from, date_to, settings.base_currency, opening, lines, running
    )


# --- the invariant: AR subledger = control account(s) -------------------------------------------

AR_SOURCES = (INVOICE_SOURCE, CREDIT_NOTE_SOURCE, PAYMENT_SOURCE)


async def control_accounts(session: AsyncSession) -> dict[int, str]:
    """The receivable control accounts: the ``receivable`` rule's account and every account the
    receivables documents ever posted a customer's line to (a rule changed since stays one)."""
    code = await account_code(session, "receivable")
    rows = await session.execute(
        select(Account.id, Account.code).where(
            (Account.code == code)
            | Account.id.in_(
                select(EntryLine.account_id)
                .join(Entry, Entry.id == EntryLine.entry_id)
                .where(Entry.source_type.in_(AR_SOURCES), EntryLine.partner_id.is_not(None))
                .distinct()
            )
        )
    )
    return dict(rows.all())


async def subledger_by_customer(session: AsyncSession) -> dict[int, Decimal]:
    """Per customer: open invoice amounts less unallocated receipts (the subledger's balance)."""
    out: dict[int, Decimal] = {}
    invoices = await session.execute(
        select(Invoice.account_id, func.sum(Invoice.total - Invoice.paid - Invoice.credited))
        .where(Invoice.kind == "invoice")
        .group_by(Invoice.account_id)
    )
    for account_id, amount in invoices.all():
        out[account_id] = out.get(account_id, ZERO) + Decimal(amount)
    receipts = await session.execute(
        select(Payment.account_id, func.sum(Payment.amount - Payment.allocated))
        .where(Payment.direction == "in")
        .group_by(Payment.account_id)
    )
    for payer, amount in receipts.all():
        if payer is not None:
            out[payer] = out.get(payer, ZERO) - Decimal(amount)
    return out


async def check_receivables(session: AsyncSession) -> list[str]:
    """Every invariant of the receivables, recomputed; returns the problems (empty when right):

    * the subledger (open invoice amounts less unallocated receipts) equals the balance of the
      receivable control account(s) in the period balances, and per customer equals the posted
      lines carrying that customer as partner on those accounts;
    * no line on a control account lacks a customer;
    * each invoice's ``paid`` is the sum of its allocations and ``credited`` the sum of its credit
      notes; each receipt's ``allocated`` the sum of its allocations;
    * every document with an amount has its posted entry.
    """
    await ensure_finance(session)
    problems: list[str] = []
    controls = await control_accounts(session)
    ids = set(controls)
    per_customer = {a: v for a, v in (await subledger_by_customer(session)).items() if v != 0}
    subledger = sum(per_customer.values(), ZERO)
    control = Decimal(
        (
            await session.execute(
                select(func.coalesce(func.sum(PeriodBalance.debit - PeriodBalance.credit), 0)).where(
                    PeriodBalance.account_id.in_(ids)
                )
            )
        ).scalar_one()
    )
    codes = ", ".join(sorted(controls.values()))
    if subledger != control:
        problems.append(f"AR subledger {subledger} ≠ control account(s) {codes} balance {control}")
    posted = (
        select(EntryLine.partner_id, func.sum(EntryLine.debit - EntryLine.credit))
        .join(Entry, Entry.id == EntryLine.entry_id)
        .where(Entry.status == "posted", EntryLine.account_id.in_(ids))
        .group_by(EntryLine.partner_id)
    )
    without = ZERO
    ledger: dict[int, Decimal] = {}
    for partner, amount in (await session.execute(posted)).all():
        if partner is None:
            without = Decimal(amount)
        else:
            ledger[partner] = Decimal(amount)
    if without:
        problems.append(f"control account(s) {codes}: {without} posted without a customer")
    for account_id in sorted(set(per_customer) | {p for p, v in ledger.items() if v}):
        want, have = per_customer.get(account_id, ZERO), ledger.get(account_id, ZERO)
        if want != have:
            problems.append(f"customer {account_id}: subledger {want} ≠ ledger {have}")

    allocated = (
        select(Allocation.invoice_id, func.sum(Allocation.amount).label("amount"))
        .where(Allocation.invoice_id.is_not(None))
        .group_by(Allocation.invoice_id)
        .subquery()
    )
    notes = (
        select(Invoice.credited_invoice_id.label("invoice_id"), func.sum(Invoice.total).label("amount"))
        .where(Invoice.kind == "credit_note")
        .group_by(Invoice.credited_invoice_id)
        .subquery()
    )
    wrong = await session.execute(
        select(Invoice.number, Invoice.paid, Invoice.credited, allocated.c.amount, notes.c.amount)
        .outerjoin(allocated, allocated.c.invoice_id == Invoice.id)
        .outerjoin(notes, notes.c.invoice_id == Invoice.id)
        .where(
            Invoice.kind == "invoice",
            (Invoice.paid != func.coalesce(allocated.c.amount, 0))
            | (Invoice.credited != func.coalesce(notes.c.amount, 0)),
        )
    )
    for number, paid, credited, alloc, note in wrong.all():
        problems.append(
            f"invoice {number}: paid {paid} / credited {credited}"
            f" ≠ allocations {alloc or 0} / credit notes {note or 0}"
        )
    by_payment = (
        select(Allocation.payment_id, func.sum(Allocation.amount).label("amount"))
        .group_by(Allocation.payment_id)
        .subquery()
    )
    wrong_payments = await session.execute(
        select(Payment.number, Payment.allocated, by_payment.c.amount)
        .outerjoin(by_payment, by_payment.c.payment_id == Payment.id)
        .where(Payment.direction == "in", Payment.allocated != func.coalesce(by_payment.c.amount, 0))
    )
    for number, recorded, alloc in wrong_payments.all():
        problems.append(f"payment {number}: allocated {recorded} ≠ allocations {alloc or 0}")
    unposted = await session.execute(
        select(Invoice.number).where(Invoice.total > 0, Invoice.entry_id.is_(None)).order_by(Invoice.number)
    )
    problems += [f"document {n} has no journal entry" for n in unposted.scalars()]
    unposted_payments = await session.execute(
        select(Payment.number).where(Payment.direction == "in", Payment.entry_id.is_(None))
    )
    problems += [f"payment {n} has no journal entry" for n in unposted_payments.scalars()]
    return problems
