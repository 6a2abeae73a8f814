"""Contracts (CRM-5): signed terms with an account, and the payment schedule that must add up.

contract = await create_contract(session, principal, {"title": "年度维保", "account_id": 7,
                                                     "value": "120000.00", "start_date": "2027-01-01"})
await generate_schedule(session, principal, contract.id, {"count": "4", "first_due_date": "2027-01-15",
                                                          "every_months": "3"})
await activate_contract(session, principal, contract.id)

Status: draft → active → completed, or terminated. The schedule's instalments always sum to the
contract's value when it is saved, and a contract cannot become active otherwise; equal
instalments are rounded down to the cent and the last one takes the residual cent(s).
Collections against instalments are in app/crm/services/collections.py.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.errors import InvalidState
from app.crm.models import Contract, PaymentInstalment, SalesOrder
from app.crm.services.accounts import get_account
from app.crm.services.calendar import tenant_today
from app.crm.services.fields import (
    CENT,
    clean_currency,
    clean_date,
    clean_int,
    clean_long_text,
    clean_money,
    clean_optional_id,
    clean_text,
)
from app.crm.services.numbering import next_number
from app.crm.services.opportunities import base_currency
from app.crm.services.orders import get_order
from app.crm.services.ownership import assignment_for
from app.kernel.audit import audited
from app.kernel.errors import FieldError, Forbidden, NotFound, ValidationFailed
from app.kernel.i18n import lazy, lazy_p
from app.security.permissions import CRM_CONTRACT_READ, CRM_CONTRACT_WRITE
from app.security.principal import Principal
from app.security.record_rules import can_write, get_visible, restrict

STATUS_LABELS = {
    "draft": lazy("Draft"),
    "active": lazy_p("contract", "Active"),
    "completed": lazy("Completed"),
    "terminated": lazy("Terminated"),
}
MAX_INSTALMENTS = 120
ZERO = Decimal("0.00")


def visible_contracts(principal: Principal) -> Select[Any]:
    return restrict(select(Contract), Contract, principal, CRM_CONTRACT_READ)


async def get_contract(session: AsyncSession, principal: Principal, contract_id: int) -> Contract:
    return await get_visible(session, Contract, contract_id, principal, CRM_CONTRACT_READ, lazy("contract"))


async def get_writable_contract(
    session: AsyncSession, principal: Principal, contract_id: int, *, lock: bool = False
) -> Contract:
    stmt = visible_contracts(principal).where(Contract.id == contract_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    contract = (await session.execute(stmt)).scalar_one_or_none()
    if contract is None:
        raise NotFound(lazy("contract"))
    if not can_write(contract, principal, CRM_CONTRACT_WRITE):
        raise Forbidden(lazy("You may view this contract but not change it."))
    return contract


async def instalments_of(session: AsyncSession, contract_id: int) -> list[PaymentInstalment]:
    stmt = (
        select(PaymentInstalment)
        .where(PaymentInstalment.contract_id == contract_id)
        .order_by(PaymentInstalment.due_date, PaymentInstalment.id)
    )
    return list((await session.execute(stmt)).scalars())


def _clean_terms(data: Mapping[str, Any], errors: list[FieldError], *, partial: bool) -> dict[str, Any]:
    """The fields that may change while a contract is active (title, end date, wording)."""
    out: dict[str, Any] = {}

    def present(key: str) -> bool:
        return not partial or key in data

    if present("title"):
        out["title"] = clean_text(data.get("title"), "title", errors, required=True, max_len=200)
    for key in ("start_date", "end_date", "signed_on"):
        if present(key):
            out[key] = clean_date(data.get(key), key, errors)
    if present("payment_terms"):
        out["payment_terms"] = clean_text(data.get("payment_terms"), "payment_terms", errors, max_len=200)
    if present("terms"):
        out["terms"] = clean_long_text(data.get("terms"), "terms", errors)
    return out


def _check_term(contract: Contract | None, values: dict[str, Any], errors: list[FieldError]) -> None:
    start = values.get("start_date", contract.start_date if contract else None)
    end = values.get("end_date", contract.end_date if contract else None)
    if start and end and end < start:
        errors.append(FieldError("end_date", "The end date must not be before the start date."))


async def create_contract(session: AsyncSession, principal: Principal, data: Mapping[str, Any]) -> Contract:
    errors: list[FieldError] = []
    values = _clean_terms(data, errors, partial=False)
    _check_term(None, values, errors)
    account_id = clean_optional_id(data.get("account_id"), "account_id", errors)
    order_id = clean_optional_id(data.get("sales_order_id"), "sales_order_id", errors)
    order: SalesOrder | None = None
    if order_id is not None:
        try:
            order = await get_order(session, principal, order_id)
        except NotFound:
            errors.append(FieldError("sales_order_id", "Choose an existing sales order."))
        else:
            if order.status == "cancelled":
                errors.append(FieldError("sales_order_id", "This order was cancelled."))
            account_id = account_id or order.account_id
            if order.account_id != account_id:
                errors.append(FieldError("sales_order_id", "Choose an order of this account."))
    if account_id is None:
        if not any(e.field == "account_id" for e in errors):
            errors.append(FieldError("account_id", "Choose the account."))
    else:
        try:
            await get_account(session, principal, account_id)
        except NotFound:
            errors.append(FieldError("account_id", "Choose an existing account."))
    value = clean_money(data.get("value"), "value", errors, default=order.total if order else None)
    currency = clean_currency(
        data.get("currency"), "currency", errors, order.currency if order else base_currency()
    )
    if order is not None and currency != order.currency:
        errors.append(FieldError("currency", "The order is in {currency}.", {"currency": order.currency}))
    owner = await assignment_for(
        session,
        principal,
        CRM_CONTRACT_WRITE,
        clean_optional_id(data.get("owner_id"), "owner_id", errors),
        errors,
    )
    if errors:
        raise ValidationFailed(errors)
    today = tenant_today()
    async with audited(session, "crm.contract_created"):
        contract = Contract(
            number=await next_number(session, "contract", today.year),
            account_id=account_id,
            sales_order_id=order.id if order else None,
            status="draft",
            value=value,
            currency=currency,
            owner_id=owner.owner_id,
            team_id=owner.team_id,
            **values,
        )
        session.add(contract)
    return contract


async def update_contract(
    session: AsyncSession, principal: Principal, contract_id: int, data: Mapping[str, Any]
) -> Contract:
    """Drafts change freely; an active contract keeps its value and currency (the schedule and
    the collections depend on them) but its wording and end date may change."""
    contract = await get_writable_contract(session, principal, contract_id, lock=True)
    if contract.status in ("completed", "terminated"):
        raise InvalidState("contract_closed", lazy("This contract is closed and can no longer change."))
    errors: list[FieldError] = []
    values = _clean_terms(data, errors, partial=True)
    _check_term(contract, values, errors)
    for key in ("value", "currency"):
        if key in data and contract.status != "draft":
            errors.append(FieldError(key, "The value and currency of an active contract are fixed."))
    if contract.status == "draft":
        if "value" in data:
            values["value"] = clean_money(data.get("value"), "value", errors)
        if "currency" in data:
            values["currency"] = clean_currency(data.get("currency"), "currency", errors, contract.currency)
    if "owner_id" in data:
        owner = await assignment_for(
            session,
            principal,
            CRM_CONTRACT_WRITE,
            clean_optional_id(data.get("owner_id"), "owner_id", errors),
            errors,
            default_to_actor=False,
        )
        values.update(owner_id=owner.owner_id, team_id=owner.team_id)
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.contract_updated"):
        for key, value in values.items():
            setattr(contract, key, value)
    return contract


# --- the payment schedule --------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """Same day ``months`` later, kept inside short months (31 Jan + 1 month = 28/29 Feb)."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def equal_instalments(value: Decimal, count: int) -> list[Decimal]:
    """``count`` amounts summing to ``value``: equal, rounded down to the cent, the residual on
    the last one (1000.00 / 3 → 333.33, 333.33, 333.34)."""
    share = (value / count).quantize(CENT, rounding=ROUND_DOWN)
    return [share] * (count - 1) + [value - share * (count - 1)]


async def _schedulable(session: AsyncSession, principal: Principal, contract_id: int) -> Contract:
    contract = await get_writable_contract(session, principal, contract_id, lock=True)
    if contract.status not in ("draft", "active"):
        raise InvalidState("contract_closed", lazy("This contract is closed and can no longer change."))
    return contract


async def generate_schedule(
    session: AsyncSession, principal: Principal, contract_id: int, data: Mapping[str, Any]
) -> list[PaymentInstalment]:
    """Replace the schedule by ``count`` equal instalments, the first on ``first_due_date``, then
    every ``every_months`` months. Refused once anything has been collected."""
    contract = await _schedulable(session, principal, contract_id)
    errors: list[FieldError] = []
    count = clean_int(data.get("count"), "count", errors, minimum=1, maximum=MAX_INSTALMENTS)
    first = clean_date(data.get("first_due_date"), "first_due_date", errors, required=True)
    every = clean_int(data.get("every_months"), "every_months", errors, minimum=1, maximum=24, default=1)
    value = Decimal(contract.value)
    if value <= 0:
        errors.append(FieldError("count", "Give the contract a value before scheduling its payments."))
    elif not errors and value / count < CENT:
        errors.append(FieldError("count", "Too many instalments for this value."))
    if errors or first is None:
        raise ValidationFailed(errors)
    existing = await instalments_of(session, contract.id)
    if any(i.collected > 0 for i in existing):
        raise InvalidState(
            "schedule_has_collections",
            lazy("Money has been collected on this schedule: edit the open instalments instead."),
        )
    async with audited(session, "crm.payment_schedule_generated"):
        for old in existing:
            await session.delete(old)
        await session.flush()
        rows = [
            PaymentInstalment(
                contract_id=contract.id,
                due_date=add_months(first, k * every),
                amount=amount,
                collected=ZERO,
                description="",
            )
            for k, amount in enumerate(equal_instalments(value, count))
        ]
        session.add_all(rows)
    return rows


async def save_schedule(
    session: AsyncSession, principal: Principal, contract_id: int, rows: Sequence[Mapping[str, Any]]
) -> list[PaymentInstalment]:
    """The schedule as edited by hand: each row is ``{"id"?, "due_date", "amount", "description"}``.
    Rows with an id change that instalment, rows without one are new, instalments not sent are
    removed (never one with money collected). The rows must add up to the contract value."""
    contract = await _schedulable(session, principal, contract_id)
    existing = {i.id: i for i in await instalments_of(session, contract.id)}
    errors: list[FieldError] = []
    cleaned: list[tuple[PaymentInstalment | None, dict[str, Any]]] = []
    if len(rows) > MAX_INSTALMENTS:
        raise ValidationFailed(
            [FieldError("instalments", "Use at most {n} instalments.", {"n": MAX_INSTALMENTS})]
        )
    for i, row in enumerate(rows):
        prefix = f"instalments[{i}]."
        local: list[FieldError] = []
        ident = clean_optional_id(row.get("id"), "id", local)
        current = existing.get(ident) if ident is not None else None
        if ident is not None and current is None:
            local.append(FieldError("id", "This instalment is not part of the contract."))
        due = clean_date(row.get("due_date"), "due_date", local, required=True)
        amount = clean_money(row.get("amount"), "amount", local, minimum=None, positive=True)
        description = clean_text(row.get("description"), "description", local, max_len=200)
        if current is not None and not local and amount < current.collected:
            local.append(
                FieldError(
                    "amount",
                    "{collected} is already collected on this instalment.",
                    {"collected": str(current.collected)},
                )
            )
        errors.extend(FieldError(prefix + e.field, e.message, e.params) for e in local)
        cleaned.append((current, {"due_date": due, "amount": amount, "description": description}))
    kept = {c.id for c, _ in cleaned if c is not None}
    for gone in (i for i in existing.values() if i.id not in kept):
        if gone.collected > 0:
            errors.append(
                FieldError(
                    "instalments",
                    "The instalment due {date} has money collected and cannot be removed.",
                    {"date": gone.due_date.isoformat()},
                )
            )
    if not errors:
        total = sum((v["amount"] for _, v in cleaned), ZERO)
        if total != contract.value:
            errors.append(
                FieldError(
                    "instalments",
                    "The instalments add up to {total}; the contract value is {value}.",
                    {"total": str(total), "value": str(contract.value)},
                )
            )
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.payment_schedule_changed"):
        for gone in (i for i in existing.values() if i.id not in kept):
            await session.delete(gone)
        result: list[PaymentInstalment] = []
        for current, values in cleaned:
            if current is None:
                current = PaymentInstalment(contract_id=contract.id, collected=ZERO, **values)
                session.add(current)
            else:
                for key, value in values.items():
                    setattr(current, key, value)
            result.append(current)
    return result


async def scheduled_total(session: AsyncSession, contract_id: int) -> Decimal:
    total = await session.scalar(
        select(func.coalesce(func.sum(PaymentInstalment.amount), 0)).where(
            PaymentInstalment.contract_id == contract_id
        )
    )
    return Decimal(total or 0)


# --- status ----------------------------------------------------------------------------------


async def activate_contract(session: AsyncSession, principal: Principal, contract_id: int) -> Contract:
    contract = await get_writable_contract(session, principal, contract_id, lock=True)
    if contract.status != "draft":
        raise InvalidState("contract_not_draft", lazy("Only draft contracts can be activated."))
    scheduled = await scheduled_total(session, contract.id)
    if scheduled != contract.value:
        raise InvalidState(
            "schedule_mismatch",
            lazy("The payment schedule adds up to {scheduled}, the contract value is {value}."),
            scheduled=str(scheduled.quantize(CENT)),
            value=str(contract.value),
        )
    async with audited(session, "crm.contract_activated"):
        contract.status = "active"
        contract.signed_on = contract.signed_on or tenant_today()
    return contract


async def complete_contract(session: AsyncSession, principal: Principal, contract_id: int) -> Contract:
    contract = await get_writable_contract(session, principal, contract_id, lock=True)
    if contract.status != "active":
        raise InvalidState("contract_not_active", lazy("Only active contracts can be completed."))
    open_amount = sum((i.amount - i.collected for i in await instalments_of(session, contract.id)), ZERO)
    if open_amount > 0:
        raise InvalidState(
            "contract_has_open_instalments",
            lazy("{amount} is still to be collected on this contract."),
            amount=f"{contract.currency} {open_amount}",
        )
    async with audited(session, "crm.contract_completed"):
        contract.status = "completed"
    return contract


async def terminate_contract(session: AsyncSession, principal: Principal, contract_id: int) -> Contract:
    """End a draft or active contract early; its open instalments are no longer chased."""
    contract = await get_writable_contract(session, principal, contract_id, lock=True)
    if contract.status not in ("draft", "active"):
        raise InvalidState("contract_closed", lazy("This contract is closed and can no longer change."))
    async with audited(session, "crm.contract_terminated"):
        contract.status = "terminated"
    return contract
