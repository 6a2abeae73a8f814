"""What the customer portal shows and accepts (CRM-12) — always one customer account's records.

The record rule for customers is their account (``CustomerScope.account_id``, from
``customer_account_id``): every statement here filters on it, and a record of another account
is NotFound, exactly like a record that does not exist. Draft orders are the seller's work in
progress and stay hidden; internal ticket notes never leave the service team.

    me = await current_customer(session, principal)          # app/crm/services/portal_access.py
    page = await fetch_page(session, orders_query(me), ORDERS, query)
    order = await get_order(session, me, order_id)            # NotFound for another account's
    ticket = await open_customer_ticket(session, principal, me, form)

Ticket and survey writes go through the service's own functions (tickets.py, surveys.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Product, SalesOrder, SalesOrderLine, Survey, Ticket, TicketMessage
from app.crm.services import orders
from app.crm.services import surveys as survey_service
from app.crm.services import tickets as ticket_service
from app.crm.services.fields import clean_optional_id, clean_text
from app.crm.services.portal_access import CustomerScope
from app.kernel.errors import FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.security.models import User
from app.security.principal import Principal

# Orders the customer sees: everything the seller has committed to (not drafts).
ORDER_STATUSES = ("confirmed", "fulfilled", "invoiced", "cancelled")
OPEN_ORDER_STATUSES = ("confirmed", "fulfilled")
OPEN_TICKET_STATUSES = ("new", "open", "pending")
ORDER_STATUS_LABELS = {
    "confirmed": lazy("Confirmed"),
    "fulfilled": lazy("Fulfilled"),
    "invoiced": lazy("Invoiced"),
    "cancelled": lazy("Cancelled"),
}
TICKET_STATUS_LABELS = {
    "new": lazy("Received"),
    "open": lazy("In progress"),
    "pending": lazy("Waiting for you"),
    "resolved": lazy("Resolved"),
    "closed": lazy("Closed"),
}
PRIORITY_LABELS = {
    "low": lazy("Low"),
    "normal": lazy("Normal"),
    "high": lazy("High"),
    "urgent": lazy("Urgent"),
}
# What a customer's ticket is about; stored as the English msgid, shown translated to everyone.
TICKET_TOPICS = (lazy("Question"), lazy("Problem"), lazy("Delivery"), lazy("Invoice"), lazy("Other"))
HOME_LIST_LIMIT = 5


# --- orders ----------------------------------------------------------------------------------


def orders_query(me: CustomerScope) -> Select[Any]:
    return select(SalesOrder).where(
        SalesOrder.account_id == me.account_id, SalesOrder.status.in_(ORDER_STATUSES)
    )


async def get_order(session: AsyncSession, me: CustomerScope, order_id: int) -> SalesOrder:
    order = (await session.execute(orders_query(me).where(SalesOrder.id == order_id))).scalar_one_or_none()
    if order is None:
        raise NotFound(lazy("order"))
    return order


async def order_lines(session: AsyncSession, order: SalesOrder) -> list[SalesOrderLine]:
    """The lines of an order the customer may see (``portal_order`` checked that)."""
    return await orders.order_lines(session, order.id)


@dataclass(frozen=True)
class Step:
    label: str  # English msgid
    at: datetime | None
    state: str  # "done" | "current" | "todo" | "cancelled"


def order_timeline(order: SalesOrder) -> list[Step]:
    """Confirmed → fulfilled → invoiced as the customer follows it; a cancelled order shows the
    steps it reached, then its cancellation. Each step keeps its own time (an order may be
    invoiced before it is delivered)."""
    reached = {
        "confirmed": order.confirmed_at,
        "fulfilled": order.fulfilled_at,
        "invoiced": order.invoiced_at,
    }
    steps = []
    for status, at in reached.items():
        if order.status == "cancelled" and at is None:
            continue
        state = "todo" if at is None else ("current" if status == order.status else "done")
        steps.append(Step(ORDER_STATUS_LABELS[status], at, state))
    if order.status == "cancelled":
        steps.append(Step(ORDER_STATUS_LABELS["cancelled"], order.cancelled_at, "cancelled"))
    return steps


async def order_choices(session: AsyncSession, me: CustomerScope) -> list[tuple[int, str]]:
    """The customer's orders for the "about which order?" field of a new ticket, newest first."""
    stmt = (
        select(SalesOrder.id, SalesOrder.number, SalesOrder.customer_reference)
        .where(SalesOrder.account_id == me.account_id, SalesOrder.status.in_(ORDER_STATUSES))
        .order_by(SalesOrder.order_date.desc(), SalesOrder.id.desc())
        .limit(200)
    )
    return [(i, f"{n} · {ref}" if ref else n) for i, n, ref in (await session.execute(stmt)).all()]


def _ordered_products(me: CustomerScope) -> Select[Any]:
    """Products that appear on the customer's (visible) orders."""
    return (
        select(SalesOrderLine.product_id)
        .join(SalesOrder, SalesOrder.id == SalesOrderLine.order_id)
        .where(SalesOrder.account_id == me.account_id, SalesOrder.status.in_(ORDER_STATUSES))
    )


async def product_choices(session: AsyncSession, me: CustomerScope) -> list[tuple[int, str]]:
    stmt = (
        select(Product.id, Product.name)
        .where(Product.id.in_(_ordered_products(me)), Product.active.is_(True))
        .order_by(Product.name)
    )
    return [(i, name) for i, name in (await session.execute(stmt)).all()]


# --- tickets ---------------------------------------------------------------------------------


def tickets_query(me: CustomerScope) -> Select[Any]:
    return select(Ticket).where(Ticket.account_id == me.account_id)


async def get_ticket(session: AsyncSession, me: CustomerScope, ticket_id: int) -> Ticket:
    ticket = (await session.execute(tickets_query(me).where(Ticket.id == ticket_id))).scalar_one_or_none()
    if ticket is None:
        raise NotFound(lazy("ticket"))
    return ticket


async def ticket_order(session: AsyncSession, me: CustomerScope, ticket: Ticket) -> SalesOrder | None:
    """The order a ticket is about, when the customer can see it (never a draft)."""
    if ticket.sales_order_id is None:
        return None
    stmt = orders_query(me).where(SalesOrder.id == ticket.sales_order_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def ticket_survey(session: AsyncSession, me: CustomerScope, ticket: Ticket) -> Survey | None:
    stmt = surveys_query(me).where(Survey.ticket_id == ticket.id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def conversation(session: AsyncSession, ticket: Ticket) -> list[TicketMessage]:
    """The public conversation: the customer's and the agents' messages, no internal notes."""
    return await ticket_service.customer_visible_messages(session, ticket.id)


async def author_names(session: AsyncSession, messages: list[TicketMessage]) -> dict[int, str]:
    """Who wrote each message, by user id: agents by name, so the customer knows who helps them."""
    ids = {m.author_user_id for m in messages if m.author_user_id is not None}
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.full_name).where(User.id.in_(ids)))
    return {i: name for i, name in rows.all()}


async def open_customer_ticket(
    session: AsyncSession, principal: Principal, me: CustomerScope, form: Mapping[str, Any]
) -> Ticket:
    """Open a ticket for the customer's account. The order and product, when given, must be the
    customer's own (another account's order reads as one that does not exist)."""
    errors: list[FieldError] = []
    order_id = clean_optional_id(form.get("sales_order_id"), "sales_order_id", errors)
    product_id = clean_optional_id(form.get("product_id"), "product_id", errors)
    if order_id is not None:
        own = orders_query(me).where(SalesOrder.id == order_id).exists()
        if not await session.scalar(select(own)):
            errors.append(FieldError("sales_order_id", "Choose one of your orders."))
    if product_id is not None:
        ordered = _ordered_products(me).where(SalesOrderLine.product_id == product_id).exists()
        if not await session.scalar(select(ordered)):
            errors.append(FieldError("product_id", "Choose one of the products you ordered."))
    topic = str(form.get("category") or "").strip() or None
    if topic is not None and topic not in TICKET_TOPICS:
        errors.append(FieldError("category", "Choose one of the topics."))
    if errors:
        clean_text(form.get("subject"), "subject", errors, required=True, max_len=ticket_service.SUBJECT_MAX)
        raise ValidationFailed(errors)
    data = {
        "subject": form.get("subject"),
        "description": form.get("description"),
        "priority": form.get("priority") or "normal",
        "category": topic,
        "sales_order_id": order_id,
        "product_id": product_id,
    }
    return await ticket_service.open_ticket(
        session,
        principal,
        data,
        channel="customer_portal",
        account_id=me.account_id,
        contact_id=me.contact_id,
    )


async def reply_to_ticket(
    session: AsyncSession, principal: Principal, me: CustomerScope, ticket_id: int, body: object
) -> TicketMessage:
    ticket = await get_ticket(session, me, ticket_id)
    return await ticket_service.add_customer_message(session, ticket, str(body or ""), user_id=principal.id)


# --- surveys ---------------------------------------------------------------------------------


def surveys_query(me: CustomerScope) -> Select[Any]:
    """The account's surveys that were sent to this contact (or to nobody in particular)."""
    return select(Survey).where(
        Survey.account_id == me.account_id,
        (Survey.contact_id == me.contact_id) | Survey.contact_id.is_(None),
    )


def waiting_surveys_query(me: CustomerScope) -> Select[Any]:
    return surveys_query(me).where(Survey.answered_at.is_(None))


async def get_survey(session: AsyncSession, me: CustomerScope, survey_id: int) -> Survey:
    survey = (await session.execute(surveys_query(me).where(Survey.id == survey_id))).scalar_one_or_none()
    if survey is None:
        raise NotFound(lazy("survey"))
    return survey


async def answer_customer_survey(
    session: AsyncSession, me: CustomerScope, survey_id: int, form: Mapping[str, Any]
) -> Survey:
    """Answer one of the customer's own surveys (once; CSAT and NPS required)."""
    survey = await get_survey(session, me, survey_id)
    return await survey_service.answer_survey(
        session, survey, csat=form.get("csat"), nps=form.get("nps"), comment=form.get("comment")
    )


# --- the start page --------------------------------------------------------------------------


@dataclass(frozen=True)
class HomeSummary:
    open_orders: list[SalesOrder]
    open_order_count: int
    open_tickets: list[Ticket]
    open_ticket_count: int
    waiting_surveys: list[Survey]
    waiting_survey_count: int


async def _count(session: AsyncSession, stmt: Select[Any]) -> int:
    return int((await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one())


async def home_summary(session: AsyncSession, me: CustomerScope) -> HomeSummary:
    open_orders = orders_query(me).where(SalesOrder.status.in_(OPEN_ORDER_STATUSES))
    open_tickets = tickets_query(me).where(Ticket.status.in_(OPEN_TICKET_STATUSES))
    latest_orders = open_orders.order_by(SalesOrder.order_date.desc(), SalesOrder.id.desc()).limit(
        HOME_LIST_LIMIT
    )
    latest_tickets = open_tickets.order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(HOME_LIST_LIMIT)
    waiting = waiting_surveys_query(me)
    latest_surveys = waiting.order_by(Survey.created_at.desc()).limit(HOME_LIST_LIMIT)
    return HomeSummary(
        open_orders=list((await session.execute(latest_orders)).scalars()),
        open_order_count=await _count(session, open_orders),
        open_tickets=list((await session.execute(latest_tickets)).scalars()),
        open_ticket_count=await _count(session, open_tickets),
        waiting_surveys=list((await session.execute(latest_surveys)).scalars()),
        waiting_survey_count=await _count(session, waiting),
    )
