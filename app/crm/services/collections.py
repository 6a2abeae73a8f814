"""Collections (CRM-5): money received against contract instalments, what is due and overdue,
and the daily reminders to each contract's owner.

await record_collection(session, principal, instalment_id,
                        {"amount": "5000.00", "received_on": "2027-01-16", "reference": "招行 8812"})
board = await collection_board(session, principal, today)   # due in 30 days / overdue, per rep
invoices = await account_receivables(session, principal, account_id)   # open invoices (FIN-2)

An instalment's status is derived, never stored: paid when fully collected, overdue when its due
date has passed with money open, partially paid when something came in, pending otherwise.
Instalments follow their contract's record rules.

Customer invoices are finance's (FIN-2): the board also shows the open invoices of the accounts
the reader may see (record rules on accounts), read through ``app.crm.interface.open_receivables``
— overdue ones and those due within the same horizon, per account owner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.errors import InvalidState
from app.crm.interface import OpenReceivable, has_receivables, open_receivables
from app.crm.models import Account, Collection, Contract, PaymentInstalment
from app.crm.services.calendar import tenant_today
from app.crm.services.contracts import get_writable_contract, visible_contracts
from app.crm.services.fields import clean_choice, clean_date, clean_money, clean_optional_text
from app.crm.services.visibility import visible_account_ids
from app.kernel.audit import audited
from app.kernel.errors import FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy, lazy_p
from app.security.permissions import CRM_ORDER_READ, FIN_RECEIVABLE_READ
from app.security.principal import Principal

STATUS_LABELS = {
    "pending": lazy_p("instalment", "Pending"),
    "partially_paid": lazy("Partially paid"),
    "paid": lazy("Paid"),
    "overdue": lazy("Overdue"),
}
METHODS = {
    "bank_transfer": lazy("Bank transfer"),
    "cheque": lazy("Cheque"),
    "cash": lazy("Cash"),
    "card": lazy("Card"),
    "online": lazy("Online payment"),
    "other": lazy("Other"),
}
HORIZON_DAYS = 30
ZERO = Decimal("0.00")


def instalment_status(instalment: PaymentInstalment, today: date) -> str:
    if instalment.collected >= instalment.amount:
        return "paid"
    if instalment.due_date < today:
        return "overdue"
    if instalment.collected > 0:
        return "partially_paid"
    return "pending"


def open_amount(instalment: PaymentInstalment) -> Decimal:
    return Decimal(instalment.amount) - Decimal(instalment.collected)


async def collections_of(session: AsyncSession, contract_id: int) -> list[Collection]:
    stmt = (
        select(Collection)
        .join(PaymentInstalment, PaymentInstalment.id == Collection.instalment_id)
        .where(PaymentInstalment.contract_id == contract_id)
        .order_by(Collection.received_on.desc(), Collection.id.desc())
    )
    return list((await session.execute(stmt)).scalars())


async def record_collection(
    session: AsyncSession, principal: Principal, instalment_id: int, data: Mapping[str, Any]
) -> Collection:
    """Money received on an instalment of an active contract; never more than is still open."""
    instalment = await session.get(PaymentInstalment, instalment_id)
    if instalment is None:
        raise NotFound(lazy("instalment"))
    contract = await get_writable_contract(session, principal, instalment.contract_id, lock=True)
    if contract.status != "active":
        raise InvalidState("contract_not_active", lazy("Collections are recorded on active contracts only."))
    # The contract lock serialises collections on it, so two receipts cannot both fit the open amount.
    await session.refresh(instalment)
    errors: list[FieldError] = []
    amount = clean_money(data.get("amount"), "amount", errors, minimum=None, positive=True)
    received_on = clean_date(data.get("received_on"), "received_on", errors) or tenant_today()
    if received_on > tenant_today():
        errors.append(FieldError("received_on", "A collection cannot be received in the future."))
    method = clean_choice(data.get("method"), "method", errors, list(METHODS), default="bank_transfer")
    reference = clean_optional_text(data.get("reference"), "reference", errors, max_len=80)
    remaining = open_amount(instalment)
    if not errors and amount > remaining:
        errors.append(
            FieldError(
                "amount",
                "More than the open amount of {open} {currency}.",
                {"open": str(remaining), "currency": contract.currency},
            )
        )
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.collection_recorded"):
        collection = Collection(
            instalment_id=instalment.id,
            amount=amount,
            received_on=received_on,
            method=method,
            reference=reference,
            user_id=principal.id if principal.kind == "user" else None,
        )
        session.add(collection)
        instalment.collected = Decimal(instalment.collected) + amount
    return collection


# --- what is due and overdue -----------------------------------------------------------------


@dataclass
class DueItem:
    instalment: PaymentInstalment
    contract: Contract
    account_name: str
    status: str

    @property
    def open(self) -> Decimal:
        return open_amount(self.instalment)


@dataclass
class RepTotals:
    owner_id: int | None
    overdue: dict[str, Decimal] = field(default_factory=dict)  # currency → open amount
    due: dict[str, Decimal] = field(default_factory=dict)
    count: int = 0


@dataclass
class InvoiceDue:
    """An open customer invoice on the board, with its account's name and owner."""

    invoice: OpenReceivable
    account_name: str
    owner_id: int | None
    overdue: bool


@dataclass
class CollectionBoard:
    today: date
    horizon: date
    overdue: list[DueItem]
    due: list[DueItem]
    overdue_totals: dict[str, Decimal]
    due_totals: dict[str, Decimal]
    reps: list[RepTotals]
    invoices_overdue: list[InvoiceDue] = field(default_factory=list)
    invoices_due: list[InvoiceDue] = field(default_factory=list)
    invoice_overdue_totals: dict[str, Decimal] = field(default_factory=dict)
    invoice_due_totals: dict[str, Decimal] = field(default_factory=dict)
    shows_invoices: bool = False


def _add(totals: dict[str, Decimal], currency: str, amount: Decimal) -> None:
    totals[currency] = totals.get(currency, ZERO) + amount


async def collection_board(
    session: AsyncSession,
    principal: Principal,
    today: date | None = None,
    *,
    owner_id: int | None = None,
    days: int = HORIZON_DAYS,
) -> CollectionBoard:
    """Open instalments of the active contracts the principal may see: overdue ones, and those
    due within ``days``, with totals per currency overall and per rep (the contract owner)."""
    today = today or tenant_today()
    horizon = today + timedelta(days=days)
    contracts = visible_contracts(principal).where(Contract.status == "active")
    if owner_id is not None:
        contracts = contracts.where(Contract.owner_id == owner_id)
    sub = contracts.subquery()
    stmt = (
        select(PaymentInstalment, Contract, Account.name)
        .join(sub, sub.c.id == PaymentInstalment.contract_id)
        .join(Contract, Contract.id == PaymentInstalment.contract_id)
        .join(Account, Account.id == Contract.account_id)
        .where(PaymentInstalment.collected < PaymentInstalment.amount, PaymentInstalment.due_date <= horizon)
        .order_by(PaymentInstalment.due_date, PaymentInstalment.id)
    )
    board = CollectionBoard(today, horizon, [], [], {}, {}, [])
    reps: dict[int | None, RepTotals] = {}
    for instalment, contract, account_name in (await session.execute(stmt)).all():
        item = DueItem(instalment, contract, account_name, instalment_status(instalment, today))
        rep = reps.setdefault(contract.owner_id, RepTotals(contract.owner_id))
        rep.count += 1
        if item.status == "overdue":
            board.overdue.append(item)
            _add(board.overdue_totals, contract.currency, item.open)
            _add(rep.overdue, contract.currency, item.open)
        else:
            board.due.append(item)
            _add(board.due_totals, contract.currency, item.open)
            _add(rep.due, contract.currency, item.open)
    board.reps = sorted(reps.values(), key=lambda r: (r.owner_id is None, r.owner_id or 0))
    await _add_invoices(session, principal, board, owner_id)
    return board


def reads_receivables(principal: Principal) -> bool:
    """Who sees customer invoices in CRM: readers of orders or of receivables."""
    return has_receivables() and (principal.can(CRM_ORDER_READ) or principal.can(FIN_RECEIVABLE_READ))


async def _add_invoices(
    session: AsyncSession, principal: Principal, board: CollectionBoard, owner_id: int | None
) -> None:
    """The open invoices of the visible accounts (of ``owner_id``'s accounts when given), overdue
    or due by the horizon."""
    if not reads_receivables(principal):
        return
    board.shows_invoices = True
    accounts = visible_account_ids(principal)
    if owner_id is not None:
        accounts = accounts.where(Account.owner_id == owner_id)
    items = await open_receivables(session, accounts, due_by=board.horizon)
    if not items:
        return
    rows = await session.execute(
        select(Account.id, Account.name, Account.owner_id).where(
            Account.id.in_({i.account_id for i in items})
        )
    )
    who = {ident: (name, owner) for ident, name, owner in rows.all()}
    for item in items:
        name, owner = who.get(item.account_id, ("", None))
        late = item.due_on < board.today
        due = InvoiceDue(item, name, owner, late)
        if late:
            board.invoices_overdue.append(due)
            _add(board.invoice_overdue_totals, item.currency, item.open_amount)
        else:
            board.invoices_due.append(due)
            _add(board.invoice_due_totals, item.currency, item.open_amount)


async def account_receivables(
    session: AsyncSession, principal: Principal, account_id: int
) -> list[OpenReceivable] | None:
    """The open invoices of one account the principal may see, by due date (None when the
    principal does not read receivables in CRM, or no context supplies them)."""
    if not reads_receivables(principal):
        return None
    accounts = visible_account_ids(principal).where(Account.id == account_id)
    return await open_receivables(session, accounts)


# --- reminders (app/crm/jobs/sales.py) -------------------------------------------------------

REMIND_DAYS_BEFORE = 3


def reminders_due(today: date) -> Any:
    """Open instalments of active contracts with an owner that need a reminder today: due
    within 3 days without a due reminder yet, or overdue without an overdue reminder yet."""
    return (
        select(PaymentInstalment, Contract, Account.name)
        .join(Contract, Contract.id == PaymentInstalment.contract_id)
        .join(Account, Account.id == Contract.account_id)
        .where(
            Contract.status == "active",
            Contract.owner_id.is_not(None),
            PaymentInstalment.collected < PaymentInstalment.amount,
            or_(
                and_(
                    PaymentInstalment.due_date >= today,
                    PaymentInstalment.due_date <= today + timedelta(days=REMIND_DAYS_BEFORE),
                    PaymentInstalment.due_reminder_sent_on.is_(None),
                ),
                and_(
                    PaymentInstalment.due_date < today, PaymentInstalment.overdue_reminder_sent_on.is_(None)
                ),
            ),
        )
        .order_by(PaymentInstalment.due_date, PaymentInstalment.id)
        # Two runs at once (a redelivered message) split the rows instead of both sending.
        .with_for_update(of=PaymentInstalment, skip_locked=True)
    )
