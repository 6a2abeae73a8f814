"""Opportunities (CRM-3): deals moving through configurable stages toward won or lost."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.crm.models.common import CURRENCY, MONEY
from app.kernel.db import IdMixin, TenantBase, TimestampMixin, utcnow
from app.security.record_rules import Owned


class PipelineStage(TenantBase, IdMixin, TimestampMixin):
    """A column of the pipeline with its win probability. Exactly one stage is the won stage and
    one the lost stage; they close the opportunity. Defaults are seeded by the migration."""

    __tablename__ = "crm_pipeline_stages"
    __table_args__ = (
        CheckConstraint("probability BETWEEN 0 AND 100", name="probability"),
        CheckConstraint("NOT (is_won AND is_lost)", name="won_or_lost"),
        # At most one won and one lost stage, whatever a bug or a hand-made INSERT tries.
        Index("uq_crm_pipeline_stages_won", "is_won", unique=True, postgresql_where=text("is_won")),
        Index("uq_crm_pipeline_stages_lost", "is_lost", unique=True, postgresql_where=text("is_lost")),
    )

    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))  # built-in stages: an English msgid, shown with tr()
    probability: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    is_won: Mapped[bool] = mapped_column(Boolean, default=False)
    is_lost: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Opportunity(TenantBase, IdMixin, TimestampMixin, Owned):
    """A deal with an account: its amount, stage and expected close date.

    ``probability`` starts as the stage's and may be overridden by the rep; the weighted forecast
    is ``amount × probability``. ``closed_at`` is set when it enters a won or lost stage.
    """

    __tablename__ = "crm_opportunities"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount"),
        CheckConstraint("probability BETWEEN 0 AND 100", name="probability"),
        Index("ix_crm_opportunities_owner_stage", "owner_id", "stage_id", "board_position"),
        Index("ix_crm_opportunities_stage", "stage_id", "board_position"),
        Index("ix_crm_opportunities_account", "account_id"),
        Index("ix_crm_opportunities_close", "expected_close_date"),
        Index("ix_crm_opportunities_closed", "closed_at"),
        Index("ix_crm_opportunities_campaign", "campaign_id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("crm_accounts.id"))
    contact_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crm_contacts.id", ondelete="SET NULL")
    )
    stage_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("crm_pipeline_stages.id"))
    amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    currency: Mapped[str] = mapped_column(CURRENCY)
    probability: Mapped[int] = mapped_column(Integer)
    expected_close_date: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(String(40))
    campaign_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crm_campaigns.id", ondelete="SET NULL")
    )
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    lost_reason: Mapped[str | None] = mapped_column(String(200))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stage_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Order of cards inside a kanban column (fractional, so a drop between two cards is one UPDATE).
    board_position: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")


class StageChange(TenantBase, IdMixin):
    """One move of an opportunity between stages: the history behind cycle time and win rate."""

    __tablename__ = "crm_stage_changes"
    __audit__ = False  # the opportunity's own update is audited; this is its derived history
    __table_args__ = (Index("ix_crm_stage_changes_opportunity", "opportunity_id", "changed_at"),)

    opportunity_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("crm_opportunities.id", ondelete="CASCADE")
    )
    from_stage_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("crm_pipeline_stages.id"))
    to_stage_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("crm_pipeline_stages.id"))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
