"""Service › Tickets: the queue (filters, my tickets, SLA timers, CSV export) and opening a ticket
for a customer who called or wrote in. The ticket page itself is portals/service/ticket_page.py."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.services import ticket_choices, tickets
from app.crm.services.sla import PRIORITY_LABELS
from app.crm.services.ticket_workflow import STATUS_LABELS
from app.kernel import i18n
from app.kernel.csvfile import csv_bytes
from app.kernel.db import utcnow
from app.kernel.errors import DomainError, NotFound
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import CRM_TICKET_READ, CRM_TICKET_WRITE
from portals.exports import csv_download, export_rows, order_for
from portals.forms import optional_id, viewer_tz, wants_fragment
from portals.nav import NavItem, register
from portals.service import queue, records, ticket_page
from portals.service.common import BASE, CHANNELS, SECTION
from portals.tables import apply_query, fetch_page, parse_query
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

register(NavItem(SECTION, lazy("Tickets"), BASE, CRM_TICKET_READ, icon="ticket", order=10))


async def _spec(request: Request[Any, Any, Any], db: AsyncSession) -> queue.TableSpec:
    return queue.queue_table(
        principal(request),
        await ticket_choices.assignable_agents(db, principal(request)),
        await ticket_choices.all_teams(db),
    )


@get(BASE, opt=perm(CRM_TICKET_READ))
async def ticket_queue(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    spec = await _spec(request, db)
    params = queue.with_default_status(request.query_params)
    page = await fetch_page(db, tickets.visible_tickets(principal(request)), spec, parse_query(params, spec))
    ctx: dict[str, Any] = {
        "page": page,
        "base": BASE,
        "names": await queue.names_for(db, page.rows),
        "status_labels": STATUS_LABELS,
        "priority_labels": PRIORITY_LABELS,
        "tz": viewer_tz(request),
        "can_write": principal(request).can(CRM_TICKET_WRITE),
    }
    if wants_fragment(request):
        return render(request, "service/_tickets_table.html", **ctx)
    return render(request, "service/tickets.html", **ctx)


@get(f"{BASE}/export.csv", opt=perm(CRM_TICKET_READ))
async def ticket_export(request: Request[Any, Any, Any], db: DbSession) -> Response[bytes]:
    """The queue as it is filtered, searched and sorted — every row, under the same record rules."""
    spec = await _spec(request, db)
    params = queue.with_default_status(request.query_params)
    stmt = apply_query(tickets.visible_tickets(principal(request)), spec, parse_query(params, spec))
    rows = list(await export_rows(db, stmt.order_by(*order_for(spec, params))))
    columns = queue.export_columns(await queue.names_for(db, rows))
    body = csv_bytes([i18n.gettext(c.header) for c in columns], ([c.value(t) for c in columns] for t in rows))
    return csv_download(body, f"tickets-{utcnow().date().isoformat()}.csv")


async def _customer_ctx(
    db: AsyncSession, request: Request[Any, Any, Any], q: str, account_id: int | None
) -> dict[str, Any]:
    p = principal(request)
    account = await ticket_choices.visible_account(db, p, account_id)
    chosen = account.id if account else None
    contacts = await ticket_choices.account_contacts(db, p, chosen)
    orders = await ticket_choices.account_orders(db, p, chosen)
    return {
        "account_q": q,
        "accounts": await ticket_choices.find_accounts(db, p, q, selected=chosen),
        "selected_account": account,
        "contact_options": [
            (c.id, f"{c.full_name} <{c.email}>" if c.email else c.full_name) for c in contacts
        ],
        "order_options": [(o.id, f"{o.number} · {i18n.format_date(o.order_date)}") for o in orders],
    }


async def _new_form(
    request: Request[Any, Any, Any], db: AsyncSession, form: FormState, *, status: int = 200
) -> Response[Any]:
    account_id = optional_id(form.value("account_id"))
    return render(
        request,
        "service/ticket_new.html",
        status=status,
        form=form,
        priorities=[(k, i18n.gettext(v)) for k, v in PRIORITY_LABELS.items()],
        channels=[(k, i18n.gettext(v)) for k, v in CHANNELS.items()],
        product_options=[(p.id, f"{p.sku} · {p.name}") for p in await ticket_choices.active_products(db)],
        agent_options=[
            (u.id, u.full_name) for u in await ticket_choices.assignable_agents(db, principal(request))
        ],
        team_options=[(t.id, t.name) for t in await ticket_choices.all_teams(db)],
        **await _customer_ctx(db, request, str(form.value("account_q")), account_id),
    )


@get(f"{BASE}/new", opt=perm(CRM_TICKET_WRITE))
async def ticket_new(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    p = principal(request)
    team = next(iter(sorted(p.team_ids)), None) if len(p.team_ids) == 1 else None
    values = {"priority": "normal", "channel": "phone", "team_id": team or "", **dict(request.query_params)}
    return await _new_form(request, db, FormState(values))


@get(f"{BASE}/new/customer", opt=perm(CRM_TICKET_WRITE))
async def ticket_new_customer(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    """The form's customer block, re-drawn by htmx as the agent searches and picks an account."""
    params = request.query_params
    form = FormState(dict(params))
    ctx = await _customer_ctx(
        db, request, str(params.get("account_q") or ""), optional_id(params.get("account_id"))
    )
    return render(request, "service/_ticket_customer.html", form=form, **ctx)


@post(BASE, opt=perm(CRM_TICKET_WRITE))
async def ticket_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    channel = form.get("channel") if form.get("channel") in CHANNELS else "agent"
    data = {
        **form,
        "owner_id": optional_id(form.get("owner_id")),
        "team_id": optional_id(form.get("team_id")),
    }
    try:
        ticket = await tickets.open_ticket(
            db,
            principal(request),
            data,
            channel=str(channel),
            account_id=optional_id(form.get("account_id")),
            contact_id=optional_id(form.get("contact_id")),
        )
    except DomainError as exc:
        await db.rollback()
        return await _new_form(request, db, FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("Ticket {number} is open.", number=ticket.number))
    try:  # assigned to another team's agent: the creator may no longer see it
        await tickets.get_ticket(db, principal(request), ticket.id)
    except NotFound:
        return redirect(BASE, request)
    return redirect(f"{BASE}/{ticket.id}", request)


ROUTES = [
    ticket_queue,
    ticket_export,
    ticket_new,
    ticket_new_customer,
    ticket_create,
    *ticket_page.ROUTES,
    *records.ROUTES,
]
