"""The product catalogue (CRM-4): what can be quoted and sold, at which prices and tax rates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.crm.models.common import CURRENCY, PERCENT, QUANTITY, UNIT_PRICE, trgm_index
from app.kernel.db import IdMixin, TenantBase, TimestampMixin


class Product(TenantBase, IdMixin, TimestampMixin):
    """A good or service with its list price and VAT rate (e.g. 13 % for goods in China)."""

    __tablename__ = "crm_products"
    __table_args__ = (
        CheckConstraint("list_price >= 0", name="list_price"),
        CheckConstraint("tax_rate >= 0 AND tax_rate <= 100", name="tax_rate"),
        Index("uq_crm_products_sku_lower", text("lower(sku)"), unique=True),
    )

    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    category: Mapped[str | None] = mapped_column(String(80))
    unit: Mapped[str] = mapped_column(String(16), default="pcs")
    list_price: Mapped[Decimal] = mapped_column(UNIT_PRICE)
    currency: Mapped[str] = mapped_column(CURRENCY)
    tax_rate: Mapped[Decimal] = mapped_column(PERCENT, default=Decimal("0"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class PriceList(TenantBase, IdMixin, TimestampMixin):
    """A set of negotiated or seasonal prices in one currency; products it does not list are
    quoted at their list price. One price list may be the default for new quotes."""

    __tablename__ = "crm_price_lists"

    name: Mapped[str] = mapped_column(String(120), unique=True)
    currency: Mapped[str] = mapped_column(CURRENCY)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class PriceListItem(TenantBase, IdMixin):
    """A product's price on a price list from a minimum quantity up (volume breaks)."""

    __tablename__ = "crm_price_list_items"
    __table_args__ = (
        UniqueConstraint("price_list_id", "product_id", "min_quantity"),
        CheckConstraint("unit_price >= 0", name="unit_price"),
        CheckConstraint("min_quantity > 0", name="min_quantity"),
    )

    price_list_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("crm_price_lists.id", ondelete="CASCADE")
    )
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("crm_products.id", ondelete="CASCADE"))
    min_quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal("1"))
    unit_price: Mapped[Decimal] = mapped_column(UNIT_PRICE)


# Substring and similarity search (pg_trgm): duplicate detection and Chinese names.
trgm_index("ix_crm_products_name_trgm", Product.name)
