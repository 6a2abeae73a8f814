"""API representations and request bodies of payables (FIN-3): suppliers, bills, payments to
suppliers, ageing and statements (/api/v1/finance; the ledger's are in schemas.py).

Money travels as decimal strings with two places ("1130.00"), dates as ISO 8601. Bodies refuse
unknown fields and wrong JSON types (400); what the values mean — an unknown account, a duplicate
supplier invoice, an allocation above a bill's open amount — is judged by the services and
answered 422 (409 for duplicates and closed periods) with the field at fault
(``lines.1.account``, ``allocations.0.amount``), the same messages the finance portal shows.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from app.finance import models
from app.finance.schemas import Number, money
from app.finance.services.bills import BillDetail as BillData
from app.finance.services.payables_reports import Ageing as AgeingData
from app.finance.services.payables_reports import AgeingRow
from app.finance.services.payables_reports import Statement as StatementData
from app.finance.services.supplier_payments import PaymentDetail as PaymentData

BillStatus = Literal["open", "overdue", "paid", "cancelled"]
Method = Literal["bank_transfer", "cash", "cheque", "card", "other"]
Code = Annotated[str, Meta(max_length=40)]
Text = Annotated[str, Meta(max_length=1000)]
Day = date  # for a field named "date"


def fields_sent(data: Struct) -> dict[str, Any]:
    """A request body as the service's input mapping: the fields present (UNSET ones left out)."""
    return {f: getattr(data, f) for f in data.__struct_fields__ if getattr(data, f) is not UNSET}


# --- suppliers ---------------------------------------------------------------------------------


class Supplier(Struct):
    id: int
    code: str
    name: str
    tax_id: str | None
    email: str | None
    phone: str | None
    address: str | None
    currency: str
    payment_terms_days: int
    bank_account: str | None
    active: bool
    open_bills: Annotated[str, Meta(description="What is still to pay on its bills.")]
    advances: Annotated[str, Meta(description="Paid and not yet allocated to a bill.")]
    balance: Annotated[str, Meta(description="Owed to the supplier: open bills minus advances.")]
    created_at: datetime
    updated_at: datetime


class SupplierPage(Struct):
    items: list[Supplier]
    next_cursor: str | None


def supplier_of(s: models.Supplier, balances: tuple[Decimal, Decimal]) -> Supplier:
    open_bills, advances = balances
    return Supplier(
        s.id, s.code, s.name, s.tax_id, s.email, s.phone, s.address, s.currency, s.payment_terms_days,
        s.bank_account, s.active, money(open_bills), money(advances), money(open_bills - advances),
        s.created_at, s.updated_at,
    )  # fmt: skip


class SupplierCreate(Struct, forbid_unknown_fields=True):
    """A supplier. `currency` defaults to the organisation's base currency, `payment_terms_days`
    (0-365) to the finance settings' terms; `code` is unique (409 `duplicate_supplier_code`)."""

    code: Code
    name: Annotated[str, Meta(max_length=200)]
    tax_id: Annotated[str, Meta(max_length=40)] | None = None
    email: Annotated[str, Meta(max_length=254)] | None = None
    phone: Annotated[str, Meta(max_length=40)] | None = None
    address: Text | None = None
    currency: Annotated[str, Meta(max_length=3)] | None = None
    payment_terms_days: int | None = None
    bank_account: Annotated[str, Meta(max_length=80)] | None = None


class SupplierUpdate(Struct, forbid_unknown_fields=True):
    """Only the fields sent change; `null` clears an optional field. `active: false` deactivates
    the supplier (no new bills; what it is owed can still be paid)."""

    code: Code | UnsetType = UNSET
    name: Annotated[str, Meta(max_length=200)] | UnsetType = UNSET
    tax_id: Annotated[str, Meta(max_length=40)] | UnsetType | None = UNSET
    email: Annotated[str, Meta(max_length=254)] | UnsetType | None = UNSET
    phone: Annotated[str, Meta(max_length=40)] | UnsetType | None = UNSET
    address: Text | UnsetType | None = UNSET
    currency: Annotated[str, Meta(max_length=3)] | UnsetType | None = UNSET
    payment_terms_days: int | UnsetType | None = UNSET
    bank_account: Annotated[str, Meta(max_length=80)] | UnsetType | None = UNSET
    active: bool | UnsetType = UNSET


# --- bills -------------------------------------------------------------------------------------


class Bill(Struct):
    id: int
    number: Annotated[str, Meta(description='"BILL-2026-00001": gapless per year.')]
    supplier_id: int
    supplier_code: str
    supplier_name: str
    supplier_reference: Annotated[str, Meta(description="The supplier's invoice number.")]
    bill_date: date
    due_date: date
    currency: str
    subtotal: str
    tax_total: str
    total: str
    paid: str
    open_amount: str
    status: BillStatus
    cancelled_on: date | None
    entry_id: int | None
    source_type: str | None
    source_id: int | None
    memo: str
    created_at: datetime


class BillLine(Struct):
    line_no: int
    description: str
    account_code: str
    account_name: str
    category: str | None
    tax_rate_code: str | None
    tax_rate: Annotated[str, Meta(description='Percent, e.g. "13.00".')]
    net_amount: str
    tax_amount: str
    total_amount: str
    cost_centre: str | None
    split_rule: Annotated[str | None, Meta(description="The rule this cost centre's share came from.")]


class BillAllocation(Struct):
    payment_id: int
    payment_number: str
    amount: str
    allocated_on: date


class BillDetail(Bill):
    lines: list[BillLine] = []
    allocations: list[BillAllocation] = []


class BillPage(Struct):
    items: list[Bill]
    next_cursor: str | None


def bill_of(b: models.Bill, s: models.Supplier, status: str) -> Bill:
    return Bill(
        b.id, b.number, s.id, s.code, s.name, b.supplier_reference, b.bill_date, b.due_date, b.currency,
        money(b.subtotal), money(b.tax_total), money(b.total), money(b.paid), money(b.total - b.paid),
        status, b.cancelled_on, b.entry_id, b.source_type, b.source_id, b.memo, b.created_at,  # type: ignore[arg-type]
    )  # fmt: skip


def bill_detail_of(d: BillData, status: str) -> BillDetail:
    head = bill_of(d.bill, d.supplier, status)
    return BillDetail(
        **{f: getattr(head, f) for f in head.__struct_fields__},
        lines=[
            BillLine(
                line.line_no,
                line.description,
                account.code,
                account.name,
                line.category,
                rate,
                money(line.tax_rate),
                money(line.net_amount),
                money(line.tax_amount),
                money(line.total_amount),
                line.cost_centre,
                rule,
            )
            for line, account, rate, rule in d.lines
        ],
        allocations=[
            BillAllocation(p.id, p.number, money(a.amount), a.allocated_on) for a, p in d.allocations
        ],
    )


class BillLineCreate(Struct, forbid_unknown_fields=True):
    description: Annotated[str, Meta(max_length=300)]
    net_amount: Number
    account: (
        Annotated[
            str, Meta(max_length=20, description="Account code; default: the posting rule `admin_expense`.")
        ]
        | None
    ) = None
    category: (
        Annotated[str, Meta(max_length=80, description="Product category: its VAT rate is the default.")]
        | None
    ) = None
    tax_rate: (
        Annotated[str, Meta(max_length=20, description='Tax rate code ("VAT13"); default: the category\'s.')]
        | None
    ) = None
    cost_centre: Annotated[str, Meta(max_length=40, description="A cost centre's code ...")] | None = None
    split_rule: (
        Annotated[
            str, Meta(max_length=40, description="... or a split rule's code (one line per cost centre).")
        ]
        | None
    ) = None


class BillCreate(Struct, forbid_unknown_fields=True):
    """A supplier's bill, posted at once. `due_date` defaults to the bill date plus the supplier's
    terms; `currency` must be the base currency (422 `currency_mismatch`); the supplier's invoice
    number is entered once per supplier (409 `duplicate_supplier_reference`)."""

    supplier_id: Annotated[int, Meta(ge=1)]
    supplier_reference: Annotated[str, Meta(max_length=80)]
    bill_date: date
    lines: Annotated[list[BillLineCreate], Meta(max_length=200)]
    due_date: date | None = None
    currency: Annotated[str, Meta(max_length=3)] | None = None
    memo: Text = ""


class BillCancel(Struct, forbid_unknown_fields=True):
    on: Annotated[
        date | None,
        Meta(description="The reversal's date: default the bill date (it must be in an open period)."),
    ] = None


# --- payments to suppliers ---------------------------------------------------------------------


class PaymentAllocation(Struct):
    bill_id: int
    bill_number: str
    supplier_reference: str
    amount: str
    allocated_on: date


class SupplierPayment(Struct):
    id: int
    number: Annotated[str, Meta(description='"PAY-2026-00001": gapless per year.')]
    supplier_id: int
    supplier_code: str
    supplier_name: str
    payment_date: date
    amount: str
    allocated: str
    unallocated: Annotated[str, Meta(description="An advance to the supplier, allocatable later.")]
    currency: str
    method: str
    reference: str | None
    bank_account: Annotated[str, Meta(description="The code of the account paid from.")]
    entry_id: int | None
    memo: str
    created_at: datetime


class SupplierPaymentDetail(SupplierPayment):
    allocations: list[PaymentAllocation] = []


class SupplierPaymentPage(Struct):
    items: list[SupplierPayment]
    next_cursor: str | None


def payment_of(p: models.Payment, s: models.Supplier, bank_code: str) -> SupplierPayment:
    return SupplierPayment(
        p.id, p.number, s.id, s.code, s.name, p.payment_date, money(p.amount), money(p.allocated),
        money(p.amount - p.allocated), p.currency, p.method, p.reference, bank_code, p.entry_id, p.memo,
        p.created_at,
    )  # fmt: skip


def payment_detail_of(d: PaymentData) -> SupplierPaymentDetail:
    head = payment_of(d.payment, d.supplier, d.bank_account.code)
    return SupplierPaymentDetail(
        **{f: getattr(head, f) for f in head.__struct_fields__},
        allocations=[
            PaymentAllocation(b.id, b.number, b.supplier_reference, money(a.amount), a.allocated_on)
            for a, b in d.allocations
        ],
    )


class AllocationCreate(Struct, forbid_unknown_fields=True):
    bill_id: Annotated[int, Meta(ge=1)]
    amount: Number


class SupplierPaymentCreate(Struct, forbid_unknown_fields=True):
    """A payment to a supplier, posted at once. Allocations settle that supplier's open bills in
    part or in full (422 `payment_exceeds_open_amount`, `allocations_exceed_payment`,
    `bill_of_another_supplier`); what is not allocated is an advance."""

    supplier_id: Annotated[int, Meta(ge=1)]
    payment_date: date
    amount: Number
    allocations: Annotated[list[AllocationCreate], Meta(max_length=200)] = []
    currency: Annotated[str, Meta(max_length=3)] | None = None
    method: Method = "bank_transfer"
    reference: Annotated[str, Meta(max_length=80)] | None = None
    bank_account: (
        Annotated[str, Meta(max_length=20, description="Account code; default: the posting rule `bank`.")]
        | None
    ) = None
    memo: Text = ""


class AllocationsCreate(Struct, forbid_unknown_fields=True):
    """Allocate what is still unallocated of a payment to the supplier's open bills."""

    # Optional in the schema so the payment in the path is looked up (404) before the body is
    # judged; no allocations is then a 422 (`no_allocations`).
    allocations: Annotated[list[AllocationCreate], Meta(max_length=200)] = []
    on: Annotated[date | None, Meta(description="The allocations' date; default today.")] = None


# --- ageing and statements ---------------------------------------------------------------------


class AgeingLine(Struct):
    supplier_id: int | None
    code: str
    name: str
    not_due: str
    days_1_30: str
    days_31_60: str
    days_61_90: str
    over_90: str
    open_bills: str
    advances: str
    balance: str


class Ageing(Struct):
    as_of: date
    rows: list[AgeingLine]
    totals: AgeingLine


def _ageing_line(r: AgeingRow) -> AgeingLine:
    b = r.buckets
    return AgeingLine(
        r.supplier_id, r.code, r.name, money(b["not_due"]), money(b["days_1_30"]), money(b["days_31_60"]),
        money(b["days_61_90"]), money(b["over_90"]), money(r.open_bills), money(r.advances), money(r.balance),
    )  # fmt: skip


def ageing_of(a: AgeingData) -> Ageing:
    return Ageing(a.as_of, [_ageing_line(r) for r in a.rows], _ageing_line(a.totals))


class StatementLine(Struct):
    date: Day
    kind: Literal["bill", "cancellation", "payment"]
    document_id: int
    number: str
    reference: str
    due_date: Day | None
    billed: str
    paid: str
    balance: str


class Statement(Struct):
    supplier_id: int
    code: str
    name: str
    date_from: date
    date_to: date
    opening: str
    lines: list[StatementLine]
    billed: str
    paid: str
    closing: str


def statement_of(s: StatementData) -> Statement:
    return Statement(
        s.supplier.id, s.supplier.code, s.supplier.name, s.date_from, s.date_to, money(s.opening),
        [StatementLine(x.on, x.kind, x.document_id, x.number, x.reference, x.due_date,  # type: ignore[arg-type]
                       money(x.billed), money(x.paid), money(x.balance)) for x in s.lines],
        money(s.billed), money(s.paid), money(s.closing),
    )  # fmt: skip
