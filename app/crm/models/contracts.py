"""Contracts and collections (CRM-5): signed terms, the payment schedule, and what was collected."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.crm.models.common import CURRENCY, MONEY
from app.kernel.db import IdMixin, TenantBase, TimestampMixin, utcnow
from app.security.record_rules import Owned

CONTRACT_STATUSES = ("draft", "active", "completed", "terminated")


class Contract(TenantBase, IdMixin, TimestampMixin, Owned):
    """An agreement with an account: value, term, payment terms, and a schedule of instalments."""

    __tablename__ = "crm_contracts"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'active', 'completed', 'terminated')", name="status"),
        CheckConstraint("value >= 0", name="value"),
        CheckConstraint("end_date IS NULL OR start_date IS NULL OR end_date >= start_date", name="term"),
        Index("ix_crm_contracts_account", "account_id"),
    )

    number: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("crm_accounts.id"))
    sales_order_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crm_sales_orders.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(16), default="draft")
    value: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(CURRENCY)
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    signed_on: Mapped[date | None] = mapped_column(Date)
    payment_terms: Mapped[str] = mapped_column(String(200), default="", server_default="")  # "30% on signing"
    terms: Mapped[str] = mapped_column(Text, default="", server_default="")


class PaymentInstalment(TenantBase, IdMixin, TimestampMixin):
    """One amount due on one date under a contract; ``collected`` grows with each collection.

    The status is derived from amount, collected and the date (app/crm/services/collections.py),
    and the reminder columns make the daily reminder job idempotent.
    """

    __tablename__ = "crm_payment_instalments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("collected >= 0 AND collected <= amount", name="collected"),
        Index("ix_crm_payment_instalments_contract", "contract_id", "due_date"),
        Index("ix_crm_payment_instalments_due_open", "due_date", postgresql_where="collected < amount"),
    )

    contract_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("crm_contracts.id", ondelete="CASCADE"))
    due_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    collected: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"), server_default="0")
    description: Mapped[str] = mapped_column(String(200), default="", server_default="")
    due_reminder_sent_on: Mapped[date | None] = mapped_column(Date)
    overdue_reminder_sent_on: Mapped[date | None] = mapped_column(Date)


class Collection(TenantBase, IdMixin):
    """Money received against an instalment (a bank transfer, a cheque, a cash receipt)."""

    __tablename__ = "crm_collections"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        Index("ix_crm_collections_instalment", "instalment_id"),
    )

    instalment_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("crm_payment_instalments.id", ondelete="CASCADE")
    )
    amount: Mapped[Decimal] = mapped_column(MONEY)
    received_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(32), default="bank_transfer")
    reference: Mapped[str | None] = mapped_column(String(80))
    user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
