"""Sales orders (CRM-4): create one directly or from a quote, and edit it while it is a draft.

order = await create_order(session, principal, {"account_id": 7, "lines": [{"product_id": 3, "quantity": 2}]})
order = await create_order_from_quote(session, principal, quote_id)     # the quote becomes "ordered"
await add_order_line(session, principal, order.id, {"product_id": 4, "quantity": "1"})

The status changes (confirm, fulfil, cancel, invoiced) and the events they publish are in
app/crm/services/order_status.py. Lines are frozen from confirmation on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.errors import InvalidState
from app.crm.models import Account, Contact, Quote, SalesOrder, SalesOrderLine
from app.crm.services.calendar import tenant_today
from app.crm.services.fields import (
    clean_date,
    clean_long_text,
    clean_optional_id,
    clean_optional_text,
)
from app.crm.services.lines import LineKind, Pricing, apply_totals
from app.crm.services.numbering import next_number
from app.crm.services.ownership import assignment_for
from app.crm.services.quotes import clean_lines, clean_parties, clean_pricing, get_writable_quote, quote_lines
from app.kernel.audit import audited
from app.kernel.db import transaction_memo
from app.kernel.errors import FieldError, Forbidden, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.security.permissions import CRM_ORDER_READ, CRM_ORDER_WRITE
from app.security.principal import Principal
from app.security.record_rules import can_write, get_visible, restrict

STATUS_LABELS = {
    "draft": lazy("Draft"),
    "confirmed": lazy("Confirmed"),
    "fulfilled": lazy("Fulfilled"),
    "invoiced": lazy("Invoiced"),
    "cancelled": lazy("Cancelled"),
}
_LINE_COLUMNS = (
    "position", "product_id", "description", "quantity", "unit", "unit_price", "discount_percent",
    "tax_rate", "net_amount", "discount_amount", "tax_amount", "total_amount",
)  # fmt: skip


class OrderLocked(InvalidState):
    def __init__(self) -> None:
        super().__init__(
            "order_locked", lazy("Only draft orders can be changed: a confirmed order keeps its lines.")
        )


def visible_orders(principal: Principal) -> Select[Any]:
    return restrict(select(SalesOrder), SalesOrder, principal, CRM_ORDER_READ)


async def get_order(session: AsyncSession, principal: Principal, order_id: int) -> SalesOrder:
    return await get_visible(session, SalesOrder, order_id, principal, CRM_ORDER_READ, lazy("sales order"))


async def get_writable_order(
    session: AsyncSession,
    principal: Principal,
    order_id: int,
    permission: str = CRM_ORDER_WRITE,
    *,
    lock: bool = False,
) -> SalesOrder:
    """Visible (else 404) and inside ``permission``'s scope (else 403). ``lock`` takes the row lock
    (SELECT ... FOR UPDATE) so two people changing one order queue instead of both succeeding."""
    stmt = visible_orders(principal).where(SalesOrder.id == order_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    order = (await session.execute(stmt)).scalar_one_or_none()
    if order is None:
        raise NotFound(lazy("sales order"))
    if lock:
        _locked(session).add(order.id)
    if not can_write(order, principal, permission):
        raise Forbidden(lazy("You may view this order but not change it."))
    return order


def _locked(session: AsyncSession) -> set[int]:
    locked: set[int] = transaction_memo(session).setdefault("crm.locked_orders", set())
    return locked


async def locked_order(session: AsyncSession, order_id: int) -> SalesOrder | None:
    """The order with its row locked ``FOR UPDATE`` (no record rules: a context acts). An order
    this transaction has locked already is answered from the session without a statement: while
    the lock is held nobody else can change it, and this session's own changes are on the
    object (finance invoicing the order that confirming it just locked)."""
    if order_id in _locked(session):
        held = await session.get(SalesOrder, order_id)
        if held is not None:
            return held
    order = (await session.execute(_LOCK_ORDER, {"order_id": order_id})).scalar_one_or_none()
    if order is not None:
        _locked(session).add(order.id)
    return order


_LOCK_ORDER = (  # built once: compiled and cache-keyed once
    select(SalesOrder)
    .where(SalesOrder.id == bindparam("order_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


async def order_lines(session: AsyncSession, order_id: int) -> list[SalesOrderLine]:
    return cast(list[SalesOrderLine], await ORDER_LINES.of(session, order_id))


def _clean_details(
    data: Mapping[str, Any], errors: list[FieldError], *, partial: bool, order_date: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def present(key: str) -> bool:
        return not partial or key in data

    if present("requested_delivery_date"):
        wanted = clean_date(data.get("requested_delivery_date"), "requested_delivery_date", errors)
        if wanted is not None and order_date is not None and wanted < order_date:
            errors.append(
                FieldError("requested_delivery_date", "The delivery date must not be before the order date.")
            )
        out["requested_delivery_date"] = wanted
    if present("customer_reference"):
        out["customer_reference"] = clean_optional_text(
            data.get("customer_reference"), "customer_reference", errors, max_len=80
        )
    if present("shipping_address"):
        out["shipping_address"] = (
            clean_long_text(data.get("shipping_address"), "shipping_address", errors, max_len=1000) or None
        )
    if present("notes"):
        out["notes"] = clean_long_text(data.get("notes"), "notes", errors, max_len=5000)
    return out


async def create_order(session: AsyncSession, principal: Principal, data: Mapping[str, Any]) -> SalesOrder:
    errors: list[FieldError] = []
    parties = await clean_parties(session, principal, data, errors)
    opportunity = parties["opportunity"]
    order_date = clean_date(data.get("order_date"), "order_date", errors) or tenant_today()
    currency, price_list_id = await clean_pricing(
        session, data, errors, order_date, opportunity.currency if opportunity else None
    )
    details = _clean_details(data, errors, partial=False, order_date=order_date)
    owner = await assignment_for(
        session,
        principal,
        CRM_ORDER_WRITE,
        clean_optional_id(data.get("owner_id"), "owner_id", errors),
        errors,
    )
    lines = await clean_lines(session, data.get("lines"), errors, Pricing(currency, price_list_id))
    account: Account | None = parties["account"]
    if errors or account is None:
        raise ValidationFailed(errors)
    if details["shipping_address"] is None:
        details["shipping_address"] = account.address
    rows = [SalesOrderLine(position=i, **v) for i, v in enumerate(lines, start=1)]
    async with audited(session, "crm.sales_order_created"):
        order = SalesOrder(
            number=await next_number(session, "sales_order", order_date.year),
            account_id=account.id,
            contact_id=parties["contact_id"],
            opportunity_id=opportunity.id if opportunity else None,
            price_list_id=price_list_id,
            currency=currency,
            order_date=order_date,
            status="draft",
            owner_id=owner.owner_id,
            team_id=owner.team_id,
            **details,
        )
        apply_totals(order, rows)  # written with the order, not updated after its lines
        session.add(order)
        await session.flush()
        for row in rows:
            row.order_id = order.id
        session.add_all(rows)
    ORDER_LINES.remember(session, order.id, rows)
    return order


async def create_order_from_quote(session: AsyncSession, principal: Principal, quote_id: int) -> SalesOrder:
    """A draft order with the quote's account, prices and lines; the quote becomes "ordered".
    The quote is locked first, so two clicks cannot make two orders of one quote."""
    quote: Quote = await get_writable_quote(session, principal, quote_id, lock=True)
    if quote.status not in ("sent", "accepted"):
        raise InvalidState(
            "quote_not_orderable", lazy("Only sent or accepted quotes can become a sales order.")
        )
    today = tenant_today()
    if quote.status == "sent" and quote.valid_until is not None and quote.valid_until < today:
        raise InvalidState(
            "quote_expired",
            lazy("This quote was valid until {date}. Take it back to draft and send it again."),
            date=quote.valid_until.isoformat(),
        )
    source_lines = await quote_lines(session, quote.id)
    if not source_lines:
        raise InvalidState("quote_empty", lazy("Add at least one line before ordering."))
    account = await session.get(Account, quote.account_id)
    async with audited(session, "crm.sales_order_created"):
        order = SalesOrder(
            number=await next_number(session, "sales_order", today.year),
            account_id=quote.account_id,
            contact_id=quote.contact_id,
            quote_id=quote.id,
            opportunity_id=quote.opportunity_id,
            price_list_id=quote.price_list_id,
            currency=quote.currency,
            order_date=today,
            status="draft",
            notes=quote.notes,
            shipping_address=account.address if account else None,
            owner_id=quote.owner_id,
            team_id=quote.team_id,
        )
        rows = [SalesOrderLine(**{c: getattr(line, c) for c in _LINE_COLUMNS}) for line in source_lines]
        apply_totals(order, rows)  # written with the order, not updated after its lines
        session.add(order)
        await session.flush()
        for row in rows:
            row.order_id = order.id
        session.add_all(rows)
        quote.status = "ordered"
    ORDER_LINES.remember(session, order.id, rows)
    return order


async def _draft(session: AsyncSession, principal: Principal, order_id: int) -> SalesOrder:
    order = await get_writable_order(session, principal, order_id, lock=True)
    if order.status != "draft":
        raise OrderLocked()
    return order


async def update_order(
    session: AsyncSession, principal: Principal, order_id: int, data: Mapping[str, Any]
) -> SalesOrder:
    """A draft's delivery date, customer reference, address, contact and notes."""
    order = await _draft(session, principal, order_id)
    errors: list[FieldError] = []
    values = _clean_details(data, errors, partial=True, order_date=order.order_date)
    if "contact_id" in data:
        contact_id = clean_optional_id(data.get("contact_id"), "contact_id", errors)
        if contact_id is not None:
            contact = await session.get(Contact, contact_id)
            if contact is None or contact.account_id != order.account_id:
                errors.append(FieldError("contact_id", "Choose a contact of this account."))
        values["contact_id"] = contact_id
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.sales_order_updated"):
        for key, value in values.items():
            setattr(order, key, value)
    return order


ORDER_LINES = LineKind(SalesOrderLine, SalesOrderLine.order_id, lazy("order line"), "crm.sales_order_line")


async def add_order_line(
    session: AsyncSession, principal: Principal, order_id: int, data: Mapping[str, Any]
) -> SalesOrderLine:
    order = await _draft(session, principal, order_id)
    return cast(SalesOrderLine, await ORDER_LINES.add(session, order, data))


async def get_order_line(
    session: AsyncSession, principal: Principal, line_id: int
) -> tuple[SalesOrder, SalesOrderLine]:
    """A line and its order, for a reader who may see the order (a hidden order is a 404)."""
    line = cast(SalesOrderLine, await ORDER_LINES.find(session, line_id))
    return await get_order(session, principal, line.order_id), line


async def update_order_line(
    session: AsyncSession, principal: Principal, order_id: int, line_id: int, data: Mapping[str, Any]
) -> SalesOrderLine:
    order = await _draft(session, principal, order_id)
    line = await ORDER_LINES.get(session, order, line_id)
    return cast(SalesOrderLine, await ORDER_LINES.change(session, order, line, data))


async def remove_order_line(session: AsyncSession, principal: Principal, order_id: int, line_id: int) -> None:
    order = await _draft(session, principal, order_id)
    await ORDER_LINES.remove(session, order, await ORDER_LINES.get(session, order, line_id))
