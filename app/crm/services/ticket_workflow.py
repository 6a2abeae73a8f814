"""Working a ticket (CRM-10): agents' replies and notes, status, priority and reassignment.

Statuses: new → open → pending (waiting on the customer) → resolved → closed. An agent's first
reply that is not an internal note is the *first response* (and opens a new ticket); a customer's
reply re-opens a pending or resolved ticket (tickets.add_customer_message). Closed is final and
publishes ``crm.ticket_closed``, which sends the satisfaction survey (app/crm/handlers/service.py).

    ticket = await get_writable_ticket(session, principal, ticket_id)   # 404 hidden, 403 read-only
    await reply_to_ticket(session, principal, ticket, "已为您更换硒鼓。", status="resolved")
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.crm import events
from app.crm.models import Ticket, TicketMessage
from app.crm.models.service import TICKET_PRIORITIES
from app.crm.services.fields import clean_choice, clean_long_text, clean_optional_id
from app.crm.services.ownership import assignment_for
from app.crm.services.sla import apply_policy
from app.crm.services.ticket_assignment import pick_assignee
from app.crm.services.tickets import (
    BODY_MAX,
    TicketClosed,
    announce_assignment,
    get_ticket,
    new_message_id,
)
from app.kernel.audit import audited
from app.kernel.db import utcnow
from app.kernel.errors import FieldError, Forbidden, ValidationFailed
from app.kernel.i18n import lazy, lazy_p
from app.kernel.outbox import publish
from app.security.permissions import CRM_TICKET_WRITE
from app.security.principal import Principal
from app.security.record_rules import can_write

# What an agent may move a ticket to ("new" is only ever the first status).
AGENT_STATUSES = ("open", "pending", "resolved", "closed")
STATUS_LABELS = {
    "new": lazy("New"),
    "open": lazy("Open"),
    "pending": lazy_p("ticket", "Pending"),
    "resolved": lazy("Resolved"),
    "closed": lazy("Closed"),
}


async def get_writable_ticket(session: AsyncSession, principal: Principal, ticket_id: int) -> Ticket:
    """For changes: visible (else 404) and inside the principal's write scope (else 403)."""
    ticket = await get_ticket(session, principal, ticket_id)
    if not can_write(ticket, principal, CRM_TICKET_WRITE):
        raise Forbidden(lazy("You may view this ticket but not work on it."))
    return ticket


def _actor(principal: Principal) -> int | None:
    return principal.id if principal.kind == "user" else None


def _check_open(ticket: Ticket) -> None:
    if ticket.status == "closed":
        raise TicketClosed()


async def _transition(session: AsyncSession, ticket: Ticket, status: str, now: datetime) -> None:
    if status == ticket.status:
        return
    if status in ("resolved", "closed") and ticket.resolved_at is None:
        ticket.resolved_at = now
        if ticket.resolution_due_at is not None and now > ticket.resolution_due_at:
            ticket.resolution_breached = True
    elif status in ("open", "pending"):
        ticket.resolved_at = None
    if status == "closed":
        ticket.closed_at = now
    ticket.status = status
    ticket.updated_at = now
    if status == "closed":
        await publish(
            session,
            events.TICKET_CLOSED,
            {"ticket_id": ticket.id, "number": ticket.number, "owner_id": ticket.owner_id},
        )


def _clean_status(value: object, errors: list[FieldError]) -> str:
    return clean_choice(value, "status", errors, AGENT_STATUSES)


async def reply_to_ticket(
    session: AsyncSession,
    principal: Principal,
    ticket: Ticket,
    body: object,
    *,
    internal: bool = False,
    status: str | None = None,
) -> TicketMessage:
    """An agent's reply (e-mailed to the customer by the worker) or internal note, optionally
    moving the ticket on at the same time ("reply and mark pending")."""
    errors: list[FieldError] = []
    text = clean_long_text(body, "body", errors, max_len=BODY_MAX)
    if not text and not errors:
        errors.append(FieldError("body", "This field is required."))
    new_status = _clean_status(status, errors) if status else None
    if errors:
        raise ValidationFailed(errors)
    _check_open(ticket)
    now = utcnow()
    async with audited(session, "crm.ticket_note_added" if internal else "crm.ticket_replied"):
        message = TicketMessage(
            ticket_id=ticket.id,
            author_kind="agent",
            author_user_id=principal.id if principal.kind == "user" else None,
            body=text,
            is_internal=internal,
            email_message_id=None if internal else new_message_id("reply"),
            created_at=now,
        )
        session.add(message)
        if not internal:
            if ticket.first_responded_at is None:
                ticket.first_responded_at = now
                if ticket.first_response_due_at is not None and now > ticket.first_response_due_at:
                    ticket.response_breached = True
            if ticket.status == "new":
                ticket.status = "open"
        ticket.updated_at = now
    if not internal:
        await publish(
            session,
            events.TICKET_REPLIED,
            {"ticket_id": ticket.id, "number": ticket.number, "message_id": message.id},
        )
    if new_status is not None:
        async with audited(session, "crm.ticket_status_changed"):
            await _transition(session, ticket, new_status, now)
    return message


async def set_status(session: AsyncSession, principal: Principal, ticket: Ticket, status: object) -> Ticket:
    errors: list[FieldError] = []
    new_status = _clean_status(status, errors)
    if errors:
        raise ValidationFailed(errors)
    _check_open(ticket)
    async with audited(session, "crm.ticket_status_changed"):
        await _transition(session, ticket, new_status, utcnow())
    return ticket


async def change_priority(
    session: AsyncSession, principal: Principal, ticket: Ticket, priority: object
) -> Ticket:
    """A new priority re-fixes both deadlines from that priority's policy (counted from opening)."""
    errors: list[FieldError] = []
    new_priority = clean_choice(priority, "priority", errors, TICKET_PRIORITIES)
    if errors:
        raise ValidationFailed(errors)
    _check_open(ticket)
    if new_priority == ticket.priority:
        return ticket
    async with audited(session, "crm.ticket_priority_changed"):
        ticket.priority = new_priority
        await apply_policy(session, ticket, utcnow())
    return ticket


async def reassign(
    session: AsyncSession,
    principal: Principal,
    ticket: Ticket,
    owner_id: int | None,
    *,
    field: str = "owner_id",
) -> Ticket:
    """Give the ticket to ``owner_id`` (None: back to the team's queue, unassigned). Agents may
    hand tickets within their team; administrators to anyone."""
    errors: list[FieldError] = []
    assigned = await assignment_for(
        session, principal, CRM_TICKET_WRITE, owner_id, errors, field=field, default_to_actor=False
    )
    if errors:
        raise ValidationFailed(errors)
    _check_open(ticket)
    if assigned.owner_id == ticket.owner_id:
        return ticket
    async with audited(session, "crm.ticket_reassigned"):
        ticket.owner_id = assigned.owner_id
        if assigned.owner_id is not None:
            ticket.team_id = assigned.team_id or ticket.team_id
        ticket.updated_at = utcnow()
    if ticket.owner_id is not None:
        await announce_assignment(session, ticket, actor_id=_actor(principal))
    return ticket


async def assign_automatically(session: AsyncSession, principal: Principal, ticket: Ticket) -> Ticket:
    """Round-robin the ticket to the next agent of its team (the rules apply as for new tickets)."""
    _check_open(ticket)
    pick = await pick_assignee(session, channel=ticket.channel, region=None, team_id=ticket.team_id)
    if pick.owner_id is None or pick.owner_id == ticket.owner_id:
        return ticket
    async with audited(session, "crm.ticket_reassigned"):
        ticket.owner_id, ticket.team_id = pick.owner_id, pick.team_id
        ticket.updated_at = utcnow()
    await announce_assignment(session, ticket, actor_id=_actor(principal))
    return ticket


async def update_ticket(
    session: AsyncSession, principal: Principal, ticket: Ticket, data: Mapping[str, Any]
) -> Ticket:
    """Change the fields present in ``data`` (priority, owner_id, status) — all checked first, so a
    refused change changes nothing."""
    errors: list[FieldError] = []
    priority = None
    if "priority" in data:
        priority = clean_choice(data["priority"], "priority", errors, TICKET_PRIORITIES)
    status = _clean_status(data["status"], errors) if "status" in data else None
    owner_id = clean_optional_id(data.get("owner_id"), "owner_id", errors)
    if "owner_id" in data:
        await assignment_for(session, principal, CRM_TICKET_WRITE, owner_id, errors, default_to_actor=False)
    if errors:
        raise ValidationFailed(errors)
    _check_open(ticket)
    if priority is not None:
        await change_priority(session, principal, ticket, priority)
    if "owner_id" in data:
        await reassign(session, principal, ticket, owner_id)
    if status is not None:
        await set_status(session, principal, ticket, status)
    return ticket
