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
from app.finance.services.account_ledger import AccountLedger as AccountLedgerData
from app.finance.services.movements import DateRange as DateRangeData
from app.finance.services.reports import TrialBalance as TrialBalanceData
from app.finance.services.reports import TrialBalanceRow
from app.finance.services.statements import CashAccountRow as CashAccountRowData
from app.finance.services.statements import CashReport as CashReportData
from app.finance.services.statements import Line as StatementLineData
from app.finance.services.statements import Statement as StatementData

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


# --- statements (FIN-5: docs/finance-statements.md) ---------------------------------------------

LineKind = Literal["heading", "section", "group", "account", "result", "source", "subtotal", "total"]


class DateSpan(Struct):
    start: Annotated[date | None, Meta(description="None for a balance at a date: everything up to `end`.")]
    end: date


class StatementLine(Struct):
    kind: LineKind
    key: Annotated[str, Meta(description="Stable: a section or total (`net_profit`) or the account's code.")]
    label: Annotated[
        str, Meta(description="The account's name, or the line's caption in the caller's language.")
    ]
    code: str | None
    account_id: int | None
    depth: int
    current: str | None
    comparison: str | None = None
    change: str | None = None
    change_percent: Annotated[
        str | None, Meta(description="Of the comparison's size; null when it is zero.")
    ] = None


class Statement(Struct):
    kind: Literal["profit_and_loss", "balance_sheet"]
    chart: Literal["cas", "ifrs"]
    period: DateSpan
    comparison: DateSpan | None
    balanced: Annotated[
        bool, Meta(description="Balance sheet: assets = liabilities + equity in every column.")
    ]
    lines: list[StatementLine]


class CashAccountLine(Struct):
    account_id: int | None
    code: str
    name: str
    opening: str
    money_in: str
    money_out: str
    closing: str


class CashReport(Struct):
    chart: Literal["cas", "ifrs"]
    period: DateSpan
    comparison: DateSpan | None
    accounts: list[CashAccountLine]
    total: CashAccountLine
    summary: list[StatementLine]


class LedgerLine(Struct):
    line_id: int
    entry_id: int
    number: str
    entry_date: date
    journal: Journal
    memo: str
    partner_id: int | None
    supplier_id: int | None
    cost_centre: str | None
    source_type: str | None
    source_id: int | None
    debit: str
    credit: str
    balance: Annotated[
        str, Meta(description="Running balance after the line: debit positive, credit negative.")
    ]


class AccountLedger(Struct):
    account: Account
    period: DateSpan
    opening: str
    debit: Annotated[str, Meta(description="Total debits of the whole range, not only this page.")]
    credit: str
    closing: str
    lines: list[LedgerLine]
    next_cursor: str | None


def _maybe_money(value: Decimal | None) -> str | None:
    return None if value is None else money(value)


def _span(r: DateRangeData) -> DateSpan:
    return DateSpan(r.start, r.end)


def statement_lines_of(lines: list[StatementLineData]) -> list[StatementLine]:
    from app.kernel.i18n import gettext

    return [
        StatementLine(
            line.kind, line.key, gettext(line.label) if line.translate else line.label,  # type: ignore[arg-type]
            line.code or None, line.account_id, line.depth, _maybe_money(line.current),
            _maybe_money(line.comparison), _maybe_money(line.change),
            None if line.change_percent is None else str(line.change_percent),
        )
        for line in lines
    ]  # fmt: skip


def statement_of(s: StatementData) -> Statement:
    return Statement(
        s.kind,  # type: ignore[arg-type]
        s.template,  # type: ignore[arg-type]
        _span(s.columns[0]),
        _span(s.columns[1]) if s.compared else None,
        s.balanced,
        statement_lines_of(s.lines),
    )


def _cash_line(r: CashAccountRowData) -> CashAccountLine:
    return CashAccountLine(
        r.account_id,
        r.code,
        r.name,
        money(r.opening),
        money(r.money_in),
        money(r.money_out),
        money(r.closing),
    )


def cash_report_of(c: CashReportData) -> CashReport:
    return CashReport(
        c.template,  # type: ignore[arg-type]
        _span(c.columns[0]),
        _span(c.columns[1]) if c.compared else None,
        [_cash_line(r) for r in c.accounts],
        _cash_line(c.total),
        statement_lines_of(c.summary),
    )


def account_ledger_of(ledger: AccountLedgerData) -> AccountLedger:
    return AccountLedger(
        account_of(ledger.account), _span(ledger.period), money(ledger.opening), money(ledger.debit),
        money(ledger.credit), money(ledger.closing),
        [LedgerLine(x.line_id, x.entry_id, x.number, x.entry_date, x.journal, x.memo,  # type: ignore[arg-type]
                    x.partner_id, x.supplier_id, x.cost_centre, x.source_type, x.source_id,
                    money(x.debit), money(x.credit), money(x.balance)) for x in ledger.lines],
        ledger.next_cursor,
    )  # fmt: skip
