"""Quotes and sales orders (CRM-4): priced documents for an account, and their status."""

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
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.crm.models.common import CURRENCY, MONEY, PERCENT, QUANTITY, UNIT_PRICE
from app.kernel.db import IdMixin, TenantBase, TimestampMixin
from app.security.record_rules import Owned

QUOTE_STATUSES = ("draft", "sent", "accepted", "rejected", "expired", "ordered")
ORDER_STATUSES = ("draft", "confirmed", "fulfilled", "invoiced", "cancelled")


class _Totals:
    """Document totals, always recomputed from the lines by the service (never typed in)."""

    subtotal: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))  # after line discounts
    discount_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    tax_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))


class _Line:
    """A priced line: quantity × unit price, less a discount, plus VAT (rounded per line)."""

    position: Mapped[int] = mapped_column(Integer, default=0)
    product_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("crm_products.id"))
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit: Mapped[str] = mapped_column(String(16), default="pcs")
    unit_price: Mapped[Decimal] = mapped_column(UNIT_PRICE)
    discount_percent: Mapped[Decimal] = mapped_column(PERCENT, default=Decimal("0"))
    tax_rate: Mapped[Decimal] = mapped_column(PERCENT, default=Decimal("0"))
    net_amount: Mapped[Decimal] = mapped_column(MONEY)  # after discount, before tax
    discount_amount: Mapped[Decimal] = mapped_column(MONEY)
    tax_amount: Mapped[Decimal] = mapped_column(MONEY)
    total_amount: Mapped[Decimal] = mapped_column(MONEY)


class Quote(TenantBase, IdMixin, TimestampMixin, Owned, _Totals):
    """An offer to an account; accepted quotes become sales orders."""

    __tablename__ = "crm_quotes"
    __table_args__ = (
        CheckConstraint(
            "status IN ('draft', 'sent', 'accepted', 'rejected', 'expired', 'ordered')", name="status"
        ),
        Index("ix_crm_quotes_account", "account_id"),
        Index("ix_crm_quotes_opportunity", "opportunity_id"),
    )

    number: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("crm_accounts.id"))
    contact_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crm_contacts.id", ondelete="SET NULL")
    )
    opportunity_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crm_opportunities.id", ondelete="SET NULL")
    )
    price_list_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crm_price_lists.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(16), default="draft")
    currency: Mapped[str] = mapped_column(CURRENCY)
    valid_until: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class QuoteLine(TenantBase, IdMixin, _Line):
    __tablename__ = "crm_quote_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("unit_price >= 0", name="unit_price"),
        CheckConstraint("discount_percent >= 0 AND discount_percent <= 100", name="discount"),
        Index("ix_crm_quote_lines_quote", "quote_id", "position"),
    )

    quote_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("crm_quotes.id", ondelete="CASCADE"))


class SalesOrder(TenantBase, IdMixin, TimestampMixin, Owned, _Totals):
    """A customer's order. Status: draft → confirmed → fulfilled → invoiced, or cancelled.

    Confirming publishes ``crm.sales_order_confirmed`` (app/crm/events.py): finance posts the
    receivable from it, production plans from it. Lines are frozen once confirmed.
    """

    __tablename__ = "crm_sales_orders"
    __table_args__ = (
        CheckConstraint(
            "status IN ('draft', 'confirmed', 'fulfilled', 'invoiced', 'cancelled')", name="status"
        ),
        Index("ix_crm_sales_orders_account", "account_id", "order_date"),
        Index("ix_crm_sales_orders_owner_date", "owner_id", "order_date"),
        Index("ix_crm_sales_orders_status_date", "status", "order_date"),
        Index("ix_crm_sales_orders_opportunity", "opportunity_id"),
    )

    number: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("crm_accounts.id"))
    contact_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crm_contacts.id", ondelete="SET NULL")
    )
    quote_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("crm_quotes.id", ondelete="SET NULL"))
    opportunity_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crm_opportunities.id", ondelete="SET NULL")
    )
    price_list_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crm_price_lists.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(16), default="draft")
    currency: Mapped[str] = mapped_column(CURRENCY)
    order_date: Mapped[date] = mapped_column(Date)
    requested_delivery_date: Mapped[date | None] = mapped_column(Date)
    customer_reference: Mapped[str | None] = mapped_column(String(80))  # the customer's PO number
    shipping_address: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fulfilled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    invoiced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    # Finance's invoice number, set with the status "invoiced" (app/crm/interface.py).
    invoice_ref: Mapped[str | None] = mapped_column(String(80))


class SalesOrderLine(TenantBase, IdMixin, _Line):
    __tablename__ = "crm_sales_order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("unit_price >= 0", name="unit_price"),
        CheckConstraint("discount_percent >= 0 AND discount_percent <= 100", name="discount"),
        Index("ix_crm_sales_order_lines_order", "order_id", "position"),
    )

    order_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("crm_sales_orders.id", ondelete="CASCADE"))
