"""SLA policies (CRM-10): first-response and resolution targets per priority, and the timers.

Targets are calendar minutes (24 × 7) counted from the moment the ticket was opened. They are
fixed on the ticket when it opens and re-fixed when its priority changes, so editing a policy
changes tickets opened afterwards, never the promises already made.

    policy = await policy_for(session, "urgent")
    first_due, resolution_due = deadlines(ticket.created_at, policy)
    timer = sla_timer(ticket, utcnow())      # what the queue shows: "2 h 5 min left"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import SlaPolicy, Ticket
from app.crm.models.service import TICKET_PRIORITIES
from app.crm.services.fields import clean_int, clean_text
from app.kernel import i18n
from app.kernel.audit import audited
from app.kernel.errors import FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy

MAX_MINUTES = 365 * 24 * 60  # a year: anything longer is a typo
PRIORITY_LABELS = {
    "low": lazy("Low"),
    "normal": lazy("Normal"),
    "high": lazy("High"),
    "urgent": lazy("Urgent"),
}


async def list_policies(session: AsyncSession) -> list[SlaPolicy]:
    """The four policies, most urgent first."""
    rows = (await session.execute(select(SlaPolicy))).scalars()
    order = {p: i for i, p in enumerate(reversed(TICKET_PRIORITIES))}
    return sorted(rows, key=lambda p: order.get(p.priority, 99))


async def get_policy(session: AsyncSession, policy_id: int) -> SlaPolicy:
    policy = await session.get(SlaPolicy, policy_id)
    if policy is None:
        raise NotFound(lazy("SLA policy"))
    return policy


async def policy_for(session: AsyncSession, priority: str) -> SlaPolicy | None:
    """The active policy of ``priority``, or None (tickets of that priority then have no deadline)."""
    stmt = select(SlaPolicy).where(SlaPolicy.priority == priority, SlaPolicy.active.is_(True))
    return (await session.execute(stmt)).scalar_one_or_none()


def deadlines(opened_at: datetime, policy: SlaPolicy | None) -> tuple[datetime | None, datetime | None]:
    if policy is None:
        return None, None
    return (
        opened_at + timedelta(minutes=policy.first_response_minutes),
        opened_at + timedelta(minutes=policy.resolution_minutes),
    )


async def apply_policy(session: AsyncSession, ticket: Ticket, now: datetime) -> None:
    """Fix the ticket's deadlines from the policy of its current priority (at opening and on every
    priority change). A deadline that moves into the future lifts its breach flag again; one that
    moves into the past is flagged by the next escalation run."""
    policy = await policy_for(session, ticket.priority)
    first_due, resolution_due = deadlines(ticket.created_at or now, policy)
    ticket.sla_policy_id = policy.id if policy else None
    ticket.first_response_due_at = first_due
    ticket.resolution_due_at = resolution_due
    if ticket.first_responded_at is None and (first_due is None or first_due > now):
        ticket.response_breached = False
    if ticket.resolved_at is None and (resolution_due is None or resolution_due > now):
        ticket.resolution_breached = False


def _clean_minutes(value: object, field: str, errors: list[FieldError]) -> int:
    return clean_int(value, field, errors, minimum=1, maximum=MAX_MINUTES)


async def update_policy(session: AsyncSession, policy_id: int, data: Mapping[str, Any]) -> SlaPolicy:
    """Change a policy's name, targets and whether it applies; ``data`` as a form sends it."""
    policy = await get_policy(session, policy_id)
    errors: list[FieldError] = []
    name = clean_text(data.get("name"), "name", errors, required=True, max_len=120)
    first = _clean_minutes(data.get("first_response_minutes"), "first_response_minutes", errors)
    resolution = _clean_minutes(data.get("resolution_minutes"), "resolution_minutes", errors)
    if not errors and resolution < first:
        errors.append(
            FieldError(
                "resolution_minutes", "The resolution target cannot be shorter than the first response."
            )
        )
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.sla_policy_updated"):
        policy.name = name
        policy.first_response_minutes = first
        policy.resolution_minutes = resolution
        policy.active = bool(data.get("active"))
    return policy


def duration_text(minutes: int) -> str:
    """90 → "1 h 30 min", 2880 → "2 d", in the reader's language."""
    days, rest = divmod(max(0, minutes), 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(i18n.gettext("{n} d", n=days))
    if hours:
        parts.append(i18n.gettext("{n} h", n=hours))
    if mins or not parts:
        parts.append(i18n.gettext("{n} min", n=mins))
    return " ".join(parts[:2])


@dataclass(frozen=True, slots=True)
class Timer:
    """The SLA clock a ticket shows: which target it runs against and how it stands."""

    target: str  # "response" | "resolution"
    due_at: datetime
    seconds_left: int  # negative when overdue

    @property
    def overdue(self) -> bool:
        return self.seconds_left < 0

    @property
    def label(self) -> str:
        minutes = abs(self.seconds_left) // 60
        if self.overdue:
            return i18n.gettext("Overdue by {t}", t=duration_text(max(1, minutes)))
        return i18n.gettext("{t} left", t=duration_text(minutes))

    @property
    def level(self) -> str:
        """The tag colour: err when overdue, warn inside the last hour, ok otherwise."""
        if self.overdue:
            return "err"
        return "warn" if self.seconds_left < 3600 else "ok"


def sla_timer(ticket: Ticket, now: datetime) -> Timer | None:
    """The running clock: first response until an agent answered, then resolution; none once the
    ticket is resolved or closed, or when its priority has no policy."""
    if ticket.status in ("resolved", "closed"):
        return None
    if ticket.first_responded_at is None and ticket.first_response_due_at is not None:
        due = ticket.first_response_due_at
        return Timer("response", due, int((due - now).total_seconds()))
    if ticket.resolution_due_at is not None:
        due = ticket.resolution_due_at
        return Timer("resolution", due, int((due - now).total_seconds()))
    return None
