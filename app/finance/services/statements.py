"""Financial statements (FIN-5): profit and loss, balance sheet, cash report — for any dates, with
a comparison column.

    pnl = await profit_and_loss(session, date(2026, 1, 1), date(2026, 3, 31),
                                compare=comparison_for("year", DateRange(...)))
    pnl.figure("net_profit").current, pnl.figure("net_profit").change_percent
    bs = await balance_sheet(session, date(2026, 3, 31), compare=...)
    bs.balanced                                  # assets = liabilities + equity, every column
    cash = await cash_report(session, date(2026, 3, 1), date(2026, 3, 31))

Figures come from ``movements.totals`` (period balances for whole months, lines only for partial
months: app/finance/services/movements.py) — never a sum over the whole ledger. Their shape
(sections, subtotals, which account goes where) is the chart template's layout
(app/finance/services/statement_layouts.py).

The balance sheet balances by construction: the income and expense not yet carried into retained
earnings by a year-end closing (app/finance/services/year_end.py) is shown inside equity — the
year's result so far and, if an earlier year was never closed, that result too. Since every
posted entry balances, assets = liabilities + equity + that result, always; ``balanced`` states
it for each column (a False would mean the ledger itself is broken: ``reports.check_ledger``).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, case, exists, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.finance.errors import InvalidComparison, InvalidDateRange, InvalidStatementDate
from app.finance.models import Account, Entry, EntryLine, Payment
from app.finance.services import movements
from app.finance.services.money import money_accounts
from app.finance.services.movements import ZERO, DateRange, month_end, month_start
from app.finance.services.setup import ensure_finance
from app.finance.services.statement_layouts import (
    BALANCE_SHEET,
    NORMAL_SIDE,
    PROFIT_AND_LOSS,
    Heading,
    Section,
    Step,
    Subtotal,
    section_of,
)
from app.finance.services.year_end import SOURCE as YEAR_END
from app.kernel.i18n import lazy

__all__ = ["DateRange"]

HUNDRED = Decimal(100)
FIRST_YEAR, LAST_YEAR = 1900, 9998  # a comparison a year back, or a range a year on, stays valid

# Comparison choices: P&L and cash report compare ranges, the balance sheet compares dates.
RANGE_COMPARISONS = {
    "none": lazy("No comparison"),
    "previous": lazy("Previous period of equal length"),
    "year": lazy("Same period last year"),
    "custom": lazy("Chosen dates"),
}
DATE_COMPARISONS = {
    "none": lazy("No comparison"),
    "previous": lazy("End of the previous month"),
    "year_start": lazy("End of the previous year (opening of the year)"),
    "year": lazy("Same date last year"),
    "custom": lazy("Chosen date"),
}


# --- dates and comparisons ---------------------------------------------------------------------


def parse_date(value: str | None, field_name: str) -> date:
    """An ISO date typed or sent by the caller (``InvalidStatementDate``, 422, otherwise)."""
    text = (value or "").strip()
    try:
        parsed = date.fromisoformat(text)
    except ValueError:
        raise InvalidStatementDate(field_name, text[:40]) from None
    if len(text) != 10 or not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise InvalidStatementDate(field_name, text[:40])
    return parsed


def parse_range(start: str | None, end: str | None, *, fields: tuple[str, str] = ("from", "to")) -> DateRange:
    first, last = parse_date(start, fields[0]), parse_date(end, fields[1])
    if last < first:
        raise InvalidDateRange(fields[1])
    return DateRange(first, last)


def _shift_year(d: date, years: int) -> date:
    """The same day ``years`` later; 29 February and other month ends stay month ends."""
    year = d.year + years
    last = calendar.monthrange(year, d.month)[1]
    if d == month_end(d):
        return date(year, d.month, last)
    return date(year, d.month, min(d.day, last))


def _add_months(d: date, months: int) -> date:
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def previous_period(r: DateRange) -> DateRange:
    """The period of equal length just before ``r``: whole months compare with as many whole
    months (February with January, a quarter with the quarter before), other ranges with the
    same number of days."""
    assert r.start is not None
    if r.start.day == 1 and r.end == month_end(r.end):
        months = (r.end.year - r.start.year) * 12 + r.end.month - r.start.month + 1
        return DateRange(_add_months(r.start, -months), r.start - timedelta(days=1))
    end = r.start - timedelta(days=1)
    return DateRange(end - timedelta(days=(r.end - r.start).days), end)


def same_period_last_year(r: DateRange) -> DateRange:
    assert r.start is not None
    return DateRange(_shift_year(r.start, -1), _shift_year(r.end, -1))


def range_comparison(
    mode: str | None, current: DateRange, custom_start: str | None = None, custom_end: str | None = None
) -> DateRange | None:
    """The comparison range of a P&L or cash report: ``mode`` is a key of ``RANGE_COMPARISONS``."""
    mode = (mode or "none").strip()
    if mode not in RANGE_COMPARISONS:
        raise InvalidComparison(mode[:40])
    try:
        if mode == "previous":
            return previous_period(current)
        if mode == "year":
            return same_period_last_year(current)
    except ValueError:  # before year 1
        raise InvalidComparison(mode) from None
    if mode == "custom":
        return parse_range(custom_start, custom_end, fields=("compare_from", "compare_to"))
    return None


def date_comparison(mode: str | None, as_of: date, custom: str | None = None) -> date | None:
    """The comparison date of a balance sheet: ``mode`` is a key of ``DATE_COMPARISONS``."""
    mode = (mode or "none").strip()
    if mode not in DATE_COMPARISONS:
        raise InvalidComparison(mode[:40])
    if mode == "previous":
        return month_start(as_of) - timedelta(days=1)
    if mode == "year_start":
        return date(as_of.year - 1, 12, 31)
    if mode == "year":
        return _shift_year(as_of, -1)
    if mode == "custom":
        return parse_date(custom, "compare_as_of")
    return None


# --- statement lines ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One row of a statement. ``values`` holds one amount per column (current, comparison),
    on the side the row's type normally has; headings have none.

    ``kind``: heading, section (a section's caption and total), group (a group account's total
    of its sub-accounts), account, result (the unclosed profit inside equity), subtotal, total.
    ``label`` is the account's name (data) for group and account rows, otherwise an English
    msgid shown translated (``translate``)."""

    kind: str
    key: str
    label: str
    values: tuple[Decimal, ...] = ()
    code: str = ""
    account_id: int | None = None
    depth: int = 0

    @property
    def translate(self) -> bool:
        return self.account_id is None

    @property
    def current(self) -> Decimal | None:
        return self.values[0] if self.values else None

    @property
    def comparison(self) -> Decimal | None:
        return self.values[1] if len(self.values) > 1 else None

    @property
    def change(self) -> Decimal | None:
        if self.current is None or self.comparison is None:
            return None
        return self.current - self.comparison

    @property
    def change_percent(self) -> Decimal | None:
        """The change as a percentage of the comparison's size (None when it is zero)."""
        change, base = self.change, self.comparison
        if change is None or not base:
            return None
        return (change * HUNDRED / abs(base)).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class Statement:
    """A profit and loss account or a balance sheet. ``columns`` are the ranges of the figures
    (a balance sheet's start is None: everything up to the date); ``drill`` the range of the
    account ledger that explains each column's account figures (for the balance sheet: from the
    start of the year, whose opening balance plus movements is the figure)."""

    kind: str  # "profit_and_loss" | "balance_sheet"
    template: str
    columns: list[DateRange]
    drill: list[DateRange]
    lines: list[Line]

    @property
    def compared(self) -> bool:
        return len(self.columns) > 1

    def figure(self, key: str) -> Line:
        return next(line for line in self.lines if line.key == key and line.account_id is None)

    def account_line(self, account_id: int) -> Line | None:
        return next((line for line in self.lines if line.account_id == account_id), None)

    @property
    def balanced(self) -> bool:
        if self.kind != "balance_sheet":
            return True
        return self.figure("total_assets").values == self.figure("total_liabilities_and_equity").values


async def _accounts(session: AsyncSession) -> dict[int, Account]:
    return {a.id: a for a in (await session.execute(select(Account).order_by(Account.code))).scalars()}


def _shown(account: Account, t: movements.Totals) -> Decimal:
    """The account's balance in ``t`` on its type's normal side (never a negative zero)."""
    return movements.net_debit(t, account.id) * NORMAL_SIDE[account.type] + ZERO


def _account_lines(
    members: list[Account], accounts: dict[int, Account], columns: Sequence[movements.Totals]
) -> list[Line]:
    """Account rows of a section, sub-accounts under a row of their group account — unless the
    whole section is one group's sub-accounts (管理费用, Operating expenses): the section's own
    row is then the group's total already."""
    out: list[Line] = []
    done_groups: set[int] = set()
    one_group = len({a.parent_id for a in members}) == 1 and members[0].parent_id is not None
    for account in members:
        parent = accounts.get(account.parent_id) if account.parent_id and not one_group else None
        if parent is not None and parent.id not in done_groups:
            done_groups.add(parent.id)
            children = [a for a in members if a.parent_id == parent.id]
            values = tuple(sum((_shown(a, t) for a in children), ZERO) for t in columns)
            out.append(Line("group", parent.code, parent.name, values, parent.code, parent.id, 1))
        values = tuple(_shown(account, t) for t in columns)
        out.append(
            Line("account", account.code, account.name, values, account.code, account.id, 2 if parent else 1)
        )
    return out


def _lines(
    steps: tuple[Step, ...],
    accounts: dict[int, Account],
    columns: Sequence[movements.Totals],
    extra: dict[str, list[Line]] | None = None,
) -> list[Line]:
    """The statement's rows: each section's accounts that have an amount in some column."""
    extra = extra or {}
    members: dict[str, list[Account]] = {}
    for account in accounts.values():
        if not any(movements.net_debit(t, account.id) for t in columns):
            continue
        section = section_of(steps, account.type, account.code)
        if section is not None:
            members.setdefault(section.key, []).append(account)
    zero = tuple(ZERO for _ in columns)
    sums: dict[str, tuple[Decimal, ...]] = {}
    out: list[Line] = []
    for step in steps:
        if isinstance(step, Heading):
            out.append(Line("heading", step.key, step.label))
        elif isinstance(step, Section):
            found = members.get(step.key, [])
            rows = (_account_lines(found, accounts, columns) if found else []) + extra.get(step.key, [])
            if step.optional and not rows:
                sums[step.key] = zero
                continue
            total = tuple(
                sum((r.values[i] for r in rows if r.kind in ("account", "result")), ZERO)
                for i in range(len(columns))
            )
            sums[step.key] = total
            out.append(Line("section", step.key, step.label, total))
            out.extend(rows)
        elif isinstance(step, Subtotal):
            value = tuple(
                sum((sums.get(k, zero)[i] for k in step.adds), ZERO)
                - sum((sums.get(k, zero)[i] for k in step.subtracts), ZERO)
                for i in range(len(columns))
            )
            sums[step.key] = value
            out.append(Line("total" if step.grand else "subtotal", step.key, step.label, value))
    return out


# --- profit and loss ---------------------------------------------------------------------------


async def profit_and_loss(
    session: AsyncSession, start: date, end: date, *, compare: DateRange | None = None
) -> Statement:
    """Income and expense of ``start`` … ``end`` (any days), in the template's P&L layout, with
    gross profit, operating profit, profit before tax and net profit; ``compare`` adds a column.
    Year-end closing entries are left out: they move the year's result into retained earnings
    and would otherwise zero every closed year's P&L (the account ledgers still show them)."""
    if end < start:
        raise InvalidDateRange()
    template = await ensure_finance(session)
    accounts = await _accounts(session)
    ranges = [DateRange(start, end), *([compare] if compare else [])]
    ids = [a.id for a in accounts.values() if a.type in ("income", "expense")]
    columns = await movements.totals(session, ranges, account_ids=ids, without_sources=(YEAR_END,))
    return Statement(
        "profit_and_loss", template, ranges, ranges, _lines(PROFIT_AND_LOSS[template], accounts, columns)
    )


# --- balance sheet -----------------------------------------------------------------------------


def _result(accounts: dict[int, Account], t: movements.Totals) -> Decimal:
    """Income less expense in ``t`` (a profit is positive; never a negative zero)."""
    return ZERO - sum(
        (movements.net_debit(t, a.id) for a in accounts.values() if a.type in ("income", "expense")), ZERO
    )


async def balance_sheet(session: AsyncSession, as_of: date, *, compare: date | None = None) -> Statement:
    """Assets, liabilities and equity at the end of ``as_of`` (and of ``compare``), the result not
    yet closed into retained earnings shown within equity, so the two sides are always equal."""
    template = await ensure_finance(session)
    accounts = await _accounts(session)
    dates = [as_of, *([compare] if compare else [])]
    to_date = [DateRange(None, d) for d in dates]
    year_to_date = [DateRange(date(d.year, 1, 1), d) for d in dates]
    found = await movements.totals(session, [*to_date, *year_to_date])
    balances, this_year = found[: len(dates)], found[len(dates) :]
    current = tuple(_result(accounts, t) for t in this_year)
    earlier = tuple(_result(accounts, t) - c for t, c in zip(balances, current, strict=True))
    result_lines = [
        Line("result", "result_current_year", lazy("Profit or loss of the year not yet closed"), current)
    ]
    if any(earlier):
        result_lines.append(
            Line(
                "result",
                "result_earlier_years",
                lazy("Profit or loss of earlier years not yet closed"),
                earlier,
            )
        )
    lines = _lines(BALANCE_SHEET[template], accounts, balances, {"equity": result_lines})
    return Statement("balance_sheet", template, to_date, year_to_date, lines)


# --- cash report -------------------------------------------------------------------------------

# Where money came from or went to, by the source of the entry that moved it (docs).
CASH_SOURCES = {
    "customers": (lazy("Receipts from customers"), lazy("Refunds to customers")),
    "suppliers": (lazy("Refunds from suppliers"), lazy("Payments to suppliers")),
    "transfers": (lazy("Transfers from other cash accounts"), lazy("Transfers to other cash accounts")),
    "other": (lazy("Other receipts"), lazy("Other payments")),
}
CUSTOMER_SOURCES = ("finance.invoice", "finance.credit_note", "crm.sales_order")
SUPPLIER_SOURCES = ("finance.bill",)


@dataclass(frozen=True)
class CashAccountRow:
    account_id: int | None  # None: the total of every cash account
    code: str
    name: str
    opening: Decimal
    money_in: Decimal
    money_out: Decimal

    @property
    def closing(self) -> Decimal:
        return self.opening + self.money_in - self.money_out


@dataclass(frozen=True)
class CashReport:
    """Per cash or bank account: opening, money in, money out, closing (``accounts``, ``total``,
    for the current range); and the summary with a comparison column (``summary``): opening,
    money in and out by source, net change, closing."""

    template: str
    columns: list[DateRange]
    accounts: list[CashAccountRow]
    total: CashAccountRow
    summary: list[Line] = field(default_factory=list)

    @property
    def compared(self) -> bool:
        return len(self.columns) > 1

    def figure(self, key: str) -> Line:
        return next(line for line in self.summary if line.key == key)


async def cash_accounts(session: AsyncSession) -> list[Account]:
    """The accounts the cash report covers (services/money.py)."""
    return await money_accounts(session, for_report=True)


def _category(cash_ids: list[int]) -> ColumnElement[str]:
    """The source category of a cash line's entry (``CASH_SOURCES``): a payment by its direction
    (a receipt from a customer, a payment to a supplier), invoices and orders as customers', bills
    as suppliers', an entry touching only cash accounts a transfer, anything else other."""
    other_line = aliased(EntryLine)
    payment = select(Payment.direction).where(Payment.id == Entry.source_id).scalar_subquery()
    only_cash = ~exists().where(other_line.entry_id == Entry.id, other_line.account_id.not_in(cash_ids))
    is_payment = Entry.source_type == "finance.payment"
    return case(
        (Entry.source_type.in_(CUSTOMER_SOURCES), "customers"),
        (Entry.source_type.in_(SUPPLIER_SOURCES), "suppliers"),
        (and_(is_payment, payment == "in"), "customers"),
        (and_(is_payment, payment == "out"), "suppliers"),
        (only_cash, "transfers"),
        else_="other",
    )


async def _cash_flows(
    session: AsyncSession, ranges: list[DateRange], cash_ids: list[int]
) -> list[dict[tuple[int, str], tuple[Decimal, Decimal]]]:
    """Per range, (money in, money out) per (cash account, source category): one statement."""
    out: list[dict[tuple[int, str], tuple[Decimal, Decimal]]] = [{} for _ in ranges]
    if not cash_ids:
        return out
    category = _category(cash_ids)
    parts = [
        select(
            literal(i).label("r"),
            EntryLine.account_id.label("a"),
            category.label("k"),
            EntryLine.debit.label("d"),
            EntryLine.credit.label("c"),
        )
        .join(Entry, Entry.id == EntryLine.entry_id)
        .where(
            Entry.status == "posted",
            Entry.entry_date.between(r.start, r.end),
            EntryLine.account_id.in_(cash_ids),
        )
        for i, r in enumerate(ranges)
    ]
    rows = union_all(*parts).subquery()
    stmt = select(rows.c.r, rows.c.a, rows.c.k, func.sum(rows.c.d), func.sum(rows.c.c)).group_by(
        rows.c.r, rows.c.a, rows.c.k
    )
    for index, account_id, key, money_in, money_out in (await session.execute(stmt)).all():
        out[index][(account_id, key)] = (Decimal(money_in), Decimal(money_out))
    return out


def _day_before(r: DateRange) -> date:
    assert r.start is not None
    return r.start - timedelta(days=1)


async def cash_report(
    session: AsyncSession, start: date, end: date, *, compare: DateRange | None = None
) -> CashReport:
    """Money in and out of each cash and bank account (``cash_accounts``) over ``start`` …
    ``end``, by source; ``compare`` adds a comparison column to the summary."""
    if end < start:
        raise InvalidDateRange()
    template = await ensure_finance(session)
    accounts = await cash_accounts(session)
    ids = [a.id for a in accounts]
    ranges = [DateRange(start, end), *([compare] if compare else [])]
    openings = await movements.totals(
        session, [DateRange(None, _day_before(r)) for r in ranges], account_ids=ids
    )
    flows = await _cash_flows(session, ranges, ids)
    opening_total = tuple(sum((movements.net_debit(t, i) for i in ids), ZERO) for t in openings)

    rows = []
    for a in accounts:
        flow = [v for (account_id, _), v in flows[0].items() if account_id == a.id]
        money_in = sum((v[0] for v in flow), ZERO)
        money_out = sum((v[1] for v in flow), ZERO)
        opening = movements.net_debit(openings[0], a.id)
        if opening or money_in or money_out:
            rows.append(CashAccountRow(a.id, a.code, a.name, opening, money_in, money_out))
    total = CashAccountRow(
        None,
        "",
        "",
        opening_total[0],
        sum((r.money_in for r in rows), ZERO),
        sum((r.money_out for r in rows), ZERO),
    )

    def by(key: str, side: int) -> tuple[Decimal, ...]:
        return tuple(sum((v[side] for (_, k), v in f.items() if k == key), ZERO) for f in flows)

    n = len(ranges)
    ins = [(k, labels[0], by(k, 0)) for k, labels in CASH_SOURCES.items()]
    outs = [(k, labels[1], by(k, 1)) for k, labels in CASH_SOURCES.items()]
    total_in = tuple(sum((v[i] for _, _, v in ins), ZERO) for i in range(n))
    total_out = tuple(sum((v[i] for _, _, v in outs), ZERO) for i in range(n))
    net = tuple(total_in[i] - total_out[i] for i in range(n))
    summary = [
        Line("subtotal", "opening", lazy("Opening balance"), opening_total),
        Line("section", "money_in", lazy("Money in"), total_in),
        *(Line("source", f"in_{k}", label, v, depth=1) for k, label, v in ins if any(v) or k == "customers"),
        Line("section", "money_out", lazy("Money out"), total_out),
        *(
            Line("source", f"out_{k}", label, v, depth=1)
            for k, label, v in outs
            if any(v) or k == "suppliers"
        ),
        Line("subtotal", "net_change", lazy("Net change in cash"), net),
        Line("total", "closing", lazy("Closing balance"), tuple(opening_total[i] + net[i] for i in range(n))),
    ]
    return CashReport(template, ranges, rows, total, summary)
