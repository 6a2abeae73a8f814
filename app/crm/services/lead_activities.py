"""A lead's timeline (CRM-2): the calls, e-mails, meetings and notes logged on it.

activity = await log_activity(session, principal, lead_id, {"kind": "call", "subject": "Intro"})
timeline = await lead_activities(session, lead)                 # newest first

After conversion the lead's activities also carry the account and contact, so they appear on
the account's timeline too (app/crm/services/lead_conversion.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Activity, Lead
from app.crm.services.fields import clean_choice, clean_long_text, clean_text
from app.crm.services.leads import get_writable_lead
from app.kernel import context
from app.kernel.audit import audited
from app.kernel.db import utcnow
from app.kernel.errors import FieldError, ValidationFailed
from app.security.principal import Principal

LOGGABLE_ACTIVITIES = ("call", "email", "meeting", "note")


async def lead_activities(session: AsyncSession, lead: Lead, limit: int = 100) -> list[Activity]:
    """The lead's timeline, newest first (the caller has read the lead under record rules)."""
    stmt = (
        select(Activity)
        .where(Activity.lead_id == lead.id)
        .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def log_activity(
    session: AsyncSession, principal: Principal, lead_id: int, data: Mapping[str, Any]
) -> Activity:
    """Record a call, e-mail, meeting or note on the lead; the first contact moves a new lead to
    ``contacted``."""
    lead = await get_writable_lead(session, principal, lead_id, lock=True)
    errors: list[FieldError] = []
    kind = clean_choice(data.get("kind"), "kind", errors, LOGGABLE_ACTIVITIES)
    subject = clean_text(data.get("subject"), "subject", errors, required=True, max_len=200)
    body = clean_long_text(data.get("body"), "body", errors, max_len=20_000)
    direction = None
    if kind in ("call", "email"):
        direction = clean_choice(data.get("direction"), "direction", errors, ("in", "out"), default="out")
    occurred_at = _clean_moment(data.get("occurred_at"), errors, _timezone_of(principal))
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.lead_activity_logged"):
        activity = Activity(
            kind=kind,
            subject=subject,
            body=body,
            direction=direction,
            occurred_at=occurred_at or utcnow(),
            lead_id=lead.id,
            account_id=lead.converted_account_id,
            contact_id=lead.converted_contact_id,
            user_id=principal.id if principal.kind == "user" else None,
        )
        session.add(activity)
        if lead.status == "new" and kind != "note":
            lead.status = "contacted"
        await session.flush()
    return activity


def _timezone_of(principal: Principal) -> str:
    tenant = context.current_tenant()
    return principal.timezone or (tenant.timezone if tenant else None) or "UTC"


def _clean_moment(value: object, errors: list[FieldError], tz: str) -> datetime | None:
    if value is None or not str(value).strip():
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            errors.append(FieldError("occurred_at", "Enter a date and time as YYYY-MM-DD HH:MM."))
            return None
    if moment.tzinfo is None:  # a datetime-local field: the reader's wall clock
        moment = moment.replace(tzinfo=ZoneInfo(tz))
    if moment > utcnow():
        errors.append(FieldError("occurred_at", "This moment is in the future."))
    return moment
