"""Payments to suppliers (FIN-3): money out of a bank or cash account, allocated to the
supplier's open bills in part or in full; what is not allocated stays on the supplier's account
as an advance (预付), allocated later with ``allocate_payment``.

    payment = await pay_supplier(session, principal, SupplierPaymentInput(
        supplier_id=7, payment_date=date(2026, 12, 20), amount=Decimal("5000.00"),
        allocations=[AllocationInput(bill_id=31, amount=Decimal("4068.00"))]))

The entry (journal "payments" 付, source ``finance.payment``) debits the payable account with the
whole amount, naming the supplier, and credits the bank account (posting rule ``bank`` unless
another cash or bank account is chosen).

Concurrency: rows are locked in one fixed order — the payment (when allocating an existing one),
then the bills by id — and open amounts are read only after the lock, so two payments of one
bill run one after the other and the second sees what the first took
(``payment_exceeds_open_amount``). The CHECK ``paid <= total`` on fin_bills backs this up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance import errors
from app.finance.models import Account, Allocation, Bill, Payment, Supplier
from app.finance.services import numbering, rules
from app.finance.services.bills import check_open_period
from app.finance.services.money import money_accounts
from app.finance.services.payables_input import Problems, tenant_today
from app.finance.services.posting import PostingLine, PostingRequest, post
from app.finance.services.setup import ensure_finance
from app.finance.services.suppliers import base_currency
from app.kernel.audit import audited
from app.kernel.errors import NotFound
from app.kernel.i18n import lazy
from app.security.principal import Principal

ZERO = Decimal("0.00")
METHODS = ("bank_transfer", "cash", "cheque", "card", "other")
MAX_ALLOCATIONS = 200


@dataclass
class AllocationInput:
    bill_id: int | str | None
    amount: Decimal | str


@dataclass
class SupplierPaymentInput:
    supplier_id: int | str | None
    payment_date: date | str | None
    amount: Decimal | str
    currency: str | None = None  # blank → the base currency (the only one accepted)
    method: str = "bank_transfer"
    reference: str | None = None  # the bank's transaction reference, a cheque number
    bank_account: str | None = None  # account code; blank → the posting rule "bank"
    memo: str = ""
    allocations: list[AllocationInput] = field(default_factory=list)


def _allocations(raw: Sequence[AllocationInput], problems: Problems) -> list[tuple[int, int, Decimal]]:
    """(position in the input, bill id, amount) per allocation; each bill at most once."""
    if len(raw) > MAX_ALLOCATIONS:
        problems.add(
            "too_many_allocations", "allocations", lazy("At most {n} bills per payment."), n=MAX_ALLOCATIONS
        )
        return []
    out: list[tuple[int, int, Decimal]] = []
    seen: set[int] = set()
    for i, a in enumerate(raw):
        bill_id = problems.record_id(
            a.bill_id, f"allocations.{i}.bill_id", "unknown_bill", lazy("Choose a bill of this supplier.")
        )
        amount = problems.money(a.amount, f"allocations.{i}.amount")
        if bill_id is not None and bill_id in seen:
            problems.add(
                "duplicate_allocation", f"allocations.{i}.bill_id", lazy("Allocate to each bill once.")
            )
        elif bill_id is not None and amount is not None:
            seen.add(bill_id)
            out.append((i, bill_id, amount))
    return out


async def _locked_bills(session: AsyncSession, ids: Sequence[int]) -> dict[int, Bill]:
    """The bills, locked ``FOR UPDATE`` in id order (the fixed lock order), freshly read."""
    if not ids:
        return {}
    rows = await session.execute(
        select(Bill)
        .where(Bill.id.in_(sorted(set(ids))))
        .order_by(Bill.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {b.id: b for b in rows.scalars()}


def _check_bills(
    wanted: list[tuple[int, int, Decimal]], bills: dict[int, Bill], supplier_id: int, problems: Problems
) -> None:
    """Each allocation names a bill of this supplier, not cancelled, with that much still open."""
    for i, bill_id, amount in wanted:
        bill = bills.get(bill_id)
        where = f"allocations.{i}."
        if bill is None:
            problems.add("unknown_bill", where + "bill_id", lazy("Choose a bill of this supplier."))
        elif bill.supplier_id != supplier_id:
            problems.add(
                "bill_of_another_supplier",
                where + "bill_id",
                lazy("The bill {number} is another supplier's."),
                number=bill.number,
            )
        elif bill.cancelled_on is not None:
            problems.add(
                "bill_cancelled",
                where + "bill_id",
                lazy("The bill {number} is cancelled."),
                number=bill.number,
            )
        elif amount > bill.total - bill.paid:
            problems.add(
                "payment_exceeds_open_amount",
                where + "amount",
                lazy("Only {open} of the bill {number} is still open."),
                open=str(bill.total - bill.paid),
                number=bill.number,
            )


async def pay_supplier(
    session: AsyncSession, principal: Principal | None, data: SupplierPaymentInput
) -> Payment:
    """Record and post a payment to a supplier with its allocations; returns it numbered
    (PAY-YYYY-NNNNN) with ``entry_id``. Refusals are raised before anything is written."""
    await ensure_finance(session)
    problems = Problems()
    supplier_id = problems.record_id(
        data.supplier_id, "supplier_id", "unknown_supplier", lazy("Choose a supplier.")
    )
    on = problems.date(data.payment_date, "payment_date", required=True)
    amount = problems.money(data.amount, "amount")
    currency = problems.currency(data.currency, "currency")
    method = problems.text(data.method, "method", max_len=20) or "bank_transfer"
    if method not in METHODS:
        problems.add("invalid_choice", "method", lazy("Choose one of the listed values."))
    reference = problems.optional_text(data.reference, "reference", max_len=80)
    memo = problems.text(data.memo, "memo", max_len=1000)
    bank_code = problems.text(data.bank_account, "bank_account", max_len=20)
    wanted = _allocations(data.allocations, problems)

    supplier = None
    if supplier_id is not None:
        supplier = (
            await session.execute(
                select(Supplier).where(Supplier.id == supplier_id).with_for_update(read=True, key_share=True)
            )
        ).scalar_one_or_none()
        if supplier is None:
            problems.add("unknown_supplier", "supplier_id", lazy("There is no such supplier."))
    base = await base_currency(session)
    if currency is not None and currency != base:
        problems.add(
            "currency_mismatch",
            "currency",
            lazy("Payments are made in {base}, the organisation's currency, not {currency}."),
            base=base,
            currency=currency,
        )
    bank_code = bank_code or await rules.account_code(session, "bank")
    bank = next((a for a in await money_accounts(session) if a.code == bank_code), None)
    if bank is None:
        problems.add(
            "not_a_bank_account",
            "bank_account",
            lazy("Pay from a bank or cash account; {account} is not one."),
            account=bank_code,
        )
    if amount is not None and sum((a for _, _, a in wanted), ZERO) > amount:
        problems.add(
            "allocations_exceed_payment",
            "allocations",
            lazy("The allocations add up to more than the payment ({amount})."),
            amount=str(amount),
        )
    problems.raise_if_any()
    assert supplier is not None
    assert on is not None
    assert amount is not None
    assert bank is not None

    bills = await _locked_bills(session, [b for _, b, _ in wanted])
    _check_bills(wanted, bills, supplier.id, problems)
    problems.raise_if_any()
    await check_open_period(session, on, "payment_date")

    try:
        async with session.begin_nested(), audited(session, "finance.supplier_paid"):
            payment = Payment(
                direction="out",
                number=await numbering.next_number(session, "PAY", on.year),
                supplier_id=supplier.id,
                payment_date=on,
                amount=amount,
                allocated=ZERO,
                currency=base,
                method=method,
                reference=reference,
                bank_account_id=bank.id,
                memo=memo,
                created_by=principal.id if principal is not None and principal.kind == "user" else None,
            )
            session.add(payment)
            await session.flush()
            # Settling at payment time: a bill dated after the payment is settled from its own date
            # (until then the money is an advance), so ageing at any date sees what was true then.
            _apply(session, payment, [(bills[b], a, max(on, bills[b].bill_date)) for _, b, a in wanted])
            payable = await rules.account_code(session, "payable")
            entry = await post(
                session,
                principal,
                PostingRequest(
                    date=on,
                    journal="payments",
                    memo=f"{payment.number} · {supplier.name}" + (f" · {reference}" if reference else ""),
                    source_type="finance.payment",
                    source_id=payment.id,
                    lines=[
                        PostingLine(payable, debit=amount, supplier_id=supplier.id, memo=supplier.name[:200]),
                        PostingLine(bank.code, credit=amount, memo=(reference or payment.number)[:200]),
                    ],
                ),
            )
            payment.entry_id = entry.id
    except errors.PostingRefused as exc:
        exc.errors = []  # they name the entry's lines, not the payment's fields
        raise
    return payment


def _apply(session: AsyncSession, payment: Payment, allocations: list[tuple[Bill, Decimal, date]]) -> None:
    for bill, amount, on in allocations:
        session.add(Allocation(payment_id=payment.id, bill_id=bill.id, amount=amount, allocated_on=on))
        bill.paid += amount
        payment.allocated += amount


async def get_payment(session: AsyncSession, payment_id: int, *, lock: bool = False) -> Payment:
    """A payment to a supplier (a customer's payment is not found here)."""
    stmt = select(Payment).where(Payment.id == payment_id, Payment.direction == "out")
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    payment = (await session.execute(stmt)).scalar_one_or_none()
    if payment is None:
        raise NotFound(lazy("supplier payment"))
    return payment


async def allocate_payment(
    session: AsyncSession,
    principal: Principal | None,
    payment_id: int,
    allocations: Sequence[AllocationInput],
    *,
    on: date | str | None = None,
) -> Payment:
    """Allocate what is still unallocated of a payment (an advance) to the supplier's open bills,
    dated ``on`` (default today; not before the payment or the bill, not in a closed period).
    Allocations do not post: the payment's entry already debited the supplier's payable."""
    payment = await get_payment(session, payment_id, lock=True)  # first the payment, then the bills
    problems = Problems()
    day = problems.date(on, "on") or tenant_today()
    wanted = _allocations(allocations, problems)
    if not wanted and not problems:
        problems.add("no_allocations", "allocations", lazy("Enter an amount for at least one bill."))
    unallocated = payment.amount - payment.allocated
    if sum((a for _, _, a in wanted), ZERO) > unallocated:
        problems.add(
            "allocations_exceed_payment",
            "allocations",
            lazy("Only {amount} of the payment is still unallocated."),
            amount=str(unallocated),
        )
    if day < payment.payment_date:
        problems.add(
            "allocation_before_payment", "on", lazy("An allocation cannot be dated before the payment.")
        )
    problems.raise_if_any()
    assert payment.supplier_id is not None

    bills = await _locked_bills(session, [b for _, b, _ in wanted])
    _check_bills(wanted, bills, payment.supplier_id, problems)
    for i, bill_id, _ in wanted:
        bill = bills.get(bill_id)
        if bill is not None and day < bill.bill_date:
            problems.add(
                "allocation_before_bill",
                f"allocations.{i}.bill_id",
                lazy("The bill {number} is dated after {date}: allocate on or after its date."),
                number=bill.number,
                date=day.isoformat(),
            )
    problems.raise_if_any()
    await check_open_period(session, day, "on")
    async with session.begin_nested(), audited(session, "finance.supplier_payment_allocated"):
        _apply(session, payment, [(bills[b], a, day) for _, b, a in wanted])
    return payment


def payments_stmt(
    *,
    supplier_id: int | None = None,
    q: str | None = None,
    unallocated: bool | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Select[Any]:
    """Payments to suppliers with their supplier: ``select(Payment, Supplier)``."""
    stmt = cast(Select[Any], select(Payment, Supplier).join(Supplier, Supplier.id == Payment.supplier_id))
    return filter_payments(
        stmt.where(Payment.direction == "out"),
        supplier_id=supplier_id,
        q=q,
        unallocated=unallocated,
        date_from=date_from,
        date_to=date_to,
    )


def filter_payments(
    stmt: Select[Any],
    *,
    supplier_id: int | None = None,
    q: str | None = None,
    unallocated: bool | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Select[Any]:
    if supplier_id is not None:
        stmt = stmt.where(Payment.supplier_id == supplier_id)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(
            or_(Payment.number.ilike(like), Payment.reference.ilike(like), Payment.memo.ilike(like))
        )
    if unallocated is True:
        stmt = stmt.where(Payment.allocated < Payment.amount)
    elif unallocated is False:
        stmt = stmt.where(Payment.allocated == Payment.amount)
    if date_from is not None:
        stmt = stmt.where(Payment.payment_date >= date_from)
    if date_to is not None:
        stmt = stmt.where(Payment.payment_date <= date_to)
    return stmt


@dataclass(frozen=True)
class PaymentDetail:
    payment: Payment
    supplier: Supplier
    bank_account: Account
    allocations: list[tuple[Allocation, Bill]]


async def payment_detail(session: AsyncSession, payment_id: int) -> PaymentDetail:
    payment = await get_payment(session, payment_id)
    supplier = await session.get(Supplier, payment.supplier_id)
    bank = await session.get(Account, payment.bank_account_id)
    assert supplier is not None
    assert bank is not None
    rows = (
        await session.execute(
            select(Allocation, Bill)
            .join(Bill, Bill.id == Allocation.bill_id)
            .where(Allocation.payment_id == payment.id)
            .order_by(Allocation.allocated_on, Allocation.id)
        )
    ).all()
    return PaymentDetail(payment, supplier, bank, [(a, b) for a, b in rows])


async def open_bills(session: AsyncSession, supplier_id: int) -> list[Bill]:
    """A supplier's bills with something still to pay, oldest due first."""
    stmt = (
        select(Bill)
        .where(Bill.supplier_id == supplier_id, Bill.cancelled_on.is_(None), Bill.paid < Bill.total)
        .order_by(Bill.due_date, Bill.id)
    )
    return list((await session.execute(stmt)).scalars())
