"""Chart of accounts, fiscal periods, journal entries and their lines, period balances."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.kernel.db import IdMixin, TenantBase, TimestampMixin

MONEY = Numeric(18, 2)
ZERO = Decimal("0.00")

ACCOUNT_TYPES = ("asset", "liability", "equity", "income", "expense")
# Journal key → voucher word (记账凭证 / 收款凭证 / 付款凭证), the prefix of its voucher numbers.
JOURNALS = {"general": "记", "receipts": "收", "payments": "付"}


class FinanceSettings(TenantBase):
    """One row per tenant, written when finance is first used: which chart template it runs."""

    __tablename__ = "fin_settings"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("chart_template IN ('cas', 'ifrs')", name="chart_template"),
        CheckConstraint("invoice_on IN ('confirmed', 'fulfilled')", name="invoice_on"),
        CheckConstraint("payment_terms_days BETWEEN 0 AND 365", name="payment_terms"),
    )

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=1)
    chart_template: Mapped[str] = mapped_column(String(10))
    base_currency: Mapped[str] = mapped_column(String(3), default="CNY")
    # When a sales order becomes a customer invoice (INT-1): on confirmation or on delivery.
    invoice_on: Mapped[str] = mapped_column(String(10), default="confirmed", server_default="confirmed")
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    installed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))


class Account(TenantBase, IdMixin, TimestampMixin):
    """A ledger account. Group accounts (``postable`` false) only total their children."""

    __tablename__ = "fin_accounts"
    __table_args__ = (
        UniqueConstraint("code"),
        CheckConstraint("type IN ('asset', 'liability', 'equity', 'income', 'expense')", name="type"),
    )

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(10))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("fin_accounts.id"), index=True)
    postable: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Period(TenantBase, IdMixin):
    """A fiscal period: one calendar month. Created open when first needed."""

    __tablename__ = "fin_periods"
    __table_args__ = (
        UniqueConstraint("year", "month"),
        CheckConstraint("month BETWEEN 1 AND 12", name="month"),
        CheckConstraint("status IN ('open', 'closed')", name="status"),
    )

    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="open")
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def code(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


class VoucherCounter(TenantBase):
    """The last voucher number used per journal and period (gapless: incremented in the posting's
    own transaction, the row lock held until it commits or rolls back)."""

    __tablename__ = "fin_voucher_counters"
    __audit__ = False

    journal: Mapped[str] = mapped_column(String(20), primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("fin_periods.id"), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class Entry(TenantBase, IdMixin, TimestampMixin):
    """A journal entry (凭证). Drafts may change; posted entries never do (trigger)."""

    __tablename__ = "fin_entries"
    # The posted entry is its own record (who posted it and when, immutable, reversals linked):
    # an audit row per draft insert and per posting would only repeat it.
    __audit__ = False
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'posted')", name="status"),
        CheckConstraint("journal IN ('general', 'receipts', 'payments')", name="journal"),
        CheckConstraint("status = 'draft' OR number IS NOT NULL", name="posted_numbered"),
        UniqueConstraint("number"),
        UniqueConstraint("reversal_of"),
        Index("ix_fin_entries_period_journal", "period_id", "journal"),
        Index("ix_fin_entries_source", "source_type", "source_id"),
        # Statements of any date range read the lines of partial months by date, and the account
        # ledger walks entries in date order (docs/finance-statements.md).
        Index("ix_fin_entries_date", "entry_date", "id"),
    )

    journal: Mapped[str] = mapped_column(String(20))
    number: Mapped[str | None] = mapped_column(String(40))
    entry_date: Mapped[date] = mapped_column(Date)
    period_id: Mapped[int] = mapped_column(ForeignKey("fin_periods.id"))
    status: Mapped[str] = mapped_column(String(10), default="draft")
    memo: Mapped[str] = mapped_column(Text, default="")
    source_type: Mapped[str | None] = mapped_column(String(40))
    source_id: Mapped[int | None] = mapped_column(BigInteger)
    reversal_of: Mapped[int | None] = mapped_column(ForeignKey("fin_entries.id"))
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    posted_by: Mapped[str | None] = mapped_column(String(80))


class EntryLine(TenantBase, IdMixin):
    """One side of an entry: debit XOR credit, never negative (the entry's balance is checked by a
    deferred constraint trigger at commit)."""

    __tablename__ = "fin_entry_lines"
    __audit__ = False  # the posted entry is the record; its lines never change once posted
    __table_args__ = (
        CheckConstraint("debit >= 0 AND credit >= 0", name="not_negative"),
        CheckConstraint("(debit = 0) <> (credit = 0)", name="debit_xor_credit"),
        Index("ix_fin_entry_lines_account", "account_id", "entry_id"),
        # Covering: an entry's lines with their amounts from the index alone — partial months of
        # the statements, the posting trigger's sums (bench/README.md, finance section).
        Index(
            "ix_fin_entry_lines_entry_cover", "entry_id", postgresql_include=["account_id", "debit", "credit"]
        ),
    )

    entry_id: Mapped[int] = mapped_column(ForeignKey("fin_entries.id"))
    line_no: Mapped[int] = mapped_column(SmallInteger)
    account_id: Mapped[int] = mapped_column(ForeignKey("fin_accounts.id"))
    debit: Mapped[Decimal] = mapped_column(MONEY, default=ZERO)
    credit: Mapped[Decimal] = mapped_column(MONEY, default=ZERO)
    cost_centre: Mapped[str | None] = mapped_column(String(40))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("crm_accounts.id"), index=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("fin_suppliers.id"), index=True)
    memo: Mapped[str] = mapped_column(String(200), default="")


class PeriodBalance(TenantBase):
    """Debit and credit totals per account and period of the *posted* lines, kept by the posting
    trigger, so a trial balance reads accounts × periods rather than the ledger."""

    __tablename__ = "fin_period_balances"
    __audit__ = False

    account_id: Mapped[int] = mapped_column(ForeignKey("fin_accounts.id"), primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("fin_periods.id"), primary_key=True)
    debit: Mapped[Decimal] = mapped_column(MONEY, default=ZERO)
    credit: Mapped[Decimal] = mapped_column(MONEY, default=ZERO)
