"""The customer's tickets: open one, follow the conversation, reply."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery
from sqlalchemy import Select, func, or_
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Ticket
from app.crm.services import customer_portal as portal
from app.crm.services.portal_access import CustomerScope
from app.kernel import i18n
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from portals.customer.support import BASE, PORTAL, customer, customer_for_record, page, portal_record
from portals.exports import ExportColumn, csv_export
from portals.forms import viewer_tz, wants_fragment
from portals.tables import Column, Filter, TableSpec, fetch_page, parse_query
from portals.web import FormState, flash, form_data, principal, redirect

TICKETS = f"{BASE}/tickets"


def _with_state(stmt: Select[Any], state: str) -> Select[Any]:
    if state == "open":
        return stmt.where(Ticket.status.in_(portal.OPEN_TICKET_STATUSES))
    return stmt.where(Ticket.status.not_in(portal.OPEN_TICKET_STATUSES))


def _search(stmt: Select[Any], q: str) -> Select[Any]:
    like = f"%{q.lower()}%"
    return stmt.where(or_(func.lower(Ticket.number).like(like), func.lower(Ticket.subject).like(like)))


TABLE = TableSpec(
    columns=[
        Column("number", lazy("Ticket"), sort=Ticket.number),
        Column("subject", lazy("Subject"), sort=Ticket.subject),
        Column("status", lazy("Status"), sort=Ticket.status),
        Column("opened", lazy("Opened on"), sort=Ticket.created_at),
        Column("updated", lazy("Last update"), sort=Ticket.updated_at),
    ],
    default_sort="updated",
    default_direction="desc",
    filters=[
        Filter(
            "state", lazy("Show"), _with_state, [("open", lazy("Open")), ("done", lazy("Resolved or closed"))]
        )
    ],
    search=_search,
    tiebreak=Ticket.id.desc(),
)


@get(TICKETS, opt=PORTAL)
async def ticket_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    me = await customer(request, db)
    rows = await fetch_page(db, portal.tickets_query(me), TABLE, parse_query(request.query_params, TABLE))
    ctx = {"page": rows, "base": TICKETS, "labels": portal.TICKET_STATUS_LABELS, "tz": viewer_tz(request)}
    if wants_fragment(request):
        return page(request, "customer/_tickets_table.html", me, **ctx)
    return page(request, "customer/tickets.html", me, **ctx)


def _local(value: datetime | None, tz: str) -> str:
    """A moment as the list shows it, in the reader's time zone: 2026-03-05 14:30."""
    return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") if value else ""


def export_columns(tz: str) -> list[ExportColumn]:
    def label(labels: dict[str, str], key: str) -> str:
        return i18n.gettext(labels.get(key, key))

    return [
        ExportColumn(lazy("Ticket"), lambda t: t.number),
        ExportColumn(lazy("Subject"), lambda t: t.subject),
        ExportColumn(lazy("Status"), lambda t: label(portal.TICKET_STATUS_LABELS, t.status)),
        ExportColumn(lazy("Priority"), lambda t: label(portal.PRIORITY_LABELS, t.priority)),
        ExportColumn(lazy("Opened on"), lambda t: _local(t.created_at, tz)),
        ExportColumn(lazy("Last update"), lambda t: _local(t.updated_at, tz)),
    ]


@get(f"{TICKETS}/export.csv", opt=PORTAL)
async def ticket_export(request: Request[Any, Any, Any], db: DbSession) -> Response[bytes]:
    """The tickets of the customer's account exactly as the list shows them (its statement,
    filter, search and sort); times in the reader's time zone, as on the page."""
    me = await customer(request, db)
    columns = export_columns(viewer_tz(request))
    return await csv_export(request, db, portal.tickets_query(me), TABLE, columns, "tickets")


async def _new_form(
    request: Request[Any, Any, Any], db: AsyncSession, me: CustomerScope, form: FormState, status: int = 200
) -> Response[Any]:
    return page(
        request,
        "customer/ticket_form.html",
        me,
        form=form,
        status=status,
        orders=await portal.order_choices(db, me),
        products=await portal.product_choices(db, me),
        categories=[(c, i18n.gettext(c)) for c in portal.TICKET_TOPICS],
        priorities=[(k, i18n.gettext(v)) for k, v in portal.PRIORITY_LABELS.items()],
    )


@get(f"{TICKETS}/new", opt=PORTAL)
async def ticket_new(
    request: Request[Any, Any, Any], db: DbSession, order: FromQuery[str] = ""
) -> Response[Any]:
    me = await customer(request, db)
    return await _new_form(request, db, me, FormState({"priority": "normal", "sales_order_id": order}))


@post(TICKETS, opt=PORTAL)
async def ticket_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    me = await customer(request, db)
    form = await form_data(request)
    try:
        ticket = await portal.open_customer_ticket(db, principal(request), me, form)
    except DomainError as exc:
        await db.rollback()
        return await _new_form(request, db, me, FormState(form, exc), status=422)
    flash(
        request,
        "success",
        i18n.gettext(
            "Thank you — your ticket {number} is open. We will get back to you soon.", number=ticket.number
        ),
    )
    return redirect(f"{TICKETS}/{ticket.id}", request)


async def _detail(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    me: CustomerScope,
    ticket: Ticket,
    form: FormState,
    status: int = 200,
) -> Response[Any]:
    messages = await portal.conversation(db, ticket)
    return page(
        request,
        "customer/ticket.html",
        me,
        ticket=ticket,
        messages=messages,
        authors=await portal.author_names(db, messages),
        order=await portal.ticket_order(db, me, ticket),
        survey=await portal.ticket_survey(db, me, ticket),
        labels=portal.TICKET_STATUS_LABELS,
        priorities=portal.PRIORITY_LABELS,
        tz=viewer_tz(request),
        form=form,
        status=status,
    )


@get(f"{TICKETS}/{{ticket_id:int}}", opt=portal_record("crm_portal_tickets"))
async def ticket_detail(
    request: Request[Any, Any, Any], db: DbSession, ticket_id: FromPath[int]
) -> Response[Any]:
    me = await customer_for_record(request, db, lazy("ticket"))
    return await _detail(request, db, me, await portal.get_ticket(db, me, ticket_id), FormState())


@post(f"{TICKETS}/{{ticket_id:int}}/messages", opt=portal_record("crm_portal_tickets"))
async def ticket_reply(
    request: Request[Any, Any, Any], db: DbSession, ticket_id: FromPath[int]
) -> Response[Any]:
    me = await customer_for_record(request, db, lazy("ticket"))
    ticket = await portal.get_ticket(db, me, ticket_id)
    form = await form_data(request)
    try:
        await portal.reply_to_ticket(db, principal(request), me, ticket.id, form.get("body"))
    except DomainError as exc:
        await db.rollback()
        ticket = await portal.get_ticket(db, me, ticket_id)
        return await _detail(request, db, me, ticket, FormState(form, exc), status=exc.status)
    flash(request, "success", i18n.gettext("Your message is sent."))
    return redirect(f"{TICKETS}/{ticket.id}#latest", request)


ROUTES: list[HTTPRouteHandler] = [
    ticket_list,
    ticket_export,
    ticket_new,
    ticket_create,
    ticket_detail,
    ticket_reply,
]
