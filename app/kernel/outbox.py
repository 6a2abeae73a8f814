"""The transactional outbox (PLAT-6, ARCHITECTURE.md "Consistency").

A business change and the event announcing it are written in one transaction: the event row
goes to ``public.outbox`` through the same session as the change. The relay (workers/relay.py)
later hands committed rows to Dramatiq — at least once — so a crash or a Redis outage between
commit and delivery loses nothing. Handlers dedupe on ``event_id``.

    await publish(session, "security.invitation_created", {"invitation_id": inv.id})
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.kernel import context
from app.kernel.db import SharedBase, utcnow

NOTIFY_CHANNEL = "tessera_outbox"


class OutboxEvent(SharedBase):
    """An event committed with the change that caused it, waiting to be relayed to the workers."""

    __tablename__ = "outbox"
    __audit__ = False
    __table_args__ = (Index("ix_outbox_pending", "id", postgresql_where=text("published_at IS NULL")),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True, default=uuid.uuid4)
    tenant_id: Mapped[int | None] = mapped_column(BigInteger)
    topic: Mapped[str] = mapped_column(String(120))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    available_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


async def publish(
    session: AsyncSession,
    topic: str,
    payload: dict[str, Any],
    *,
    tenant_id: int | None = None,
    available_at: datetime | None = None,
) -> OutboxEvent:
    """Add an event to the caller's transaction. ``tenant_id`` defaults to the current tenant."""
    if tenant_id is None:
        tenant = context.current_tenant()
        tenant_id = tenant.id if tenant else None
    event = OutboxEvent(
        event_id=uuid.uuid4(),
        tenant_id=tenant_id,
        topic=topic,
        payload=payload,
        created_at=utcnow(),
        available_at=available_at or utcnow(),
    )
    session.add(event)
    return event
