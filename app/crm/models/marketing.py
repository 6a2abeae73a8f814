"""Segments and campaigns (CRM-7/8/9): who to reach, what was sent, and what came of it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.crm.models.common import CURRENCY, MONEY
from app.kernel.db import IdMixin, TenantBase, TimestampMixin, utcnow

CAMPAIGN_STATUSES = ("planned", "scheduled", "sending", "sent", "completed", "cancelled")
CAMPAIGN_CHANNELS = ("email", "event", "advertising", "social", "other")
RECIPIENT_STATUSES = ("pending", "sent", "failed", "skipped")


class Segment(TenantBase, IdMixin, TimestampMixin):
    """A saved audience: accounts matching rules on spend, recency, frequency (RFM), region, tags
    and lifecycle stage. ``rules`` is ``[{"field": "monetary", "op": "gte", "value": "10000",
    "days": 365}, ...]`` (the vocabulary and its validation: app/crm/services/segment_rules.py);
    members are recomputed by a worker (app/crm/services/segments.py ``refresh_segment``)."""

    __tablename__ = "crm_segments"
    __table_args__ = (CheckConstraint("match IN ('all', 'any')", name="match"),)

    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    match: Mapped[str] = mapped_column(String(8), default="all")
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default="[]")
    member_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    refreshed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refresh_ms: Mapped[int | None] = mapped_column(Integer)
    # Set when someone asks for a refresh; the page shows "refreshing" until refreshed_at passes it.
    refresh_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SegmentMember(TenantBase):
    """An account in a segment as of the last refresh, with its RFM figures at that moment (so the
    member list and its export show what the rules were evaluated on, without recomputing)."""

    __tablename__ = "crm_segment_members"
    __audit__ = False  # recomputed wholesale by the refresh; the refresh itself is audited

    segment_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("crm_segments.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("crm_accounts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    recency_days: Mapped[int | None] = mapped_column(Integer)  # None: never ordered
    frequency: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # orders, 365 days
    monetary: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"), server_default="0")  # 365 days
    r_score: Mapped[int | None] = mapped_column(SmallInteger)  # 1-5 among customers; None: no orders
    f_score: Mapped[int | None] = mapped_column(SmallInteger)
    m_score: Mapped[int | None] = mapped_column(SmallInteger)


class Campaign(TenantBase, IdMixin, TimestampMixin):
    """A marketing action with a budget and an audience; e-mail campaigns are sent by a worker."""

    __tablename__ = "crm_campaigns"
    __table_args__ = (
        CheckConstraint(
            "status IN ('planned', 'scheduled', 'sending', 'sent', 'completed', 'cancelled')", name="status"
        ),
        CheckConstraint("budget >= 0 AND actual_cost >= 0", name="money"),
    )

    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16), default="email")
    status: Mapped[str] = mapped_column(String(16), default="planned")
    objective: Mapped[str] = mapped_column(Text, default="", server_default="")
    segment_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crm_segments.id", ondelete="SET NULL")
    )
    budget: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    actual_cost: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    currency: Mapped[str] = mapped_column(CURRENCY)
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    subject: Mapped[str] = mapped_column(String(200), default="", server_default="")
    body: Mapped[str] = mapped_column(Text, default="", server_default="")  # plain text, {name} placeholders
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    owner_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))


class CampaignRecipient(TenantBase, IdMixin):
    """One person a campaign was sent to, with what they did: opened, clicked, responded,
    unsubscribed. ``token`` is the unguessable key of their tracking and unsubscribe links."""

    __tablename__ = "crm_campaign_recipients"
    __audit__ = False  # high volume; the campaign's send is audited
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed', 'skipped')", name="status"),
        Index("uq_crm_campaign_recipients_campaign_email", "campaign_id", text("lower(email)"), unique=True),
        Index(
            "ix_crm_campaign_recipients_pending", "campaign_id", "id", postgresql_where="status = 'pending'"
        ),
        Index("ix_crm_campaign_recipients_account", "account_id"),
    )

    campaign_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("crm_campaigns.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crm_accounts.id", ondelete="SET NULL")
    )
    contact_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crm_contacts.id", ondelete="SET NULL")
    )
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200), default="")
    token: Mapped[str] = mapped_column(String(43), unique=True)
    locale: Mapped[str | None] = mapped_column(String(16))  # of the e-mail and the unsubscribe page
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    clicked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EmailSuppression(TenantBase):
    """An address that must not receive marketing e-mail (it unsubscribed or bounced)."""

    __tablename__ = "crm_email_suppressions"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)  # stored lower-case
    reason: Mapped[str] = mapped_column(String(32), default="unsubscribed")
    campaign_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crm_campaigns.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
