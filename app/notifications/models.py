"""In-app notifications and each user's delivery preferences."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.kernel.db import IdMixin, TenantBase, utcnow


class Notification(TenantBase, IdMixin):
    """A message shown to one user in the portal's notification list (and its badge)."""

    __tablename__ = "notifications"
    __audit__ = False  # high volume; the change that caused it is audited
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at", "id"),)

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NotificationPreference(TenantBase):
    """Whether a user wants ``kind`` on ``channel`` (absent row = the kind's default)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)  # "in_app" | "email"
    enabled: Mapped[bool] = mapped_column(Boolean)
