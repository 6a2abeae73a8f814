"""Campaigns (CRM-7): plan, budget, audience and e-mail content, and the life cycle around sending.

    planned ──schedule──▶ scheduled ──(time comes)──▶ sending ──(last batch)──▶ sent ──▶ completed
       │  ◀──unschedule──┘    │                          │
       └──────send now────────┴──────────────────────────┴──▶ cancelled (pending recipients skipped)

Campaigns on other channels (events, advertising, ...) are not sent: they go from planned or
scheduled straight to completed. Sending itself is campaign_sending.py; tracking is tracking.py.

campaign = await create_campaign(session, principal, {"name": "双十一", "segment_id": 3, ...})
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.errors import InvalidState
from app.crm.models import Account, Campaign, CampaignRecipient, Contact, Segment, SegmentMember
from app.crm.models.marketing import CAMPAIGN_CHANNELS
from app.crm.services.fields import (
    clean_choice,
    clean_currency,
    clean_date,
    clean_email,
    clean_long_text,
    clean_money,
    clean_text,
)
from app.crm.services.visibility import account_clause
from app.kernel import context
from app.kernel.audit import audited
from app.kernel.db import utcnow
from app.kernel.errors import FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy, lazy_p
from app.security.models import User
from app.security.principal import Principal

PLACEHOLDERS = ("{name}", "{company}")
_PLACEHOLDER_RE = re.compile(r"\{[^{}\s]{0,40}\}")
EDITABLE = ("planned", "scheduled")  # audience and content can change only before sending starts
# What may still change once sending has started: the plan's bookkeeping, not what was sent.
BOOKKEEPING = ("name", "objective", "budget", "actual_cost", "start_date", "end_date", "owner_id")


def personalise(text: str, *, name: str, company: str) -> str:
    """Fill in {name} and {company} (only these: a campaign body is never a format string)."""
    return text.replace("{name}", name).replace("{company}", company)


async def get_campaign(session: AsyncSession, campaign_id: int, *, for_update: bool = False) -> Campaign:
    campaign = await session.get(
        Campaign, campaign_id, with_for_update=for_update, populate_existing=for_update
    )
    if campaign is None:
        raise NotFound(lazy("campaign"))
    return campaign


def _check_placeholders(text: str, field: str, errors: list[FieldError]) -> None:
    for token in _PLACEHOLDER_RE.findall(text):
        if token not in PLACEHOLDERS:
            errors.append(
                FieldError(
                    field,
                    "Unknown placeholder {placeholder}: use {{name}} or {{company}}.",
                    {"placeholder": token},
                )
            )
            return


def _reference(value: object) -> int | None:
    """A chosen record's id: blank → None; anything that is not an id → 0, which names no record."""
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    return int(text) if text.isdigit() and len(text) < 18 else 0


async def _clean(session: AsyncSession, data: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    tenant = context.current_tenant()
    out: dict[str, Any] = {
        "name": clean_text(data.get("name"), "name", errors, required=True, max_len=200),
        "channel": clean_choice(data.get("channel"), "channel", errors, CAMPAIGN_CHANNELS, default="email"),
        "objective": clean_long_text(data.get("objective"), "objective", errors, max_len=2000),
        "start_date": clean_date(data.get("start_date"), "start_date", errors),
        "end_date": clean_date(data.get("end_date"), "end_date", errors),
        "budget": clean_money(data.get("budget"), "budget", errors, default=0),
        "actual_cost": clean_money(data.get("actual_cost"), "actual_cost", errors, default=0),
        "currency": clean_currency(
            data.get("currency"), "currency", errors, tenant.currency if tenant else "CNY"
        ),
        "subject": clean_text(data.get("subject"), "subject", errors, max_len=200),
        "body": clean_long_text(data.get("body"), "body", errors, max_len=50_000),
        "segment_id": _reference(data.get("segment_id")),
        "owner_id": _reference(data.get("owner_id")),
    }
    if out["start_date"] and out["end_date"] and out["end_date"] < out["start_date"]:
        errors.append(FieldError("end_date", "The end date must not be before the start date."))
    _check_placeholders(out["subject"], "subject", errors)
    _check_placeholders(out["body"], "body", errors)
    if out["segment_id"] is not None and (
        out["segment_id"] < 1 or await session.get(Segment, out["segment_id"]) is None
    ):
        errors.append(FieldError("segment_id", "Choose an existing segment."))
    if out["owner_id"] is not None:
        owner = await session.get(User, out["owner_id"]) if out["owner_id"] > 0 else None
        if owner is None or not owner.is_active or owner.is_external:
            errors.append(FieldError("owner_id", "Choose an active colleague."))
    return out


async def create_campaign(session: AsyncSession, principal: Principal, data: Mapping[str, Any]) -> Campaign:
    errors: list[FieldError] = []
    values = await _clean(session, data, errors)
    if errors:
        raise ValidationFailed(errors)
    if values["owner_id"] is None and principal.kind == "user":
        values["owner_id"] = principal.id
    async with audited(session, "crm.campaign_created"):
        campaign = Campaign(**values, status="planned")
        session.add(campaign)
    return campaign


async def update_campaign(
    session: AsyncSession, principal: Principal, campaign_id: int, data: Mapping[str, Any]
) -> Campaign:
    """Change the plan (forms send every field). Audience, channel and content are fixed once
    sending has started; the bookkeeping (cost, dates, owner) may always be corrected."""
    campaign = await get_campaign(session, campaign_id, for_update=True)
    errors: list[FieldError] = []
    values = await _clean(session, data, errors)
    if campaign.status not in EDITABLE:
        for key in ("channel", "segment_id", "subject", "body", "currency"):
            if values[key] != getattr(campaign, key):
                errors.append(FieldError(key, "This cannot change once sending has started."))
        values = {k: v for k, v in values.items() if k in BOOKKEEPING}
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.campaign_updated"):
        for key, value in values.items():
            setattr(campaign, key, value)
    return campaign


def _refuse(message: str) -> InvalidState:
    return InvalidState("campaign_invalid_state", message)


def content_errors(campaign: Campaign) -> list[FieldError]:
    """What an e-mail campaign still lacks before it can be scheduled or sent."""
    errors: list[FieldError] = []
    if campaign.channel != "email":
        errors.append(FieldError("channel", "Only e-mail campaigns are sent."))
    if campaign.segment_id is None:
        errors.append(FieldError("segment_id", "Choose the segment to send to."))
    if not campaign.subject:
        errors.append(FieldError("subject", "Write the subject line."))
    if not campaign.body:
        errors.append(FieldError("body", "Write the message."))
    return errors


async def schedule_campaign(
    session: AsyncSession, campaign_id: int, when: datetime | str | None, tz: str = "UTC"
) -> Campaign:
    """Send at ``when`` (an aware datetime, or "2026-12-11T09:30" read in ``tz``)."""
    campaign = await get_campaign(session, campaign_id, for_update=True)
    if campaign.status not in EDITABLE:
        raise _refuse(lazy("Only a planned campaign can be scheduled."))
    errors = content_errors(campaign)
    if isinstance(when, str):
        try:
            when = datetime.fromisoformat(when.strip()).replace(tzinfo=ZoneInfo(tz)) if when.strip() else None
        except ValueError:
            errors.append(FieldError("scheduled_at", "Enter a date and time."))
            raise ValidationFailed(errors) from None
    if when is None:
        errors.append(FieldError("scheduled_at", "Choose when to send."))
    elif when <= utcnow():
        errors.append(FieldError("scheduled_at", "Choose a time in the future."))
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.campaign_scheduled"):
        campaign.status = "scheduled"
        campaign.scheduled_at = when
    return campaign


async def unschedule_campaign(session: AsyncSession, campaign_id: int) -> Campaign:
    campaign = await get_campaign(session, campaign_id, for_update=True)
    if campaign.status != "scheduled":
        raise _refuse(lazy("Only a scheduled campaign can be unscheduled."))
    async with audited(session, "crm.campaign_unscheduled"):
        campaign.status = "planned"
        campaign.scheduled_at = None
    return campaign


async def cancel_campaign(session: AsyncSession, campaign_id: int) -> Campaign:
    """Stop the campaign; recipients not yet mailed are skipped (the batches see it and stop)."""
    campaign = await get_campaign(session, campaign_id, for_update=True)
    if campaign.status not in ("planned", "scheduled", "sending"):
        raise _refuse(lazy("This campaign can no longer be cancelled."))
    async with audited(session, "crm.campaign_cancelled"):
        campaign.status = "cancelled"
        await session.execute(
            update(CampaignRecipient)
            .where(CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.status == "pending")
            .values(status="skipped", error="cancelled")
        )
    return campaign


async def complete_campaign(session: AsyncSession, campaign_id: int) -> Campaign:
    """Close a sent e-mail campaign, or a campaign on another channel that has taken place."""
    campaign = await get_campaign(session, campaign_id, for_update=True)
    ok = campaign.status == "sent" or (campaign.channel != "email" and campaign.status in EDITABLE)
    if not ok:
        raise _refuse(lazy("Only a sent campaign, or one on another channel, can be completed."))
    async with audited(session, "crm.campaign_completed"):
        campaign.status = "completed"
    return campaign


async def mark_responded(session: AsyncSession, campaign_id: int, email: object) -> CampaignRecipient:
    """A recipient answered by phone, in person, by reply...: recorded by hand from the campaign page."""
    campaign = await get_campaign(session, campaign_id)
    errors: list[FieldError] = []
    address = clean_email(email, "email", errors, required=True)
    if errors or address is None:
        raise ValidationFailed(errors)
    recipient = await session.scalar(
        select(CampaignRecipient).where(
            CampaignRecipient.campaign_id == campaign.id, func.lower(CampaignRecipient.email) == address
        )
    )
    if recipient is None:
        raise ValidationFailed(
            [FieldError("email", "No recipient of this campaign has this e-mail address.")]
        )
    if recipient.responded_at is None:
        recipient.responded_at = utcnow()
        await session.flush()
    return recipient


def recipients_query(campaign_id: int, principal: Principal) -> Select[Any]:
    """The campaign's recipients the principal may see: a recipient follows their account's
    record rules (one whose account is gone is visible to those who see every account)."""
    r = CampaignRecipient
    stmt = select(r).outerjoin(Account, Account.id == r.account_id).where(r.campaign_id == campaign_id)
    clause = account_clause(principal)
    return stmt if clause is None else stmt.where(clause)


async def sample_recipient(session: AsyncSession, segment_id: int | None) -> tuple[str, str] | None:
    """(name, company) of a member contact with an e-mail address, for previews."""
    if segment_id is None:
        return None
    row = await session.execute(
        select(Contact.full_name, Account.name)
        .join(Account, Account.id == Contact.account_id)
        .join(SegmentMember, SegmentMember.account_id == Account.id)
        .where(
            SegmentMember.segment_id == segment_id, Contact.email.is_not(None), Contact.archived_at.is_(None)
        )
        .order_by(SegmentMember.monetary.desc(), Contact.is_primary.desc(), Contact.id)
        .limit(1)
    )
    found = row.first()
    return (found[0], found[1]) if found else None


async def progress(session: AsyncSession, campaign_id: int) -> dict[str, int]:
    """Recipients by status (pending, sent, failed, skipped)."""
    r = CampaignRecipient
    rows = await session.execute(
        select(r.status, func.count()).where(r.campaign_id == campaign_id).group_by(r.status)
    )
    return {status: int(n) for status, n in rows.all()}


STATUS_LABELS = {
    "planned": lazy("Planned"),
    "scheduled": lazy("Scheduled"),
    "sending": lazy("Sending"),
    "sent": lazy("Sent"),
    "completed": lazy("Completed"),
    "cancelled": lazy("Cancelled"),
}
CHANNEL_LABELS = {
    "email": lazy_p("channel", "E-mail"),
    "event": lazy_p("channel", "Event"),
    "advertising": lazy("Advertising"),
    "social": lazy("Social media"),
    "other": lazy("Other"),
}
