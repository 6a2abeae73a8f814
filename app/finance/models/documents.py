"""Receivables and payables (FIN-2, FIN-3): customer invoices and credit notes, suppliers and their
bills, payments received and made, and how payments are allocated to documents.

Every document posts its journal entry through the posting door in its own transaction
(``entry_id``). Open amounts are kept on the document (``paid``, ``credited``) under a row lock and
bounded by CHECK constraints, so no allocation can take a document below zero whatever writes it.
"""

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
RATE = Numeric(5, 2)
QUANTITY = Numeric(14, 3)
UNIT_PRICE = Numeric(18, 4)
ZERO = Decimal("0.00")


class DocumentCounter(TenantBase):
    """The last number used per document series and year (INV-2026-00001): gapless like voucher
    numbers — the row lock is held until the issuing transaction ends."""

    __tablename__ = "fin_document_counters"
    __audit__ = False

    series: Mapped[str] = mapped_column(String(10), primary_key=True)  # INV, CN, BILL, RCV, PAY
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class Invoice(TenantBase, IdMixin, TimestampMixin):
    """A customer invoice or a credit note against one (``kind``). Open amount of an invoice:
    ``total - paid - credited``; a credit note is applied to its invoice when issued."""

    __tablename__ = "fin_invoices"
    __table_args__ = (
        UniqueConstraint("number"),
        CheckConstraint("kind IN ('invoice', 'credit_note')", name="kind"),
        CheckConstraint("total >= 0 AND subtotal >= 0 AND tax_total >= 0", name="amounts"),
        CheckConstraint("paid >= 0 AND credited >= 0 AND paid + credited <= total", name="open_amount"),
        CheckConstraint("kind = 'invoice' OR credited_invoice_id IS NOT NULL", name="credit_note_of"),
        Index(
            "uq_fin_invoices_sales_order",
            "sales_order_id",
            unique=True,
            postgresql_where=text("kind = 'invoice' AND sales_order_id IS NOT NULL"),
        ),
        Index("ix_fin_invoices_account_date", "account_id", "issue_date"),
        Index("ix_fin_invoices_open_due", "due_date", postgresql_where=text("paid + credited < total")),
    )

    kind: Mapped[str] = mapped_column(String(12), default="invoice")
    number: Mapped[str] = mapped_column(String(40))
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("crm_accounts.id"))
    sales_order_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("crm_sales_orders.id"))
    credited_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("fin_invoices.id"), index=True)
    issue_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[Decimal] = mapped_column(MONEY, default=ZERO)
    tax_total: Mapped[Decimal] = mapped_column(MONEY, default=ZERO)
    total: Mapped[Decimal] = mapped_column(MONEY, default=ZERO)
    paid: Mapped[Decimal] = mapped_column(MONEY, default=ZERO)
    credited: Mapped[Decimal] = mapped_column(MONEY, default=ZERO)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("fin_entries.id"))
    customer_reference: Mapped[str | None] = mapped_column(String(80))
    memo: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(BigInteger)


class InvoiceLine(TenantBase, IdMixin):
    """One line of an invoice or credit note, with its tax and the revenue account it posted to."""

    __tablename__ = "fin_invoice_lines"
    __audit__ = False

    invoice_id: Mapped[int] = mapped_column(ForeignKey("fin_invoices.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(SmallInteger)
    description: Mapped[str] = mapped_column(String(300))
    product_id: Mapped[int | None] = mapped_column(BigInteger)
    sku: Mapped[str | None] = mapped_column(String(64))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal("1"))
    unit: Mapped[str | None] = mapped_column(String(16))
    unit_price: Mapped[Decimal] = mapped_column(UNIT_PRICE, default=Decimal("0"))
    tax_rate: Mapped[Decimal] = mapped_column(RATE, default=Decimal("0"))
    tax_rate_id: Mapped[int | None] = mapped_column(ForeignKey("fin_tax_rates.id"))
    net_amount: Mapped[Decimal] = mapped_column(MONEY)
    tax_amount: Mapped[Decimal] = mapped_column(MONEY)
    total_amount: Mapped[Decimal] = mapped_column(MONEY)
    account_id: Mapped[int] = mapped_column(ForeignKey("fin_accounts.id"))
    cost_centre: Mapped[str | None] = mapped_column(String(40))


class Supplier(TenantBase, IdMixin, TimestampMixin):
    """Someone the tenant buys from. (Supply chain will create them from purchasing; finance
    keeps them until then.)"""

    __tablename__ = "fin_suppliers"
    __table_args__ = (UniqueConstraint("code"),)

    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    tax_id: Mapped[str | None] = mapped_column(String(40))  # 统一社会信用代码 / VAT number
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30)
    bank_account: Mapped[str | None] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Bill(TenantBase, IdMixin, TimestampMixin):
    """A supplier's bill (进项发票), entered by hand now and posted from purchase receipts later
    (``source_type`` / ``source_id``). Open amount: ``total - paid``. A bill never changes once
    posted; an unpaid one can be cancelled, which reverses its entry on ``cancelled_on``."""

    __tablename__ = "fin_bills"
    __table_args__ = (
        UniqueConstraint("number"),
        UniqueConstraint("supplier_id", "supplier_reference"),
        CheckConstraint("total >= 0 AND subtotal >= 0 AND tax_total >= 0", name="amounts"),
        CheckConstraint("paid >= 0 AND paid <= total", name="open_amount"),
        CheckConstraint("cancelled_on IS NULL OR paid = 0", name="cancelled_unpaid"),
        Index("ix_fin_bills_supplier_date", "supplier_id", "bill_date"),
        Index("ix_fin_bills_open_due", "due_date", postgresql_where=text("paid < total")),
    )

    number: Mapped[str] = mapped_column(String(40))
    supplier_id: Mapped[int] = mapped_column(ForeignKey("fin_suppliers.id"))
    supplier_reference: Mapped[str] = mapped_column(String(80))  # the supplier's invoice number
    bill_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[Decimal] = mapped_column(MONEY, default=ZERO)
    tax_total: Mapped[Decimal] = mapped_column(MONEY, default=ZERO)
    total: Mapped[Decimal] = mapped_column(MONEY, default=ZERO)
    paid: Mapped[Decimal] = mapped_column(MONEY, default=ZERO)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("fin_entries.id"))
    source_type: Mapped[str | None] = mapped_column(String(40))
    source_id: Mapped[int | None] = mapped_column(BigInteger)
    memo: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    cancelled_on: Mapped[date | None] = mapped_column(Date)


class BillLine(TenantBase, IdMixin):
    """One line of a bill: the expense or asset account, its tax and cost centre (or split rule,
    already expanded into one line per cost centre when posted)."""

    __tablename__ = "fin_bill_lines"
    __audit__ = False

    bill_id: Mapped[int] = mapped_column(ForeignKey("fin_bills.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(SmallInteger)
    description: Mapped[str] = mapped_column(String(300))
    account_id: Mapped[int] = mapped_column(ForeignKey("fin_accounts.id"))
    category: Mapped[str | None] = mapped_column(String(80))
    tax_rate: Mapped[Decimal] = mapped_column(RATE, default=Decimal("0"))
    tax_rate_id: Mapped[int | None] = mapped_column(ForeignKey("fin_tax_rates.id"))
    net_amount: Mapped[Decimal] = mapped_column(MONEY)
    tax_amount: Mapped[Decimal] = mapped_column(MONEY)
    total_amount: Mapped[Decimal] = mapped_column(MONEY)
    cost_centre: Mapped[str | None] = mapped_column(String(40))
    split_rule_id: Mapped[int | None] = mapped_column(ForeignKey("fin_split_rules.id"))


class Payment(TenantBase, IdMixin, TimestampMixin):
    """Money received from a customer (``direction`` in) or paid to a supplier (out). What is not
    yet allocated stays on the partner's account as a prepayment / advance."""

    __tablename__ = "fin_payments"
    __table_args__ = (
        UniqueConstraint("number"),
        CheckConstraint("direction IN ('in', 'out')", name="direction"),
        CheckConstraint("amount > 0 AND allocated >= 0 AND allocated <= amount", name="allocated"),
        CheckConstraint(
            "(direction = 'in' AND account_id IS NOT NULL AND supplier_id IS NULL)"
            " OR (direction = 'out' AND supplier_id IS NOT NULL AND account_id IS NULL)",
            name="partner",
        ),
        Index("ix_fin_payments_account", "account_id", "payment_date"),
        Index("ix_fin_payments_supplier", "supplier_id", "payment_date"),
    )

    direction: Mapped[str] = mapped_column(String(3))
    number: Mapped[str] = mapped_column(String(40))
    account_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("crm_accounts.id"))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("fin_suppliers.id"))
    payment_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    allocated: Mapped[Decimal] = mapped_column(MONEY, default=ZERO)
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(20), default="bank_transfer")
    reference: Mapped[str | None] = mapped_column(String(80))
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("fin_accounts.id"))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("fin_entries.id"))
    memo: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(BigInteger)


class Allocation(TenantBase, IdMixin, TimestampMixin):
    """Part of a payment settling one invoice (payment in) or one bill (payment out)."""

    __tablename__ = "fin_allocations"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("(invoice_id IS NULL) <> (bill_id IS NULL)", name="one_document"),
    )

    payment_id: Mapped[int] = mapped_column(ForeignKey("fin_payments.id"), index=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("fin_invoices.id"), index=True)
    bill_id: Mapped[int | None] = mapped_column(ForeignKey("fin_bills.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    allocated_on: Mapped[date] = mapped_column(Date)
