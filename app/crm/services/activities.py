"""Interactions on an account's timeline (CRM-1): calls, meetings, e-mails, inquiries, complaints,
notes and tasks. Logging one needs the right to change the account (its write scope); reading
follows the account (app/crm/services/visibility.py).

    activity = await log_activity(session, principal, account_id,
                                  {"kind": "call", "subject": "Price of A2", "direction": "out",
                                   "occurred_at": "2026-12-04T14:30"}, tz="Asia/Shanghai")
    await complete_task(session, principal, activity.id)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Activity, Contact, Opportunity
from app.crm.models.customers import ACTIVITY_KINDS
from app.crm.services.accounts import get_account, get_writable_account
from app.crm.services.fields import clean_choice, clean_long_text, clean_optional_id, clean_text
from app.crm.services.visibility import visible_account_ids
from app.kernel.audit import audited
from app.kernel.db import utcnow
from app.kernel.errors import FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy, lazy_p
from app.security.principal import Principal

KIND_LABELS = {
    "call": lazy("Call"),
    "meeting": lazy("Meeting"),
    "email": lazy_p("channel", "E-mail"),
    "inquiry": lazy("Inquiry"),
    "complaint": lazy("Complaint"),
    "note": lazy("Note"),
    "task": lazy("Task"),
}
KIND_ICONS = {
    "call": "bell",
    "meeting": "users",
    "email": "mail",
    "inquiry": "search",
    "complaint": "ticket",
    "note": "file",
    "task": "clock",
}
DIRECTIONS = ("in", "out")
DIRECTED_KINDS = ("call", "email")
# A logged interaction may be dated a little ahead (clocks differ), but not into next week.
_FUTURE_SLACK = timedelta(hours=1)


def clean_local_datetime(
    value: object, field: str, errors: list[FieldError], tz: str, *, required: bool = False
) -> datetime | None:
    """A ``datetime-local`` input ("2026-12-04T14:30") read in the user's time zone, as UTC-aware."""
    text = str(value or "").strip()
    if not text:
        if required:
            errors.append(FieldError(field, "This field is required."))
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        errors.append(FieldError(field, "Enter a date and time as YYYY-MM-DD HH:MM."))
        return None
    if moment.tzinfo is None:
        try:
            moment = moment.replace(tzinfo=ZoneInfo(tz))
        except (ZoneInfoNotFoundError, ValueError):
            moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment


def _clean(data: Mapping[str, Any], errors: list[FieldError], tz: str) -> dict[str, Any]:
    kind = clean_choice(data.get("kind"), "kind", errors, ACTIVITY_KINDS)
    values: dict[str, Any] = {
        "kind": kind,
        "subject": clean_text(data.get("subject"), "subject", errors, required=True, max_len=200),
        "body": clean_long_text(data.get("body"), "body", errors),
        "direction": None,
        "occurred_at": clean_local_datetime(data.get("occurred_at"), "occurred_at", errors, tz) or utcnow(),
        "due_at": clean_local_datetime(data.get("due_at"), "due_at", errors, tz) if kind == "task" else None,
    }
    if kind in DIRECTED_KINDS and data.get("direction"):
        values["direction"] = clean_choice(data.get("direction"), "direction", errors, DIRECTIONS)
    if kind != "task" and values["occurred_at"] > utcnow() + _FUTURE_SLACK:
        errors.append(FieldError("occurred_at", "An interaction that has happened cannot be in the future."))
    return values


async def log_activity(
    session: AsyncSession,
    principal: Principal,
    account_id: int,
    data: Mapping[str, Any],
    *,
    tz: str = "UTC",
) -> Activity:
    """Record an interaction with the account (optionally with one of its contacts and deals)."""
    account = await get_writable_account(session, principal, account_id)
    errors: list[FieldError] = []
    values = _clean(data, errors, tz)
    contact_id = clean_optional_id(data.get("contact_id"), "contact_id", errors)
    opportunity_id = clean_optional_id(data.get("opportunity_id"), "opportunity_id", errors)
    if contact_id is not None:
        owner = await session.scalar(
            select(Contact.account_id).where(Contact.id == contact_id, Contact.archived_at.is_(None))
        )
        if owner != account.id:
            errors.append(FieldError("contact_id", "Choose a contact of this account."))
    if opportunity_id is not None:
        owner = await session.scalar(select(Opportunity.account_id).where(Opportunity.id == opportunity_id))
        if owner != account.id:
            errors.append(FieldError("opportunity_id", "Choose a deal with this account."))
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.activity_logged"):
        activity = Activity(
            **values,
            account_id=account.id,
            contact_id=contact_id,
            opportunity_id=opportunity_id,
            user_id=principal.id if principal.kind == "user" else None,
            created_at=utcnow(),
        )
        session.add(activity)
    return activity


async def get_activity(session: AsyncSession, principal: Principal, activity_id: int) -> Activity:
    """An activity of an account the principal may see (others read as missing)."""
    stmt = select(Activity).where(
        Activity.id == activity_id, Activity.account_id.in_(visible_account_ids(principal))
    )
    activity = (await session.execute(stmt)).scalar_one_or_none()
    if activity is None:
        raise NotFound(lazy("activity"))
    return activity


async def complete_task(session: AsyncSession, principal: Principal, activity_id: int) -> Activity:
    """Tick a task off (done tasks stay on the timeline); ticking twice changes nothing."""
    activity = await get_activity(session, principal, activity_id)
    assert activity.account_id is not None  # get_activity only finds activities of accounts
    await get_writable_account(session, principal, activity.account_id)
    if activity.kind != "task":
        raise ValidationFailed([FieldError("kind", "Only tasks can be marked as done.")])
    if activity.done_at is None:
        async with audited(session, "crm.task_completed"):
            activity.done_at = utcnow()
    return activity


async def open_tasks(
    session: AsyncSession, principal: Principal, account_id: int, limit: int = 20
) -> list[Activity]:
    """The account's tasks not yet done, soonest due first."""
    await get_account(session, principal, account_id)
    stmt = (
        select(Activity)
        .where(Activity.account_id == account_id, Activity.kind == "task", Activity.done_at.is_(None))
        .order_by(Activity.due_at.asc().nulls_last(), Activity.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())
