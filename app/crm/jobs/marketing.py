"""Marketing's periodic work: the nightly segment refresh and starting scheduled campaigns."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.services import campaign_sending, segments
from app.kernel.periodic import periodic


# Slots align to UTC midnight (app/kernel/periodic.py): early morning in Asia, before the day's sends.
@periodic("crm.segment_refresh", every=timedelta(days=1), time_limit_ms=30 * 60_000)
async def refresh_every_segment(session: AsyncSession) -> int:
    """Recompute every segment's members from today's orders and accounts."""
    return await segments.refresh_all(session)


@periodic("crm.campaign_scheduled_send", every=timedelta(minutes=1))
async def start_due_campaigns(session: AsyncSession) -> int:
    """Start sending the scheduled campaigns whose time has come (state: status and scheduled_at)."""
    return await campaign_sending.start_due_campaigns(session)
