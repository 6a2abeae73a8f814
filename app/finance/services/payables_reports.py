"""What is owed to suppliers: ageing, a supplier's statement, and the AP invariant.

* ``ageing(session, as_of)`` — per supplier, what was open on ``as_of`` by days past due (not yet
  due, 1-30, 31-60, 61-90, over 90) less the advances (payments not yet allocated on that day).
  Everything is dated: a bill counts from its bill date until its cancellation, an allocation
  from its ``allocated_on``, so the ageing of a past date is what it was on that date.
* ``statement(session, supplier_id, date_from, date_to)`` — opening balance, bills,
  cancellations and payments in date order with a running balance, closing balance.
* ``check_payables(session)`` — the AP subledger (open bills minus unallocated payments) equals the
  payable control account's balance, overall and per supplier (ledger lines with ``supplier_id``);
  each document's paid / allocated amounts equal its allocations. Returns the problems found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.models import Account, Allocation, Bill, BillLine, Entry, EntryLine, Payment, Supplier
from app.finance.services import rules

ZERO = Decimal("0.00")
BUCKETS = ("not_due", "days_1_30", "days_31_60", "days_61_90", "over_90")


@dataclass
class AgeingRow:
    supplier_id: int | None  # None on the totals row
    code: str
    name: str
    buckets: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(BUCKETS, ZERO))
    advances: Decimal = ZERO  # paid and not yet allocated on the day

    @property
    def open_bills(self) -> Decimal:
        return sum(self.buckets.values(), ZERO)

    @property
    def balance(self) -> Decimal:
        return self.open_bills - self.advances


@dataclass(frozen=True)
class Ageing:
    as_of: date
    rows: list[AgeingRow]
    totals: AgeingRow


def _allocated_by(key: Any, as_of: date) -> Any:
    return (
        select(key.label("doc_id"), func.sum(Allocation.amount).label("amount"))
        .where(key.is_not(None), Allocation.allocated_on <= as_of)
        .group_by(key)
        .subquery()
    )


def _bucket(days: Any) -> Any:
    return case(
        (days <= 0, "not_due"),
        (days <= 30, "days_1_30"),
        (days <= 60, "days_31_60"),
        (days <= 90, "days_61_90"),
        else_="over_90",
    )


async def ageing(session: AsyncSession, as_of: date, *, supplier_id: int | None = None) -> Ageing:
    paid = _allocated_by(Allocation.bill_id, as_of)
    open_amount = Bill.total - func.coalesce(paid.c.amount, 0)
    bucket = _bucket(literal(as_of, Date) - Bill.due_date).label("bucket")
    bills = (
        select(Bill.supplier_id, bucket, func.sum(open_amount))
        .outerjoin(paid, paid.c.doc_id == Bill.id)
        .where(
            Bill.bill_date <= as_of,
            or_(Bill.cancelled_on.is_(None), Bill.cancelled_on > as_of),
            open_amount > 0,
        )
        .group_by(Bill.supplier_id, bucket)
    )
    used = _allocated_by(Allocation.payment_id, as_of)
    advances = (
        select(Payment.supplier_id, func.sum(Payment.amount - func.coalesce(used.c.amount, 0)))
        .outerjoin(used, used.c.doc_id == Payment.id)
        .where(Payment.direction == "out", Payment.payment_date <= as_of)
        .group_by(Payment.supplier_id)
        .having(func.sum(Payment.amount - func.coalesce(used.c.amount, 0)) > 0)
    )
    if supplier_id is not None:
        bills = bills.where(Bill.supplier_id == supplier_id)
        advances = advances.where(Payment.supplier_id == supplier_id)
    rows: dict[Any, AgeingRow] = {}
    bill_rows = (await session.execute(bills)).all()
    advance_rows = (await session.execute(advances)).all()
    ids = {r[0] for r in bill_rows} | {r[0] for r in advance_rows}
    names: dict[Any, Supplier] = {
        s.id: s for s in (await session.execute(select(Supplier).where(Supplier.id.in_(ids)))).scalars()
    }
    for sid in ids:
        rows[sid] = AgeingRow(sid, names[sid].code, names[sid].name)
    for sid, name, amount in bill_rows:
        rows[sid].buckets[name] += amount
    for sid, amount in advance_rows:
        rows[sid].advances += amount
    ordered = sorted(rows.values(), key=lambda r: (r.name.lower(), r.code))
    totals = AgeingRow(None, "", "")
    for row in ordered:
        for key in BUCKETS:
            totals.buckets[key] += row.buckets[key]
        totals.advances += row.advances
    return Ageing(as_of, ordered, totals)


@dataclass(frozen=True)
class StatementLine:
    on: date
    kind: str  # "bill" | "cancellation" | "payment"
    document_id: int
    number: str
    reference: str  # the supplier's invoice number, the payment's reference
    due_date: date | None
    billed: Decimal  # what the tenant came to owe
    paid: Decimal  # what it paid (or a cancellation took back)
    balance: Decimal  # owed after this line


@dataclass(frozen=True)
class Statement:
    supplier: Supplier
    date_from: date
    date_to: date
    opening: Decimal
    lines: list[StatementLine]

    @property
    def closing(self) -> Decimal:
        return self.lines[-1].balance if self.lines else self.opening

    @property
    def billed(self) -> Decimal:
        return sum((line.billed for line in self.lines), ZERO)

    @property
    def paid(self) -> Decimal:
        return sum((line.paid for line in self.lines), ZERO)


async def balance_on(session: AsyncSession, supplier_id: int, on: date) -> Decimal:
    """What the tenant owed the supplier at the end of ``on`` (negative: an advance)."""
    billed = select(func.coalesce(func.sum(Bill.total), 0)).where(
        Bill.supplier_id == supplier_id,
        Bill.bill_date <= on,
        or_(Bill.cancelled_on.is_(None), Bill.cancelled_on > on),
    )
    paid = select(func.coalesce(func.sum(Payment.amount), 0)).where(
        Payment.supplier_id == supplier_id, Payment.direction == "out", Payment.payment_date <= on
    )
    return Decimal((await session.execute(billed)).scalar_one()) - Decimal(
        (await session.execute(paid)).scalar_one()
    )


async def statement(session: AsyncSession, supplier: Supplier, date_from: date, date_to: date) -> Statement:
    opening = await balance_on(session, supplier.id, date_from - timedelta(days=1))
    bills = (
        await session.execute(
            select(Bill)
            .where(
                Bill.supplier_id == supplier.id,
                or_(
                    Bill.bill_date.between(date_from, date_to),
                    Bill.cancelled_on.between(date_from, date_to),
                ),
            )
            .order_by(Bill.id)
        )
    ).scalars()
    payments = (
        await session.execute(
            select(Payment)
            .where(
                Payment.supplier_id == supplier.id,
                Payment.direction == "out",
                Payment.payment_date.between(date_from, date_to),
            )
            .order_by(Payment.id)
        )
    ).scalars()
    items: list[tuple[date, int, int, str, str, str, date | None, Decimal, Decimal]] = []
    for b in bills:
        if date_from <= b.bill_date <= date_to:
            items.append(
                (b.bill_date, 0, b.id, "bill", b.number, b.supplier_reference, b.due_date, b.total, ZERO)
            )
        if b.cancelled_on is not None and date_from <= b.cancelled_on <= date_to:
            items.append(
                (b.cancelled_on, 1, b.id, "cancellation", b.number, b.supplier_reference, None, ZERO, b.total)
            )
    for p in payments:
        items.append((p.payment_date, 2, p.id, "payment", p.number, p.reference or "", None, ZERO, p.amount))
    items.sort(key=lambda i: (i[0], i[1], i[2]))
    lines, running = [], opening
    for on, _, doc_id, kind, number, reference, due, billed, paid in items:
        running += billed - paid
        lines.append(StatementLine(on, kind, doc_id, number, reference, due, billed, paid, running))
    return Statement(supplier, date_from, date_to, opening, lines)


async def supplier_balances(
    session: AsyncSession, supplier_ids: list[int]
) -> dict[int, tuple[Decimal, Decimal]]:
    """(open bills, unallocated payments) per supplier, as they stand now."""
    if not supplier_ids:
        return {}
    open_rows = await session.execute(
        select(Bill.supplier_id, func.sum(Bill.total - Bill.paid))
        .where(Bill.supplier_id.in_(supplier_ids), Bill.cancelled_on.is_(None))
        .group_by(Bill.supplier_id)
    )
    advance_rows = await session.execute(
        select(Payment.supplier_id, func.sum(Payment.amount - Payment.allocated))
        .where(Payment.supplier_id.in_(supplier_ids), Payment.direction == "out")
        .group_by(Payment.supplier_id)
    )
    out: dict[Any, tuple[Decimal, Decimal]] = {sid: (ZERO, ZERO) for sid in supplier_ids}
    for bill_supplier, amount in open_rows.all():
        out[bill_supplier] = (amount, out[bill_supplier][1])
    for paid_supplier, amount in advance_rows.all():
        out[paid_supplier] = (out[paid_supplier][0], amount)
    return out


async def check_payables(session: AsyncSession) -> list[str]:
    """The AP invariants, recomputed from the documents and the ledger lines; [] when they hold."""
    problems: list[str] = []

    # The subledger per supplier: open bills minus what was paid and not allocated.
    sub: dict[Any, Decimal] = {}
    for bill_supplier, amount in (
        await session.execute(
            select(Bill.supplier_id, func.sum(Bill.total - Bill.paid))
            .where(Bill.cancelled_on.is_(None))
            .group_by(Bill.supplier_id)
        )
    ).all():
        sub[bill_supplier] = sub.get(bill_supplier, ZERO) + amount
    for paid_supplier, amount in (
        await session.execute(
            select(Payment.supplier_id, func.sum(Payment.amount - Payment.allocated))
            .where(Payment.direction == "out")
            .group_by(Payment.supplier_id)
        )
    ).all():
        sub[paid_supplier] = sub.get(paid_supplier, ZERO) - amount

    # The ledger: the payable account (its posting rule) and any account a supplier's line is on.
    posted = and_(Entry.id == EntryLine.entry_id, Entry.status == "posted")
    payable = await rules.account_code(session, "payable")
    control_ids = set(
        (
            await session.execute(
                select(EntryLine.account_id)
                .join(Entry, posted)
                .where(EntryLine.supplier_id.is_not(None))
                .distinct()
            )
        ).scalars()
    )
    control_ids |= set((await session.execute(select(Account.id).where(Account.code == payable))).scalars())
    net = func.coalesce(func.sum(EntryLine.credit - EntryLine.debit), 0)
    ledger_total = Decimal(
        (
            await session.execute(
                select(net)
                .select_from(EntryLine)
                .join(Entry, posted)
                .where(EntryLine.account_id.in_(control_ids))
            )
        ).scalar_one()
    )
    ledger = dict(
        (
            await session.execute(
                select(EntryLine.supplier_id, net)
                .join(Entry, posted)
                .where(EntryLine.supplier_id.is_not(None))
                .group_by(EntryLine.supplier_id)
            )
        ).all()
    )
    codes = sorted((await session.execute(select(Account.code).where(Account.id.in_(control_ids)))).scalars())
    sub_total = sum(sub.values(), ZERO)
    if sub_total != ledger_total:
        problems.append(
            f"AP subledger {sub_total} differs from the payable account(s) {', '.join(codes)}: {ledger_total}"
        )
    names: dict[Any, str] = dict((await session.execute(select(Supplier.id, Supplier.code))).all())
    keys: set[Any] = set(sub) | set(ledger)
    for key in sorted(keys):
        s_amount, l_amount = sub.get(key, ZERO), Decimal(ledger.get(key, ZERO))
        if s_amount != l_amount:
            problems.append(
                f"supplier {names.get(key, key)} (#{key}): subledger {s_amount}"
                f" differs from its ledger lines {l_amount}"
            )

    # Each document's running totals equal its allocations and lines.
    bill_alloc = _allocated_total(Allocation.bill_id)
    for number, paid, allocated in (
        await session.execute(
            select(Bill.number, Bill.paid, func.coalesce(bill_alloc.c.amount, 0))
            .outerjoin(bill_alloc, bill_alloc.c.doc_id == Bill.id)
            .where(Bill.paid != func.coalesce(bill_alloc.c.amount, 0))
        )
    ).all():
        problems.append(f"bill {number}: paid {paid} but allocations add up to {allocated}")
    pay_alloc = _allocated_total(Allocation.payment_id)
    for number, allocated, total in (
        await session.execute(
            select(Payment.number, Payment.allocated, func.coalesce(pay_alloc.c.amount, 0))
            .outerjoin(pay_alloc, pay_alloc.c.doc_id == Payment.id)
            .where(Payment.direction == "out", Payment.allocated != func.coalesce(pay_alloc.c.amount, 0))
        )
    ).all():
        problems.append(f"payment {number}: allocated {allocated} but allocations add up to {total}")
    line_totals = (
        select(BillLine.bill_id, func.sum(BillLine.total_amount).label("amount"))
        .group_by(BillLine.bill_id)
        .subquery()
    )
    for number, total, lines in (
        await session.execute(
            select(Bill.number, Bill.total, func.coalesce(line_totals.c.amount, 0))
            .outerjoin(line_totals, line_totals.c.bill_id == Bill.id)
            .where(Bill.total != func.coalesce(line_totals.c.amount, 0))
        )
    ).all():
        problems.append(f"bill {number}: total {total} but its lines add up to {lines}")
    return problems


def _allocated_total(key: Any) -> Any:
    return (
        select(key.label("doc_id"), func.sum(Allocation.amount).label("amount"))
        .where(key.is_not(None))
        .group_by(key)
        .subquery()
    )
