"""Periodic clean-ups the scheduler runs (workers/jobs.py): bookkeeping tables must not grow
without bound, and read notifications are kept for a quarter only (PLAT-6, PLAT-7)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel.db import utcnow
from app.kernel.idempotency import IdempotencyKey
from app.kernel.outbox import OutboxEvent
from app.notifications.models import Notification
from workers.models import ProcessedMessage

# Relayed events stay a week for inspection ("was this ever sent?").
OUTBOX_KEEP = timedelta(days=7)
# Far longer than any redelivery can arrive (Dramatiq keeps dead letters 7 days): a dedupe record
# older than this can no longer stop a duplicate.
PROCESSED_KEEP = timedelta(days=30)
READ_NOTIFICATIONS_KEEP = timedelta(days=90)
# docs/api.md promises replays for at least 24 hours; a key is kept a little longer.
IDEMPOTENCY_KEEP = timedelta(hours=26)


async def delete_relayed_outbox_events(session: AsyncSession) -> int:
    """Published outbox rows older than a week; unpublished rows are never touched."""
    result = await session.execute(
        delete(OutboxEvent).where(
            OutboxEvent.published_at.is_not(None), OutboxEvent.published_at < utcnow() - OUTBOX_KEEP
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def forget_processed_messages(session: AsyncSession) -> int:
    result = await session.execute(
        delete(ProcessedMessage).where(ProcessedMessage.processed_at < utcnow() - PROCESSED_KEEP)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def delete_old_read_notifications(session: AsyncSession) -> int:
    """Read notifications older than 90 days in the session's tenant; unread ones stay."""
    result = await session.execute(
        delete(Notification).where(
            Notification.read_at.is_not(None), Notification.created_at < utcnow() - READ_NOTIFICATIONS_KEEP
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def delete_expired_idempotency_keys(session: AsyncSession) -> int:
    """Answered ``Idempotency-Key``s past their replay window, in the session's tenant."""
    result = await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < utcnow() - IDEMPOTENCY_KEEP)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
