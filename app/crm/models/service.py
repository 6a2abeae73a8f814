"""Customer service (CRM-10/11): tickets under SLA policies, repair records, satisfaction surveys."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.crm.models.common import MONEY, QUANTITY, UNIT_PRICE
from app.kernel.db import IdMixin, TenantBase, TimestampMixin, utcnow
from app.security.record_rules import Owned

TICKET_PRIORITIES = ("low", "normal", "high", "urgent")
TICKET_STATUSES = ("new", "open", "pending", "resolved", "closed")
TICKET_CHANNELS = ("agent", "customer_portal", "email", "api", "phone")


class SlaPolicy(TenantBase, IdMixin, TimestampMixin):
    """Response and resolution targets for one priority, in calendar minutes (24 × 7)."""

    __tablename__ = "crm_sla_policies"
    __table_args__ = (
        CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')", name="priority"),
        CheckConstraint("first_response_minutes > 0 AND resolution_minutes > 0", name="minutes"),
    )

    name: Mapped[str] = mapped_column(String(120))
    priority: Mapped[str] = mapped_column(String(8), unique=True)
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Ticket(TenantBase, IdMixin, TimestampMixin, Owned):
    """A customer's request or problem. ``owner_id`` is the assigned agent, ``team_id`` the queue.

    Deadlines are fixed from the SLA policy when the ticket is opened (and re-fixed when its
    priority changes); the scheduler escalates tickets past them (app/crm/jobs.py).
    """

    __tablename__ = "crm_tickets"
    __table_args__ = (
        CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')", name="priority"),
        CheckConstraint("status IN ('new', 'open', 'pending', 'resolved', 'closed')", name="status"),
        Index("ix_crm_tickets_account", "account_id", "created_at"),
        Index("ix_crm_tickets_owner_status", "owner_id", "status"),
        Index("ix_crm_tickets_status_created", "status", "created_at"),
        Index(
            "ix_crm_tickets_open_deadlines",
            "resolution_due_at",
            postgresql_where="status NOT IN ('resolved', 'closed')",
        ),
    )

    number: Mapped[str] = mapped_column(String(32), unique=True)
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    account_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("crm_accounts.id"))
    contact_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crm_contacts.id", ondelete="SET NULL")
    )
    sales_order_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crm_sales_orders.id", ondelete="SET NULL")
    )
    product_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crm_products.id", ondelete="SET NULL")
    )
    requester_email: Mapped[str | None] = mapped_column(String(254))  # inbound e-mail from an unknown sender
    channel: Mapped[str] = mapped_column(String(16), default="agent")
    category: Mapped[str | None] = mapped_column(String(80))
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    status: Mapped[str] = mapped_column(String(16), default="new")
    sla_policy_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crm_sla_policies.id", ondelete="SET NULL")
    )
    first_response_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    response_breached: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    resolution_breached: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    escalation_level: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    email_thread_id: Mapped[str | None] = mapped_column(String(300))  # Message-ID of the opening mail


class TicketMessage(TenantBase, IdMixin):
    """A reply on a ticket: from an agent (``is_internal`` notes stay hidden from the customer),
    from the customer (portal or e-mail), or from the system."""

    __tablename__ = "crm_ticket_messages"
    __table_args__ = (
        CheckConstraint("author_kind IN ('agent', 'customer', 'system')", name="author_kind"),
        Index("ix_crm_ticket_messages_ticket", "ticket_id", "created_at"),
    )

    ticket_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("crm_tickets.id", ondelete="CASCADE"))
    author_kind: Mapped[str] = mapped_column(String(16))
    author_user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    author_email: Mapped[str | None] = mapped_column(String(254))
    body: Mapped[str] = mapped_column(Text)
    is_internal: Mapped[bool] = mapped_column(Boolean, default=False)
    email_message_id: Mapped[str | None] = mapped_column(String(300), unique=True)  # inbound dedupe
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ServiceRecord(TenantBase, IdMixin, TimestampMixin):
    """Work done for a ticket: a repair or service visit, its labour and the parts used."""

    __tablename__ = "crm_service_records"
    __table_args__ = (
        CheckConstraint("labour_hours >= 0 AND labour_rate >= 0", name="labour"),
        Index("ix_crm_service_records_ticket", "ticket_id"),
    )

    ticket_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("crm_tickets.id", ondelete="CASCADE"))
    summary: Mapped[str] = mapped_column(String(200))
    work_done: Mapped[str] = mapped_column(Text, default="", server_default="")
    performed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    technician_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
    labour_hours: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal("0"))
    labour_rate: Mapped[Decimal] = mapped_column(UNIT_PRICE, default=Decimal("0"))
    parts_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    labour_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))


class ServicePart(TenantBase, IdMixin):
    """A part used in a service record."""

    __tablename__ = "crm_service_parts"
    __table_args__ = (
        CheckConstraint("quantity > 0 AND unit_cost >= 0", name="amounts"),
        Index("ix_crm_service_parts_record", "record_id"),
    )

    record_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("crm_service_records.id", ondelete="CASCADE")
    )
    product_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crm_products.id", ondelete="SET NULL")
    )
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit_cost: Mapped[Decimal] = mapped_column(UNIT_PRICE)
    amount: Mapped[Decimal] = mapped_column(MONEY)


class Survey(TenantBase, IdMixin, Owned):
    """A satisfaction survey sent after a ticket closed: CSAT 1–5 and NPS 0–10, answered once.

    ``owner_id``/``team_id`` are the agent and team *at closing time*, so results stay with the
    people who did the work even if the ticket is reassigned later.
    """

    __tablename__ = "crm_surveys"
    __audit_exclude__ = frozenset({"token"})  # the link is the customer's key to answer
    __table_args__ = (
        CheckConstraint("csat IS NULL OR csat BETWEEN 1 AND 5", name="csat"),
        CheckConstraint("nps IS NULL OR nps BETWEEN 0 AND 10", name="nps"),
        UniqueConstraint("ticket_id"),
        Index("ix_crm_surveys_answered", "answered_at"),
    )

    ticket_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("crm_tickets.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("crm_accounts.id"))
    contact_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crm_contacts.id", ondelete="SET NULL")
    )
    email: Mapped[str | None] = mapped_column(String(254))
    token: Mapped[str] = mapped_column(String(43), unique=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    csat: Mapped[int | None] = mapped_column(SmallInteger)
    nps: Mapped[int | None] = mapped_column(SmallInteger)
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
