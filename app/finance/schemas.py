"""API representations and request bodies of finance (/api/v1/finance).

Money travels as decimal strings with two places ("1130.00"), dates as ISO 8601, periods as
"YYYY-MM". Bodies refuse unknown fields and wrong JSON types (400); what the values mean — an
unbalanced entry, a negative amount, an unknown or group account, a closed period — is judged by
the posting service and answered 422 (409 for a closed period) with field errors
(``lines.1.account``), the same messages the finance portal shows.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from msgspec import Meta, Struct

from app.finance import models
from app.finance.services.reports import TrialBalance as TrialBalanceData
from app.finance.services.reports import TrialBalanceRow

AccountType = Literal["asset", "liability", "equity", "income", "expense"]
Journal = Literal["general", "receipts", "payments"]
Number = Annotated[
    str, Meta(max_length=32, description='A decimal string with at most two places, e.g. "1130.00".')
]
Short = Annotated[str, Meta(max_length=200)]


def money(value: Decimal) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


class Account(Struct):
    id: int
    code: str
    name: str
    type: AccountType
    parent_id: int | None
    postable: Annotated[bool, Meta(description="False for group accounts: they only total their children.")]
    active: bool


class AccountPage(Struct):
    items: list[Account]
    next_cursor: str | None


def account_of(a: models.Account) -> Account:
    return Account(a.id, a.code, a.name, a.type, a.parent_id, a.postable, a.active)  # type: ignore[arg-type]


class EntryLine(Struct):
    line_no: int
    account_id: int
    account_code: str
    account_name: str
    debit: str
    credit: str
    cost_centre: str | None
    partner_id: int | None
    memo: str


class Entry(Struct):
    id: int
    number: Annotated[str | None, Meta(description='The voucher number, e.g. "记-2026-12-0001".')]
    journal: Journal
    entry_date: date
    period: str
    status: Literal["draft", "posted"]
    memo: str
    total: str
    source_type: str | None
    source_id: int | None
    reversal_of: int | None
    posted_at: datetime | None


class EntryDetail(Entry):
    lines: list[EntryLine] = []


class EntryPage(Struct):
    items: list[Entry]
    next_cursor: str | None


def entry_of(e: models.Entry, period: str, total: Decimal) -> Entry:
    return Entry(
        e.id, e.number, e.journal, e.entry_date, period, e.status, e.memo, money(total),  # type: ignore[arg-type]
        e.source_type, e.source_id, e.reversal_of, e.posted_at,
    )  # fmt: skip


def entry_detail_of(
    e: models.Entry, period: str, lines: list[tuple[models.EntryLine, models.Account]]
) -> EntryDetail:
    total = sum((line.debit for line, _ in lines), Decimal(0))
    return EntryDetail(
        e.id, e.number, e.journal, e.entry_date, period, e.status, e.memo, money(total),  # type: ignore[arg-type]
        e.source_type, e.source_id, e.reversal_of, e.posted_at,
        [EntryLine(line.line_no, a.id, a.code, a.name, money(line.debit), money(line.credit),
                   line.cost_centre, line.partner_id, line.memo) for line, a in lines],
    )  # fmt: skip


class LineCreate(Struct, forbid_unknown_fields=True):
    account: Annotated[str, Meta(min_length=1, max_length=20, description='The account code, e.g. "1122".')]
    debit: Number = "0"
    credit: Number = "0"
    cost_centre: Annotated[str, Meta(max_length=40)] | None = None
    partner_id: Annotated[int, Meta(ge=1, description="A CRM account id.")] | None = None
    memo: Short = ""


class EntryCreate(Struct, forbid_unknown_fields=True):
    """A manual entry, posted at once: each line a debit or a credit; debits must equal credits."""

    date: date
    lines: Annotated[list[LineCreate], Meta(max_length=500)]
    journal: Journal = "general"
    memo: Annotated[str, Meta(max_length=1000)] = ""
    currency: (
        Annotated[
            str, Meta(max_length=3, description="ISO 4217; only the base currency posts (422 otherwise).")
        ]
        | None
    ) = None


class TrialBalanceLine(Struct):
    account_id: int
    code: str
    name: str
    type: str
    opening_debit: str
    opening_credit: str
    period_debit: str
    period_credit: str
    closing_debit: str
    closing_credit: str


class TrialBalance(Struct):
    period: str
    balanced: bool
    rows: list[TrialBalanceLine]
    totals: TrialBalanceLine


def _tb_line(r: TrialBalanceRow) -> TrialBalanceLine:
    return TrialBalanceLine(
        r.account_id, r.code, r.name, r.type, money(r.opening_debit), money(r.opening_credit),
        money(r.period_debit), money(r.period_credit), money(r.closing_debit), money(r.closing_credit),
    )  # fmt: skip


def trial_balance_of(tb: TrialBalanceData) -> TrialBalance:
    return TrialBalance(tb.period, tb.balanced, [_tb_line(r) for r in tb.rows], _tb_line(tb.totals))
