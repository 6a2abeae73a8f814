"""Sending an e-mail campaign (CRM-7), from the "Send" button to the last batch.

1. ``start_sending`` (the request, or the scheduler for scheduled campaigns) freezes the recipients
   in ONE statement — contacts with an e-mail address at the segment's member accounts, minus
   suppressed addresses, one per address (lower-cased), each with a random token — marks the
   campaign ``sending`` and publishes ``crm.campaign_send_requested``.
2. ``plan_batches`` (worker) cuts the pending recipients into id ranges of at most 200 and
   publishes one ``crm.campaign_batch_ready`` per range.
3. ``send_batch`` (worker) mails each pending recipient of its range through app/kernel/mail.py
   and marks it sent — or failed, for a permanent refusal — *in its own committed transaction*,
   so a worker killed mid-batch leaves the sent ones marked: the redelivered batch skips them. A
   temporary SMTP failure raises, and the batch is retried with back-off. The Message-ID is stable
   per recipient, so the one message that may go out twice (sent, then killed before its mark was
   committed) is recognisably the same message.
4. The batch that finds nothing pending any more marks the campaign ``sent`` and tells its owner.
"""

from __future__ import annotations

import smtplib
from typing import Any

from sqlalchemy import String, case, exists, func, literal, literal_column, select, update
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm import events
from app.crm.errors import InvalidState
from app.crm.models import Account, Campaign, CampaignRecipient, Contact, EmailSuppression, SegmentMember
from app.crm.notifications import CAMPAIGN_SENT
from app.crm.services import tracking
from app.crm.services.campaigns import content_errors, get_campaign, personalise
from app.kernel import context, i18n, mail
from app.kernel.audit import audited
from app.kernel.db import get_database, unit_of_work, utcnow
from app.kernel.errors import ValidationFailed
from app.kernel.i18n import lazy
from app.kernel.logging import get_logger
from app.kernel.outbox import publish
from app.notifications.interface import notify
from app.security.models import User
from app.settings import get_settings

BATCH_SIZE = 200
log = get_logger("crm.campaigns")

# 32 random bytes (two v4 UUIDs from the server's strong random source), URL-safe base64, no padding.
_RANDOM_KEY_SQL = (
    "rtrim(translate(encode(decode(replace(gen_random_uuid()::text, '-', '') || "
    "replace(gen_random_uuid()::text, '-', ''), 'hex'), 'base64'), '+/', '-_'), '=')"
)


def _recipients_of(campaign: Campaign, default_locale: str) -> Any:
    """SELECT of the campaign's recipients, as inserted by ``freeze_recipients``."""
    c, a, m = Contact, Account, SegmentMember
    address = func.lower(c.email)
    language = a.preferences["language"].astext
    suppressed = exists().where(EmailSuppression.email == address)
    return (
        select(
            literal(campaign.id),
            c.account_id,
            c.id,
            func.btrim(c.email),
            c.full_name,
            literal_column(_RANDOM_KEY_SQL, String),
            case((language.in_(list(i18n.LOCALES)), language), else_=default_locale),
            literal("pending"),
        )
        .ext(distinct_on(address))
        .select_from(m)
        .join(a, a.id == m.account_id)
        .join(c, c.account_id == a.id)
        .where(
            m.segment_id == campaign.segment_id,
            a.merged_into_id.is_(None),
            c.archived_at.is_(None),
            c.email.is_not(None),
            func.btrim(c.email) != "",
            ~suppressed,
        )
        .order_by(address, c.is_primary.desc(), c.id)
    )


async def freeze_recipients(session: AsyncSession, campaign: Campaign) -> int:
    """Write the recipient list in one INSERT ... SELECT; returns how many were written."""
    tenant = context.current_tenant()
    columns = ["campaign_id", "account_id", "contact_id", "email", "name", "token", "locale", "status"]
    stmt = insert(CampaignRecipient).from_select(
        columns, _recipients_of(campaign, tenant.locale if tenant else "en")
    )
    result = await session.execute(stmt.on_conflict_do_nothing())
    return max(int(result.rowcount or 0), 0)  # type: ignore[attr-defined]


async def estimate_recipients(session: AsyncSession, campaign: Campaign) -> int:
    """How many addresses a send would reach now (the confirmation shows it)."""
    if campaign.segment_id is None:
        return 0
    query = _recipients_of(campaign, "en").order_by(None).subquery()
    return int(await session.scalar(select(func.count()).select_from(query)) or 0)


async def start_sending(session: AsyncSession, campaign_id: int) -> int:
    """Freeze the recipients and hand the campaign to the workers; returns the recipient count."""
    campaign = await get_campaign(session, campaign_id, for_update=True)
    if campaign.status not in ("planned", "scheduled"):
        raise InvalidState(
            "campaign_invalid_state", lazy("This campaign has already been sent or cancelled.")
        )
    errors = content_errors(campaign)
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.campaign_send_started"):
        count = await freeze_recipients(session, campaign)
        if count == 0:
            raise InvalidState(
                "campaign_no_recipients",
                lazy("No one in this segment can receive it: no contact has an address, or all opted out."),
            )
        campaign.status = "sending"
        campaign.scheduled_at = campaign.scheduled_at or utcnow()
    await publish(session, events.CAMPAIGN_SEND_REQUESTED, {"campaign_id": campaign.id})
    return count


async def start_due_campaigns(session: AsyncSession) -> int:
    """Scheduled campaigns whose time has come start sending; stalled ones are finished."""
    due = (
        (
            await session.execute(
                select(Campaign.id).where(Campaign.status == "scheduled", Campaign.scheduled_at <= utcnow())
            )
        )
        .scalars()
        .all()
    )
    started = 0
    for campaign_id in due:
        try:
            async with session.begin_nested():
                await start_sending(session, campaign_id)
            started += 1
        except (InvalidState, ValidationFailed) as exc:
            log.warning("scheduled campaign not sent", campaign_id=campaign_id, reason=exc.english)
            await _cancel_unsendable(session, campaign_id)
    sending = (await session.execute(select(Campaign.id).where(Campaign.status == "sending"))).scalars().all()
    for campaign_id in sending:
        await finish_if_done(session, campaign_id)
    return started


async def _cancel_unsendable(session: AsyncSession, campaign_id: int) -> None:
    """A scheduled campaign that cannot go out (empty audience) goes back to planned, once."""
    async with audited(session, "crm.campaign_unscheduled"):
        campaign = await get_campaign(session, campaign_id, for_update=True)
        if campaign.status == "scheduled":
            campaign.status = "planned"
            campaign.scheduled_at = None


async def plan_batches(session: AsyncSession, campaign_id: int) -> int:
    """One ``crm.campaign_batch_ready`` per ≤ 200 pending recipients (contiguous id ranges)."""
    r = CampaignRecipient
    numbered = (
        select(r.id, ((func.row_number().over(order_by=r.id) - 1) // BATCH_SIZE).label("batch"))
        .where(r.campaign_id == campaign_id, r.status == "pending")
        .subquery()
    )
    ranges = await session.execute(
        select(func.min(numbered.c.id), func.max(numbered.c.id))
        .group_by(numbered.c.batch)
        .order_by(numbered.c.batch)
    )
    count = 0
    for low, high in ranges.all():
        await publish(
            session,
            events.CAMPAIGN_BATCH_READY,
            {"campaign_id": campaign_id, "after_id": low - 1, "up_to_id": high},
        )
        count += 1
    if count == 0:
        await finish_if_done(session, campaign_id)
    return count


def message_id(campaign_id: int, recipient_id: int) -> str:
    tenant = context.current_tenant()
    slug = tenant.slug if tenant else "platform"
    return f"<campaign-{campaign_id}.{recipient_id}.{slug}@{get_settings().base_domain}>"


def render_for(
    campaign: Campaign, recipient: CampaignRecipient, company: str, origin: str
) -> mail.RenderedMail:
    """The e-mail one recipient gets: personalised, tracked links, pixel and unsubscribe footer."""
    tenant = context.current_tenant()
    token = recipient.token
    text = personalise(campaign.body, name=recipient.name, company=company)
    return mail.render(
        "campaign",
        recipient.locale,
        subject=personalise(campaign.subject, name=recipient.name, company=company),
        text_body=text,
        html_body=tracking.html_body(text, lambda url: tracking.click_url(origin, token, url)),
        pixel_url=tracking.open_url(origin, token),
        unsubscribe_url=tracking.unsubscribe_url(origin, token),
        sender=tenant.name if tenant else "",
    )


def preview(subject: str, body: str, *, name: str, company: str, locale: str | None) -> mail.RenderedMail:
    """The e-mail as a recipient called ``name`` at ``company`` would read it (the editor's preview)."""
    tenant = context.current_tenant()
    origin = get_settings().tenant_origin(tenant.slug) if tenant else ""
    text = personalise(body, name=name, company=company)
    return mail.render(
        "campaign",
        locale,
        subject=personalise(subject, name=name, company=company),
        text_body=text,
        html_body="",
        pixel_url="",
        unsubscribe_url=tracking.unsubscribe_url(origin, "…"),
        sender=tenant.name if tenant else "",
    )


def _permanent_error(exc: Exception) -> str | None:
    """The refusal text when the server refused this recipient for good (5xx); None if temporary."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refusals = list(exc.recipients.values())
        if refusals and all(code >= 500 for code, _ in refusals):
            code, msg = refusals[0]
            return f"{code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
    if isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500:
        answer = exc.smtp_error
        return f"{exc.smtp_code} {answer.decode(errors='replace') if isinstance(answer, bytes) else answer}"
    return None


async def _mark(recipient_id: int, **values: Any) -> None:
    """Record one recipient's outcome in its own transaction (it must survive a killed batch)."""
    tenant = context.current_tenant()
    assert tenant is not None
    async with unit_of_work(get_database().tenant_session(tenant.schema)) as side:
        r = CampaignRecipient
        await side.execute(update(r).where(r.id == recipient_id, r.status == "pending").values(**values))


async def send_batch(session: AsyncSession, campaign_id: int, after_id: int, up_to_id: int) -> int:
    """Mail the pending recipients with ``after_id < id <= up_to_id``; returns how many were sent."""
    tenant = context.current_tenant()
    assert tenant is not None
    campaign = await get_campaign(session, campaign_id)
    r = CampaignRecipient
    in_range = (r.campaign_id == campaign_id, r.id > after_id, r.id <= up_to_id, r.status == "pending")
    if campaign.status != "sending":
        await _skip(select(r.id).where(*in_range), "cancelled")
        return 0
    # Addresses that unsubscribed (from another campaign) since the list was frozen.
    await _skip(
        select(r.id).where(*in_range, exists().where(EmailSuppression.email == func.lower(r.email))),
        "unsubscribed",
    )
    rows = await session.execute(
        select(r, Account.name).outerjoin(Account, Account.id == r.account_id).where(*in_range).order_by(r.id)
    )
    origin = get_settings().tenant_origin(tenant.slug)
    sent = 0
    for recipient, company in rows.all():
        rendered = render_for(campaign, recipient, company or "", origin)
        unsubscribe = tracking.unsubscribe_url(origin, recipient.token)
        headers = {
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        try:
            await mail.send(
                recipient.email, rendered, message_id=message_id(campaign.id, recipient.id), headers=headers
            )
        except (smtplib.SMTPException, OSError) as exc:
            refusal = _permanent_error(exc) if isinstance(exc, smtplib.SMTPException) else None
            if refusal is None:
                raise  # temporary: the batch is retried; what was sent stays marked
            await _mark(recipient.id, status="failed", error=refusal[:500])
            continue
        await _mark(recipient.id, status="sent", sent_at=utcnow(), error=None)
        sent += 1
    await finish_if_done(session, campaign_id)
    return sent


async def _skip(ids: Any, reason: str) -> None:
    tenant = context.current_tenant()
    assert tenant is not None
    async with unit_of_work(get_database().tenant_session(tenant.schema)) as side:
        r = CampaignRecipient
        await side.execute(update(r).where(r.id.in_(ids)).values(status="skipped", error=reason))


async def finish_if_done(session: AsyncSession, campaign_id: int) -> bool:
    """Mark the campaign sent when no recipient is pending any more. The campaign row is locked,
    so of two batches finishing at the same moment exactly one marks it and notifies."""
    r = CampaignRecipient
    pending = await session.scalar(
        select(exists().where(r.campaign_id == campaign_id, r.status == "pending"))
    )
    if pending:
        return False
    campaign = await get_campaign(session, campaign_id, for_update=True)
    if campaign.status != "sending":
        return False
    async with audited(session, "crm.campaign_sent"):
        campaign.status = "sent"
        campaign.sent_at = utcnow()
    await _notify_owner(session, campaign)
    return True


async def _notify_owner(session: AsyncSession, campaign: Campaign) -> None:
    campaign_id = campaign.id
    owner = await session.get(User, campaign.owner_id) if campaign.owner_id else None
    if owner is None or not owner.is_active:
        return
    r = CampaignRecipient
    counts = dict(
        (
            await session.execute(
                select(r.status, func.count()).where(r.campaign_id == campaign_id).group_by(r.status)
            )
        ).all()
    )
    tenant = context.current_tenant()
    with i18n.use_locale(owner.locale or (tenant.locale if tenant else None)):
        title = i18n.gettext(
            "The campaign {name} is sent: {sent} delivered, {failed} failed, {skipped} skipped.",
            name=campaign.name,
            sent=counts.get("sent", 0),
            failed=counts.get("failed", 0),
            skipped=counts.get("skipped", 0),
        )
    await notify(
        session, owner.id, CAMPAIGN_SENT, title=title, link=f"/marketing/campaigns/{campaign.id}/results"
    )
