"""service: periodic tasks (@periodic) — SLA escalation every minute, and closing tickets that
stayed resolved for a week (CRM-10/11: closing is what sends the satisfaction survey).

The task acts on state: tickets still waiting for a first response, or still unresolved, past
their deadline and *not yet flagged*. Flagging is the effect, so a second run (or a redelivered
message) finds nothing to do. Each breach raises the escalation level by one, notifies the
team's manager (the administrators when the team has none) and publishes crm.ticket_escalated.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm import events
from app.crm.models import Ticket
from app.crm.notifications import TICKET_ESCALATED
from app.crm.services.ticket_notices import escalation_recipients, tell
from app.crm.services.tickets import OPEN_STATUSES
from app.kernel.audit import audited
from app.kernel.db import utcnow
from app.kernel.i18n import lazy
from app.kernel.outbox import publish
from app.kernel.periodic import periodic

BATCH = 500
AUTO_CLOSE_AFTER = timedelta(days=7)  # a resolved ticket the customer did not answer for a week
_TITLES = {
    "response": lazy("{number} is past its first-response target: {subject}"),
    "resolution": lazy("{number} is past its resolution target: {subject}"),
}


@periodic("crm.ticket_escalation", every=timedelta(minutes=1))
async def escalate_overdue_tickets(session: AsyncSession) -> dict[str, int]:
    now = utcnow()
    response_late = and_(
        Ticket.first_responded_at.is_(None),
        Ticket.response_breached.is_(False),
        Ticket.first_response_due_at < now,
    )
    resolution_late = and_(
        Ticket.resolved_at.is_(None),
        Ticket.resolution_breached.is_(False),
        Ticket.resolution_due_at < now,
    )
    stmt = (
        select(Ticket)
        .where(Ticket.status.in_(OPEN_STATUSES), or_(response_late, resolution_late))
        .order_by(Ticket.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    tickets = list((await session.execute(stmt)).scalars())
    breaches = 0
    for ticket in tickets:
        reasons = _breaches(ticket, now)
        if not reasons:
            continue
        level = ticket.escalation_level
        async with audited(session, "crm.ticket_escalated"):
            ticket.response_breached = ticket.response_breached or "response" in reasons
            ticket.resolution_breached = ticket.resolution_breached or "resolution" in reasons
            ticket.escalation_level = level + len(reasons)
            ticket.escalated_at = now
        recipients = await escalation_recipients(session, ticket.team_id)
        for step, reason in enumerate(reasons, start=1):
            breaches += 1
            payload = {
                "ticket_id": ticket.id,
                "number": ticket.number,
                "level": level + step,
                "reason": reason,
            }
            await publish(session, events.TICKET_ESCALATED, payload)
            for user_id in recipients:
                await tell(
                    session, user_id, TICKET_ESCALATED, _TITLES[reason], ticket, body=ticket.description
                )
    return {"tickets": len(tickets), "breaches": breaches}


def _breaches(ticket: Ticket, now: datetime) -> list[str]:
    """The targets this ticket has newly missed, first response before resolution."""
    reasons = []
    due = ticket.first_response_due_at
    if ticket.first_responded_at is None and not ticket.response_breached and due is not None and due < now:
        reasons.append("response")
    due = ticket.resolution_due_at
    if ticket.resolved_at is None and not ticket.resolution_breached and due is not None and due < now:
        reasons.append("resolution")
    return reasons


@periodic("crm.ticket_autoclose", every=timedelta(hours=1))
async def close_resolved_tickets(session: AsyncSession) -> dict[str, int]:
    """Resolved for AUTO_CLOSE_AFTER without a customer reply (which would have re-opened it):
    closed, as an agent would, so the survey goes out. Acts on state: a second run finds none."""
    now = utcnow()
    stmt = (
        select(Ticket)
        .where(Ticket.status == "resolved", Ticket.resolved_at < now - AUTO_CLOSE_AFTER)
        .order_by(Ticket.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    closed = 0
    for ticket in (await session.execute(stmt)).scalars():
        async with audited(session, "crm.ticket_auto_closed"):
            ticket.status, ticket.closed_at = "closed", now
        payload = {"ticket_id": ticket.id, "number": ticket.number, "owner_id": ticket.owner_id}
        await publish(session, events.TICKET_CLOSED, payload)
        closed += 1
    return {"closed": closed}
