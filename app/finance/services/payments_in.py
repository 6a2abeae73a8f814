"""Payments received from customers (FIN-2) and their allocation to invoices.

    payment = await receive_payment(session, principal, {
        "account_id": 42, "payment_date": "2026-12-12", "amount": "1500.00", "method": "bank_transfer",
        "reference": "招行 8812", "allocations": [{"invoice_id": 7, "amount": "1130.00"}]})
    await allocate(session, principal, payment.id, [{"invoice_id": 9, "amount": "370.00"}])

A receipt posts one entry in the receipts journal (收): Dr the bank or cash account (rule ``bank``
unless the user picks another of them) / Cr receivable with the customer as partner, for the
whole amount; ``source_type = "finance.payment"``, number ``RCV-YYYY-NNNNN``. What is not
allocated stays on the customer's account as a prepayment (a credit on the receivable) and is
allocated later by ``allocate`` — no new entry, the money is already on the receivable.

Every check is made before the first write: the customer exists, the currency is the base
currency (``currency_mismatch``), each allocation names a known invoice (``unknown_invoice``) of
this customer (``invoice_of_another_customer``), for no more than its open amount
(``payment_exceeds_open_amount``), and together no more than the payment has left
(``allocations_exceed_payment``). Rows are locked in one fixed order — the payment, then the
invoices by id — and open amounts are read after the locks, so concurrent payments and credit
notes never take an invoice below zero (the CHECK constraints of t0005 would refuse it anyway).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm import interface as crm
from app.finance import errors, events
from app.finance.models import Account, Allocation, Invoice, Payment
from app.finance.services.invoices import open_amount
from app.finance.services.money import money_accounts
from app.finance.services.numbering import next_number
from app.finance.services.posting import PostingLine, PostingRequest, post
from app.finance.services.receivables import (
    PAYMENT_SOURCE,
    ZERO,
    clean_amount,
    clean_day,
    finance_settings,
    raise_problems,
    tenant_today,
)
from app.finance.services.rules import account_code
from app.kernel.audit import audited
from app.kernel.errors import FieldError, NotFound
from app.kernel.i18n import lazy
from app.kernel.outbox import publish
from app.security.principal import Principal

METHODS = {
    "bank_transfer": lazy("Bank transfer"),
    "cheque": lazy("Cheque"),
    "cash": lazy("Cash"),
    "card": lazy("Card"),
    "online": lazy("Online payment"),
    "acceptance_bill": lazy("Bank acceptance bill"),
    "other": lazy("Other"),
}


async def bank_accounts(session: AsyncSession) -> list[Account]:
    """The accounts money can be received into (services/money.py)."""
    return await money_accounts(session)


def _id(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 18 else None


@dataclass(frozen=True)
class _Wanted:
    index: int
    invoice_id: int
    amount: Decimal


def _allocations(raw: Sequence[Mapping[str, Any]], problems: list[FieldError]) -> list[_Wanted]:
    out: list[_Wanted] = []
    seen: set[int] = set()
    for i, values in enumerate(raw):
        invoice_id = _id(values.get("invoice_id"))
        amount = clean_amount(values.get("amount"), f"allocations.{i}.amount", problems)
        if invoice_id is None:
            problems.append(FieldError(f"allocations.{i}.invoice_id", lazy("Choose an invoice.")))
        elif invoice_id in seen:
            problems.append(FieldError(f"allocations.{i}.invoice_id", lazy("This invoice is listed twice.")))
        else:
            seen.add(invoice_id)
            out.append(_Wanted(i, invoice_id, amount))
    return out


async def _locked_invoices(
    session: AsyncSession, wanted: list[_Wanted], account_id: int, currency: str
) -> dict[int, Invoice]:
    """The allocations' invoices locked ``FOR UPDATE`` in id order, each checked: it exists, is
    this customer's, and has at least the allocated amount open (read after the lock)."""
    if not wanted:
        return {}
    stmt = (
        select(Invoice)
        .where(Invoice.id.in_({w.invoice_id for w in wanted}))
        .order_by(Invoice.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    invoices = {i.id: i for i in (await session.execute(stmt)).scalars()}
    for w in sorted(wanted, key=lambda w: w.index):
        invoice = invoices.get(w.invoice_id)
        field = f"allocations.{w.index}"
        if invoice is None or invoice.kind != "invoice":
            raise errors.UnknownInvoice(f"{field}.invoice_id")
        if invoice.account_id != account_id:
            raise errors.InvoiceOfAnotherCustomer(f"{field}.invoice_id", invoice.number)
        if invoice.currency != currency:
            raise errors.DocumentCurrencyMismatch(invoice.currency, currency, field=f"{field}.invoice_id")
        if w.amount > open_amount(invoice):
            raise errors.PaymentExceedsOpenAmount(f"{field}.amount", invoice.number, open_amount(invoice))
    return invoices


def _apply(
    session: AsyncSession, payment: Payment, wanted: list[_Wanted], invoices: dict[int, Invoice], on: date
) -> list[dict[str, Any]]:
    """Write the allocations and move the amounts (the rows are locked)."""
    out = []
    for w in wanted:
        invoice = invoices[w.invoice_id]
        session.add(
            Allocation(
                payment_id=payment.id,
                invoice_id=invoice.id,
                amount=w.amount,
                # Money received before the invoice existed settles it when it is issued.
                allocated_on=max(on, invoice.issue_date),
            )
        )
        invoice.paid = Decimal(invoice.paid) + w.amount
        payment.allocated = Decimal(payment.allocated) + w.amount
        out.append(
            {
                "invoice_id": invoice.id,
                "number": invoice.number,
                "amount": str(w.amount),
                "open_amount": str(open_amount(invoice)),
            }
        )
    return out


def _payload(payment: Payment, allocations: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "payment_id": payment.id,
        "number": payment.number,
        "account_id": payment.account_id,
        "payment_date": payment.payment_date.isoformat(),
        "amount": str(payment.amount),
        "currency": payment.currency,
        "unallocated": str(Decimal(payment.amount) - Decimal(payment.allocated)),
        "entry_id": payment.entry_id,
        "allocations": allocations,
    }


async def receive_payment(
    session: AsyncSession, principal: Principal | None, data: Mapping[str, Any]
) -> Payment:
    """Record money received from a customer, post it, and allocate it to the listed invoices."""
    settings = await finance_settings(session)
    problems: list[FieldError] = []
    account_id = _id(data.get("account_id"))
    if account_id is None:
        problems.append(FieldError("account_id", lazy("Choose the customer.")))
    paid_on = clean_day(data.get("payment_date"), "payment_date", problems, default=tenant_today())
    amount = clean_amount(data.get("amount"), "amount", problems)
    currency = str(data.get("currency") or settings.base_currency).strip().upper()
    method = str(data.get("method") or "bank_transfer")
    if method not in METHODS:
        problems.append(FieldError("method", lazy("Choose how the money was paid.")))
    reference = " ".join(str(data.get("reference") or "").split()) or None
    if reference and len(reference) > 80:
        problems.append(FieldError("reference", lazy("Use at most {n} characters."), {"n": 80}))
    memo = str(data.get("memo") or "").strip()
    if len(memo) > 1000:
        problems.append(FieldError("memo", lazy("Use at most {n} characters."), {"n": 1000}))
    banks = {a.id: a for a in await bank_accounts(session)}
    raw_bank = data.get("bank_account_id")
    bank_id = None if raw_bank in (None, "") else (_id(raw_bank) or -1)  # not a number: no such account
    wanted = _allocations(list(data.get("allocations") or []), problems)
    raise_problems(problems)
    assert account_id is not None

    if currency != settings.base_currency:
        raise errors.DocumentCurrencyMismatch(currency, settings.base_currency)
    if not await crm.existing_account_ids(session, {account_id}):
        raise errors.UnknownCustomer()
    if bank_id is None:
        default = await account_code(session, "bank")
        bank = next((a for a in banks.values() if a.code == default), None)
        if bank is None:
            raise errors.NotABankAccount()
    elif bank_id in banks:
        bank = banks[bank_id]
    else:
        raise errors.NotABankAccount()
    allocated = sum((w.amount for w in wanted), ZERO)
    if allocated > amount:
        raise errors.AllocationsExceedPayment(allocated, amount)
    invoices = await _locked_invoices(session, wanted, account_id, currency)

    number = await next_number(session, "RCV", paid_on.year)
    async with audited(session, "finance.payment_received"):
        payment = Payment(
            direction="in",
            number=number,
            account_id=account_id,
            payment_date=paid_on,
            amount=amount,
            allocated=ZERO,
            currency=currency,
            method=method,
            reference=reference,
            bank_account_id=bank.id,
            memo=memo,
            created_by=principal.id if principal is not None and principal.kind == "user" else None,
        )
        session.add(payment)
        await session.flush()
        entry = await post(
            session,
            principal,
            PostingRequest(
                date=paid_on,
                journal="receipts",
                memo=" · ".join(x for x in (number, reference, memo[:100]) if x),
                source_type=PAYMENT_SOURCE,
                source_id=payment.id,
                lines=[
                    PostingLine(bank.code, debit=amount, memo=number),
                    PostingLine(
                        await account_code(session, "receivable"),
                        credit=amount,
                        partner_id=account_id,
                        memo=number,
                    ),
                ],
            ),
        )
        payment.entry_id = entry.id
        applied = _apply(session, payment, wanted, invoices, paid_on)
        await session.flush()
    await publish(session, events.PAYMENT_RECEIVED, _payload(payment, applied))
    return payment


async def lock_payment(session: AsyncSession, payment_id: int) -> Payment:
    stmt = (
        select(Payment)
        .where(Payment.id == payment_id, Payment.direction == "in")
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    payment = (await session.execute(stmt)).scalar_one_or_none()
    if payment is None:
        raise NotFound(lazy("payment"))
    return payment


async def allocate(
    session: AsyncSession,
    principal: Principal | None,
    payment_id: int,
    allocations: Sequence[Mapping[str, Any]],
    *,
    on: date | str | None = None,
) -> Payment:
    """Allocate what a receipt has left (its customer's prepayment) to open invoices, dated
    ``on`` (today by default). No entry: the money is already on the receivable."""
    payment = await lock_payment(session, payment_id)
    problems: list[FieldError] = []
    allocated_on = clean_day(on, "allocated_on", problems, default=tenant_today())
    if not problems and allocated_on < payment.payment_date:
        problems.append(FieldError("allocated_on", lazy("An allocation cannot be dated before its payment.")))
    wanted = _allocations(list(allocations), problems)
    if not wanted and not problems:
        problems.append(FieldError("allocations", lazy("Allocate an amount to at least one invoice.")))
    raise_problems(problems)
    left = Decimal(payment.amount) - Decimal(payment.allocated)
    total = sum((w.amount for w in wanted), ZERO)
    if total > left:
        raise errors.AllocationsExceedPayment(total, left)
    assert payment.account_id is not None
    invoices = await _locked_invoices(session, wanted, payment.account_id, payment.currency)
    async with audited(session, "finance.payment_allocated"):
        applied = _apply(session, payment, wanted, invoices, allocated_on)
        await session.flush()
    await publish(session, events.PAYMENT_ALLOCATED, _payload(payment, applied))
    return payment


# --- reading ----------------------------------------------------------------------------------


def payments_stmt(
    *, account_id: int | None = None, date_from: date | None = None, date_to: date | None = None,
    unallocated: bool = False,
) -> Any:  # fmt: skip
    stmt = select(Payment).where(Payment.direction == "in")
    if account_id is not None:
        stmt = stmt.where(Payment.account_id == account_id)
    if date_from is not None:
        stmt = stmt.where(Payment.payment_date >= date_from)
    if date_to is not None:
        stmt = stmt.where(Payment.payment_date <= date_to)
    if unallocated:
        stmt = stmt.where(Payment.allocated < Payment.amount)
    return stmt


async def get_payment(session: AsyncSession, payment_id: int) -> Payment:
    payment = await session.get(Payment, payment_id)
    if payment is None or payment.direction != "in":
        raise NotFound(lazy("payment"))
    return payment


async def allocations_of(session: AsyncSession, payment_id: int) -> list[tuple[Allocation, Invoice]]:
    stmt = (
        select(Allocation, Invoice)
        .join(Invoice, Invoice.id == Allocation.invoice_id)
        .where(Allocation.payment_id == payment_id)
        .order_by(Allocation.allocated_on, Allocation.id)
    )
    return [(a, i) for a, i in (await session.execute(stmt)).all()]


def unallocated(payment: Payment) -> Decimal:
    return Decimal(payment.amount) - Decimal(payment.allocated)
