"""Bookkeeping the workers need in the shared schema."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.kernel.db import SharedBase, utcnow


class ProcessedMessage(SharedBase):
    """Proof that ``handler`` already applied ``event_id``: written in the same transaction as the
    handler's effect, so a redelivered message (at-least-once) changes nothing the second time."""

    __tablename__ = "processed_messages"
    __audit__ = False

    handler: Mapped[str] = mapped_column(String(120), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SchedulerRun(SharedBase):
    """One firing of a periodic job for one time slot; the primary key makes a second scheduler
    (or a leader hand-over) unable to fire the same slot twice."""

    __tablename__ = "scheduler_runs"
    __audit__ = False

    job: Mapped[str] = mapped_column(String(120), primary_key=True)
    slot: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    fired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
