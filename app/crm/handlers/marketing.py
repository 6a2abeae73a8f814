"""Marketing's outbox handlers (CRM-7/8): segment refreshes and campaign sending, run by the workers.

* ``crm.segment_refresh_requested`` → recompute the segment's members (one set-based statement).
* ``crm.campaign_send_requested`` → cut the frozen recipients into batches of at most 200.
* ``crm.campaign_batch_ready`` → mail one batch; the last batch marks the campaign sent.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.crm import events
from app.crm.notifications import SEGMENT_REFRESHED
from app.crm.services import campaign_sending, segments
from app.kernel import i18n
from app.kernel.errors import NotFound
from app.kernel.events import Event, subscribe
from app.kernel.logging import get_logger
from app.notifications.interface import notify
from app.security.models import User

log = get_logger("crm.marketing")


@subscribe(events.SEGMENT_REFRESH_REQUESTED, time_limit_ms=5 * 60_000)
async def refresh_requested_segment(event: Event, session: AsyncSession) -> None:
    try:
        result = await segments.refresh_segment(session, int(event.payload["segment_id"]))
    except NotFound:
        log.info("segment gone before its refresh", segment_id=event.payload["segment_id"])
        return
    log.info(
        "segment refreshed", segment_id=result.segment_id, members=result.member_count, ms=result.refresh_ms
    )
    requested_by = event.payload.get("requested_by")
    user = await session.get(User, int(requested_by)) if requested_by else None
    if user is not None and user.is_active:
        segment = await segments.get_segment(session, result.segment_id)
        with i18n.use_locale(user.locale or _tenant_locale()):
            title = i18n.ngettext(
                "The segment {name} is refreshed: {n} account.",
                "The segment {name} is refreshed: {n} accounts.",
                result.member_count,
                name=segment.name,
            )
        await notify(
            session, user.id, SEGMENT_REFRESHED, title=title, link=f"/marketing/segments/{segment.id}"
        )


@subscribe(events.CAMPAIGN_SEND_REQUESTED)
async def plan_campaign_batches(event: Event, session: AsyncSession) -> None:
    await campaign_sending.plan_batches(session, int(event.payload["campaign_id"]))


# Up to 200 SMTP conversations: generous limit; a retried batch skips what it already sent.
@subscribe(events.CAMPAIGN_BATCH_READY, time_limit_ms=10 * 60_000, max_retries=20)
async def send_campaign_batch(event: Event, session: AsyncSession) -> None:
    p = event.payload
    await campaign_sending.send_batch(session, int(p["campaign_id"]), int(p["after_id"]), int(p["up_to_id"]))


def _tenant_locale() -> str:
    from app.kernel import context

    tenant = context.current_tenant()
    return tenant.locale if tenant else i18n.DEFAULT_LOCALE
