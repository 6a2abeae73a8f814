"""Service › Ticket: the conversation with its reply form, the SLA clock, and the agent's
controls — status, priority, assignee — and the repair records worked on it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, Contact, Product, SalesOrder, SlaPolicy, Ticket
from app.crm.services import service_records, surveys, ticket_choices, ticket_workflow, tickets
from app.crm.services.opportunities import base_currency
from app.crm.services.sla import PRIORITY_LABELS, sla_timer
from app.crm.services.ticket_workflow import AGENT_STATUSES, STATUS_LABELS
from app.kernel import i18n
from app.kernel.db import utcnow
from app.kernel.errors import DomainError, ValidationFailed
from app.kernel.i18n import lazy, lazy_p
from app.kernel.web import DbSession
from app.security.models import Team, User
from app.security.permissions import CRM_ACCOUNT_READ, CRM_ORDER_READ, CRM_TICKET_READ, CRM_TICKET_WRITE
from app.security.principal import Principal
from app.security.record_rules import can_write
from portals.forms import checked, optional_id, viewer_tz
from portals.service.common import BASE, CHANNELS
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

RESOURCE = "crm_tickets"
CHANNEL_LABELS = {
    **CHANNELS,
    "customer_portal": lazy("Customer portal"),
    "email": lazy_p("channel", "E-mail"),
    "api": "API",  # the same in every language
}


async def _people(db: AsyncSession, ids: set[int]) -> dict[int, User]:
    if not ids:
        return {}
    return {u.id: u for u in (await db.execute(select(User).where(User.id.in_(ids)))).scalars()}


async def _assignee_options(
    db: AsyncSession, p: Principal, ticket: Ticket, people: dict[int, User]
) -> list[tuple[Any, str]]:
    agents = [(u.id, u.full_name) for u in await ticket_choices.assignable_agents(db, p)]
    if ticket.owner_id and all(a[0] != ticket.owner_id for a in agents) and ticket.owner_id in people:
        agents.insert(0, (ticket.owner_id, people[ticket.owner_id].full_name))
    return [("auto", i18n.gettext("Assign automatically (round-robin)")), *agents]


async def _detail(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    ticket: Ticket,
    *,
    form: FormState | None = None,
    action: str | None = None,
    status: int = 200,
) -> Response[Any]:
    """The ticket page; ``action`` names the form ``form`` belongs to (reply, status, ...)."""
    p = principal(request)
    messages = await tickets.messages_of(db, ticket.id)
    records = await service_records.records_of(db, ticket.id)
    people = await _people(
        db,
        {m.author_user_id for m in messages if m.author_user_id}
        | {r.technician_id for r in records if r.technician_id}
        | ({ticket.owner_id} if ticket.owner_id else set()),
    )
    policy = await db.get(SlaPolicy, ticket.sla_policy_id) if ticket.sla_policy_id else None
    return render(
        request,
        "service/ticket.html",
        status=status,
        ticket=ticket,
        messages=messages,
        people=people,
        account=await db.get(Account, ticket.account_id) if ticket.account_id else None,
        contact=await db.get(Contact, ticket.contact_id) if ticket.contact_id else None,
        order=await db.get(SalesOrder, ticket.sales_order_id) if ticket.sales_order_id else None,
        product=await db.get(Product, ticket.product_id) if ticket.product_id else None,
        team=await db.get(Team, ticket.team_id) if ticket.team_id else None,
        policy=policy,
        timer=sla_timer(ticket, utcnow()),
        records=records,
        survey=await surveys.survey_of_ticket(db, p, ticket.id),
        parts=await service_records.parts_of(db, [r.id for r in records]),
        assignee_options=await _assignee_options(db, p, ticket, people),
        priority_options=[(k, i18n.gettext(v)) for k, v in PRIORITY_LABELS.items()],
        empty_form=FormState(),
        status_labels=STATUS_LABELS,
        agent_statuses=[(s, i18n.gettext(STATUS_LABELS[s])) for s in AGENT_STATUSES],
        priority_labels=PRIORITY_LABELS,
        channel_labels=CHANNEL_LABELS,
        can_write=can_write(ticket, p, CRM_TICKET_WRITE) and p.can(CRM_TICKET_WRITE),
        can_see_account=p.can(CRM_ACCOUNT_READ),
        can_see_order=p.can(CRM_ORDER_READ),
        action=action,
        form=form or FormState(),
        tz=viewer_tz(request),
        currency=base_currency(),
    )


@get(f"{BASE}/{{ticket_id:int}}", opt=perm(CRM_TICKET_READ, resource=RESOURCE))
async def ticket_detail(
    request: Request[Any, Any, Any], db: DbSession, ticket_id: FromPath[int]
) -> Response[Any]:
    return await _detail(request, db, await tickets.get_ticket(db, principal(request), ticket_id))


Work = Callable[[Ticket, dict[str, Any]], Awaitable[str]]


async def _act(
    request: Request[Any, Any, Any], db: AsyncSession, ticket_id: int, action: str, work: Work
) -> Response[Any]:
    """Load the writable ticket first (404/403 whatever was posted), then run ``work``, which
    answers the msgid of its success message: success redirects with that flash; a refusal
    re-renders the page with the message beside the form (422, nothing saved)."""
    ticket = await ticket_workflow.get_writable_ticket(db, principal(request), ticket_id)
    form = await form_data(request)
    try:
        done = await work(ticket, form)
    except DomainError as exc:
        await db.rollback()
        ticket = await tickets.get_ticket(db, principal(request), ticket_id)
        code = 422 if isinstance(exc, ValidationFailed) else exc.status
        return await _detail(request, db, ticket, form=FormState(form, exc), action=action, status=code)
    owner = await db.get(User, ticket.owner_id) if ticket.owner_id else None
    status = i18n.gettext(STATUS_LABELS[ticket.status])
    flash(
        request,
        "success",
        i18n.gettext(done, number=ticket.number, status=status, name=owner.full_name if owner else ""),
    )
    return redirect(f"{BASE}/{ticket.id}", request)


@post(f"{BASE}/{{ticket_id:int}}/reply", opt=perm(CRM_TICKET_WRITE, resource=RESOURCE))
async def ticket_reply(
    request: Request[Any, Any, Any], db: DbSession, ticket_id: FromPath[int]
) -> Response[Any]:
    async def work(ticket: Ticket, form: dict[str, Any]) -> str:
        internal = checked(form, "internal")
        await ticket_workflow.reply_to_ticket(
            db,
            principal(request),
            ticket,
            form.get("body"),
            internal=internal,
            status=form.get("status") or None,
        )
        return (
            lazy("The internal note on {number} is added.")
            if internal
            else lazy("Your reply on {number} is sent.")
        )

    return await _act(request, db, ticket_id, "reply", work)


@post(f"{BASE}/{{ticket_id:int}}/status", opt=perm(CRM_TICKET_WRITE, resource=RESOURCE))
async def ticket_status(
    request: Request[Any, Any, Any], db: DbSession, ticket_id: FromPath[int]
) -> Response[Any]:
    async def work(ticket: Ticket, form: dict[str, Any]) -> str:
        await ticket_workflow.set_status(db, principal(request), ticket, form.get("status"))
        return lazy("{number} is now {status}.")

    return await _act(request, db, ticket_id, "status", work)


@post(f"{BASE}/{{ticket_id:int}}/priority", opt=perm(CRM_TICKET_WRITE, resource=RESOURCE))
async def ticket_priority(
    request: Request[Any, Any, Any], db: DbSession, ticket_id: FromPath[int]
) -> Response[Any]:
    async def work(ticket: Ticket, form: dict[str, Any]) -> str:
        await ticket_workflow.change_priority(db, principal(request), ticket, form.get("priority"))
        return lazy("{number}: the priority is changed; the SLA deadlines follow it.")

    return await _act(request, db, ticket_id, "priority", work)


@post(f"{BASE}/{{ticket_id:int}}/assign", opt=perm(CRM_TICKET_WRITE, resource=RESOURCE))
async def ticket_assign(
    request: Request[Any, Any, Any], db: DbSession, ticket_id: FromPath[int]
) -> Response[Any]:
    p = principal(request)

    async def work(ticket: Ticket, form: dict[str, Any]) -> str:
        if form.get("owner_id") == "auto":
            await ticket_workflow.assign_automatically(db, p, ticket)
        else:
            await ticket_workflow.reassign(db, p, ticket, optional_id(form.get("owner_id")))
        return lazy("{number} is assigned to {name}.") if ticket.owner_id else lazy("{number} is unassigned.")

    return await _act(request, db, ticket_id, "assign", work)


ROUTES = [ticket_detail, ticket_reply, ticket_status, ticket_priority, ticket_assign]
