"""A sales order's status (CRM-4, INT-1/INT-2): draft → confirmed → fulfilled → invoiced, or cancelled.

await confirm_order(session, principal, order_id)   # publishes crm.sales_order_confirmed
await fulfil_order(session, principal, order_id)    # crm.sales_order_fulfilled
await cancel_order(session, principal, order_id, "客户取消")   # crm.sales_order_cancelled
await mark_invoiced(session, order_id, "INV-2026-00031")       # finance, through app/crm/interface.py

Each change locks the order row (SELECT ... FOR UPDATE) before it reads the status, so two
people confirming the same order at once produce one confirmation and one event: the second
waits for the first to commit, then finds the order confirmed and is refused. The event is
written in the same transaction as the status (the outbox), so finance and production see
exactly the confirmations that happened.

The status is the furthest step reached; each step also keeps its own timestamp, so an order
invoiced at confirmation (a finance setting) can still record its delivery later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.errors import InvalidState
from app.crm.events import SALES_ORDER_CANCELLED, SALES_ORDER_CONFIRMED, SALES_ORDER_FULFILLED
from app.crm.interface import notify_order_listeners
from app.crm.models import Account, Product, SalesOrder, SalesOrderLine
from app.crm.services.fields import clean_text
from app.crm.services.orders import STATUS_LABELS, get_writable_order, locked_order, order_lines
from app.kernel.audit import audited
from app.kernel.db import transaction_memo, utcnow
from app.kernel.errors import FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.kernel.outbox import publish
from app.security.permissions import CRM_ORDER_CONFIRM
from app.security.principal import Principal


def fixed(value: Decimal, places: int) -> str:
    """A decimal string with exactly ``places`` decimals ("2.000", "500.0000"): the event format."""
    return str(Decimal(value).quantize(Decimal(1).scaleb(-places)))


async def confirm_order(session: AsyncSession, principal: Principal, order_id: int) -> SalesOrder:
    order = await get_writable_order(session, principal, order_id, CRM_ORDER_CONFIRM, lock=True)
    if order.status == "cancelled":
        raise InvalidState("order_cancelled", lazy("This order was cancelled; it cannot be confirmed."))
    if order.status != "draft":
        raise InvalidState("order_already_confirmed", lazy("This order is already confirmed."))
    lines = await order_lines(session, order.id)
    if not lines:
        raise InvalidState("order_empty", lazy("Add at least one line before confirming the order."))
    account = await session.get(Account, order.account_id)
    async with audited(session, "crm.sales_order_confirmed", flush=False):
        order.status = "confirmed"
        order.confirmed_at = utcnow()
        if account is not None and account.lifecycle_stage == "prospect":
            account.lifecycle_stage = "customer"
    # The event goes out in the confirmation's own flush, before any listener takes a counter
    # (and a refusal rolls it back with everything else).
    with session.no_autoflush:  # the SKUs it names do not depend on the change
        payload = await confirmed_payload(session, order, lines, account)
    await publish(session, SALES_ORDER_CONFIRMED, payload)
    await session.flush()
    # Listeners work on this session: what they change of the order (finance marking it
    # invoiced) is on ``order`` itself (the order row is locked by this transaction, so they get
    # this very object back).
    await notify_order_listeners(session, principal, "confirmed", order.id)
    return order


_SKUS = select(Product.id, Product.sku).where(Product.id.in_(bindparam("ids", expanding=True)))


async def _skus(session: AsyncSession, product_ids: set[int]) -> dict[int, str]:
    """Product id → SKU, read once per transaction (the event and finance's reading of the order
    both name the SKUs)."""
    memo: dict[int, str] = transaction_memo(session).setdefault("crm.skus", {})
    missing = product_ids - memo.keys()
    if missing:
        rows = await session.execute(_SKUS, {"ids": sorted(missing)})
        memo.update({pid: sku for pid, sku in rows.all()})
    return {pid: memo[pid] for pid in product_ids if pid in memo}


async def confirmed_payload(
    session: AsyncSession, order: SalesOrder, lines: list[SalesOrderLine], account: Account | None
) -> dict[str, Any]:
    """Exactly the shape documented at SALES_ORDER_CONFIRMED in app/crm/events.py."""
    skus = await _skus(session, {line.product_id for line in lines if line.product_id is not None})
    return {
        "order_id": order.id,
        "number": order.number,
        "account_id": order.account_id,
        "account_name": account.name if account else "",
        "currency": order.currency,
        "order_date": order.order_date.isoformat(),
        "confirmed_at": order.confirmed_at.isoformat() if order.confirmed_at else None,
        "subtotal": fixed(order.subtotal, 2),
        "tax_total": fixed(order.tax_total, 2),
        "total": fixed(order.total, 2),
        "owner_id": order.owner_id,
        "requested_delivery_date": (
            order.requested_delivery_date.isoformat() if order.requested_delivery_date else None
        ),
        "lines": [
            {
                "line_id": line.id,
                "product_id": line.product_id,
                "sku": skus.get(line.product_id) if line.product_id is not None else None,
                "description": line.description,
                "quantity": fixed(line.quantity, 3),
                "unit": line.unit,
                "unit_price": fixed(line.unit_price, 4),
                "discount_percent": fixed(line.discount_percent, 2),
                "tax_rate": fixed(line.tax_rate, 2),
                "net_amount": fixed(line.net_amount, 2),
                "tax_amount": fixed(line.tax_amount, 2),
                "total_amount": fixed(line.total_amount, 2),
            }
            for line in lines
        ],
    }


async def fulfil_order(session: AsyncSession, principal: Principal, order_id: int) -> SalesOrder:
    """The goods are delivered / the service rendered. An order invoiced at confirmation keeps
    the status "invoiced" and records the delivery date."""
    order = await get_writable_order(session, principal, order_id, CRM_ORDER_CONFIRM, lock=True)
    if order.status not in ("confirmed", "invoiced") or order.fulfilled_at is not None:
        raise InvalidState(
            "order_not_fulfillable", lazy("Only confirmed orders not yet delivered can be fulfilled.")
        )
    async with audited(session, "crm.sales_order_fulfilled"):
        order.fulfilled_at = utcnow()
        if order.status == "confirmed":
            order.status = "fulfilled"
    await session.flush()
    await notify_order_listeners(session, principal, "fulfilled", order.id)
    await publish(
        session,
        SALES_ORDER_FULFILLED,
        {"order_id": order.id, "number": order.number, "account_id": order.account_id},
    )
    return order


async def cancel_order(
    session: AsyncSession, principal: Principal, order_id: int, reason: object
) -> SalesOrder:
    """Cancel a draft or confirmed order, with the reason. Delivered or invoiced orders are not
    cancelled here: they need a return or a credit note."""
    order = await get_writable_order(session, principal, order_id, CRM_ORDER_CONFIRM, lock=True)
    errors: list[FieldError] = []
    text = clean_text(reason, "reason", errors, required=True, max_len=200)
    if order.status not in ("draft", "confirmed"):
        raise InvalidState(
            "order_not_cancellable",
            lazy("Only draft or confirmed orders can be cancelled; invoiced ones need a credit note."),
        )
    if errors:
        raise ValidationFailed(errors)
    was = order.status
    async with audited(session, "crm.sales_order_cancelled"):
        order.status = "cancelled"
        order.cancelled_at = utcnow()
        order.cancel_reason = text
    await publish(
        session,
        SALES_ORDER_CANCELLED,
        {
            "order_id": order.id,
            "number": order.number,
            "account_id": order.account_id,
            "reason": text,
            "was": was,
        },
    )
    return order


async def mark_invoiced(session: AsyncSession, order_id: int, invoice_ref: str) -> SalesOrder:
    """Finance issued the invoice (no record rules: a context acts, not a person). Idempotent:
    the same reference again changes nothing, so a redelivered event is harmless."""
    order = await locked_order(session, order_id)
    if order is None:
        raise NotFound(lazy("sales order"))
    ref = " ".join(str(invoice_ref or "").split())
    if not ref or len(ref) > 80:
        raise ValidationFailed(
            [FieldError("invoice_ref", "Give the invoice number (at most 80 characters).")]
        )
    if order.status == "invoiced":
        if order.invoice_ref == ref:
            return order
        raise InvalidState(
            "order_already_invoiced",
            lazy("This order is already invoiced as {ref}."),
            ref=order.invoice_ref or "",
        )
    if order.status not in ("confirmed", "fulfilled"):
        raise InvalidState(
            "order_not_invoiceable", lazy("Only confirmed or fulfilled orders can be invoiced.")
        )
    # Not flushed here: finance's invoice, this change and their events go in one flush.
    async with audited(session, "crm.sales_order_invoiced", flush=False):
        order.status = "invoiced"
        order.invoiced_at = utcnow()
        order.invoice_ref = ref
    return order


# --- the status timeline the rep sees --------------------------------------------------------


@dataclass(frozen=True)
class Step:
    status: str
    label: str  # English msgid
    at: datetime | None
    state: str  # "done" | "current" | "todo"
    note: str | None = None


def timeline(order: SalesOrder) -> list[Step]:
    """Created → confirmed → fulfilled → invoiced, with the moment of each; a cancelled order
    ends with its cancellation (and the reason)."""
    reached = {
        "draft": order.created_at,
        "confirmed": order.confirmed_at,
        "fulfilled": order.fulfilled_at,
        "invoiced": order.invoiced_at,
    }
    steps: list[Step] = []
    for status in ("draft", "confirmed", "fulfilled", "invoiced"):
        at = reached[status]
        if at is None and order.status == "cancelled":
            continue  # never reached
        state = ("current" if status == order.status else "done") if at is not None else "todo"
        label = lazy("Created") if status == "draft" else STATUS_LABELS[status]
        note = order.invoice_ref if status == "invoiced" else None
        steps.append(Step(status, label, at, state, note))
    if order.status == "cancelled":
        steps.append(
            Step("cancelled", STATUS_LABELS["cancelled"], order.cancelled_at, "current", order.cancel_reason)
        )
    return steps


async def order_document(session: AsyncSession, order_id: int, *, lock: bool = False) -> dict[str, Any]:
    """The order as other contexts read it (app/crm/interface.py ``sales_order_for_finance``);
    ``lock`` takes its row ``FOR UPDATE`` first (the lock every status change takes)."""
    if lock:
        order = await locked_order(session, order_id)
    else:
        order = await session.get(SalesOrder, order_id, populate_existing=True)
    if order is None:
        raise NotFound(lazy("sales order"))
    lines = await order_lines(session, order.id)
    account = await session.get(Account, order.account_id)

    def moment(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    payload = await confirmed_payload(session, order, lines, account)
    payload.update(
        status=order.status,
        discount_total=fixed(order.discount_total, 2),
        invoice_ref=order.invoice_ref,
        customer_reference=order.customer_reference,
        fulfilled_at=moment(order.fulfilled_at),
        invoiced_at=moment(order.invoiced_at),
        cancelled_at=moment(order.cancelled_at),
    )
    return payload
