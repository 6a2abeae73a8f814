"""Column types and small tables every CRM concept shares."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Index, Numeric, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.kernel.db import TenantBase

# Money is Decimal in NUMERIC (ARCHITECTURE.md, Consistency); amounts carry 2 decimals, unit
# prices 4 (a price list may quote ¥0.0125 per unit), quantities 3 (kg, hours).
MONEY = Numeric(18, 2)
UNIT_PRICE = Numeric(18, 4)
QUANTITY = Numeric(14, 3)
PERCENT = Numeric(5, 2)  # 0.00 to 100.00
CURRENCY = String(3)  # ISO 4217

ZERO = Decimal("0")


def trgm_index(name: str, column: Any) -> Index:
    """A GIN trigram index on ``lower(column)``: ``ILIKE '%张伟%'`` and ``similarity()`` use it.

    The operator class lives in ``public`` (the pg_trgm extension, shared migration 0003), and
    tenant DDL runs under the tenant's search_path only, hence the qualified name.
    """
    label = f"{column.key}_lower"
    return Index(
        name,
        func.lower(column).label(label),
        postgresql_using="gin",
        postgresql_ops={label: "public.gin_trgm_ops"},
    )


class NumberSequence(TenantBase):
    """The next number of each kind of document (Q-2026-00001, SO-2026-00001, T-000001).

    Incremented with ``UPDATE ... RETURNING`` in the document's own transaction, so two users
    creating orders at once get different numbers, and a rolled-back create leaves no gap.
    """

    __tablename__ = "crm_number_sequences"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)  # "sales_order:2026"
    next_value: Mapped[int] = mapped_column(BigInteger, default=1)
