"""What a tenant configures in finance: tax rates (and which product categories use them), cost
centres and the rules that split an amount across them, and the posting rules that say which
account each role of a document's entry uses."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Numeric,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.kernel.db import IdMixin, TenantBase, TimestampMixin

RATE = Numeric(5, 2)  # a tax rate in percent: 13.00
SHARE = Numeric(7, 4)  # a cost-centre share in percent: 33.3333


class TaxRate(TenantBase, IdMixin, TimestampMixin):
    """A VAT rate (增值税税率) with the accounts its output and input tax post to."""

    __tablename__ = "fin_tax_rates"
    __table_args__ = (
        UniqueConstraint("code"),
        CheckConstraint("rate >= 0 AND rate <= 100", name="rate"),
    )

    code: Mapped[str] = mapped_column(String(20))  # "VAT13"
    name: Mapped[str] = mapped_column(String(80))
    rate: Mapped[Decimal] = mapped_column(RATE)
    output_account_id: Mapped[int] = mapped_column(ForeignKey("fin_accounts.id"))
    input_account_id: Mapped[int] = mapped_column(ForeignKey("fin_accounts.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CategoryTaxRate(TenantBase):
    """The VAT rate a product category uses when a product or bill line names no rate of its own."""

    __tablename__ = "fin_category_tax_rates"

    category: Mapped[str] = mapped_column(String(80), primary_key=True)
    tax_rate_id: Mapped[int] = mapped_column(ForeignKey("fin_tax_rates.id"))


class CostCentre(TenantBase, IdMixin, TimestampMixin):
    """A cost centre / department (FIN-4) that expense and revenue lines are charged to."""

    __tablename__ = "fin_cost_centres"
    __table_args__ = (UniqueConstraint("code"),)

    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class SplitRule(TenantBase, IdMixin, TimestampMixin):
    """How an amount is shared across cost centres (e.g. 33.33 / 33.33 / 33.34 %)."""

    __tablename__ = "fin_split_rules"
    __table_args__ = (UniqueConstraint("code"),)

    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class SplitRuleShare(TenantBase, IdMixin):
    """One cost centre's share of a split rule. The shares of a rule add up to 100 (checked by the
    service); the rounding residual of a split goes to the last share, the one with the highest
    ``position`` (app/finance/services/splits.py)."""

    __tablename__ = "fin_split_rule_shares"
    __table_args__ = (
        UniqueConstraint("rule_id", "cost_centre_id"),
        CheckConstraint("percent > 0 AND percent <= 100", name="percent"),
    )

    rule_id: Mapped[int] = mapped_column(ForeignKey("fin_split_rules.id", ondelete="CASCADE"), index=True)
    cost_centre_id: Mapped[int] = mapped_column(ForeignKey("fin_cost_centres.id"))
    percent: Mapped[Decimal] = mapped_column(SHARE)
    position: Mapped[int] = mapped_column(SmallInteger, default=0)


class PostingRule(TenantBase):
    """The tenant's choice of account for one role ("receivable", "revenue", "output_vat", ...).
    A role without a row uses the chart template's default (services/charts.py)."""

    __tablename__ = "fin_posting_rules"

    role: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("fin_accounts.id"))
