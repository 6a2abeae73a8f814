"""PROVISIONAL stand-in for ``app/finance/services/statements.py`` — benchmark plumbing only.

Another helper is writing the real ``profit_and_loss(session, start, end)`` and
``balance_sheet(session, as_of)``. Until that module is on this branch, bench/finance_statements.py
times these functions instead and says so in its output. They compute what the statements need the
way the real ones are expected to (docs/finance.md: read the period balances, not the journal),
so the harness can be tested end to end; their figures are checked against a plain GROUP BY over the
lines. Delete this file once the real service has landed.

* whole months of the range are read from ``fin_period_balances``;
* the days of a month the range covers only in part are summed from the posted lines of that
  month's period (``fin_entries.period_id`` index, then the lines by ``entry_id``).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, literal, or_, select, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.models import Account, Entry, EntryLine, Period, PeriodBalance

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class StatementRow:
    account_id: int
    code: str
    name: str
    type: str
    amount: Decimal  # P&L: credit − debit (income positive); balance sheet: debit − credit


@dataclass(frozen=True)
class Statement:
    rows: list[StatementRow]
    totals: dict[str, Decimal]  # per account type, plus "profit" (income − expense)


def _month_end(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


def _next(y: int, m: int) -> tuple[int, int]:
    return (y + 1, 1) if m == 12 else (y, m + 1)


def _prev(y: int, m: int) -> tuple[int, int]:
    return (y - 1, 12) if m == 1 else (y, m - 1)


def _plan(
    start: date, end: date
) -> tuple[tuple[int, int] | None, tuple[int, int] | None, list[tuple[date, date]]]:
    """(first whole month, last whole month) of [start, end] and the partial day ranges."""
    first = (start.year, start.month) if start.day == 1 else _next(start.year, start.month)
    last = (end.year, end.month) if end == _month_end(end.year, end.month) else _prev(end.year, end.month)
    partial = []
    if first > last:  # no whole month: one or two partial months
        if (start.year, start.month) == (end.year, end.month):
            return None, None, [(start, end)]
        return None, None, [(start, _month_end(start.year, start.month)), (date(end.year, end.month, 1), end)]
    if start.day != 1:
        partial.append((start, _month_end(start.year, start.month)))
    if (end.year, end.month) > last:
        partial.append((date(end.year, end.month, 1), end))
    return first, last, partial


def _amounts(start: date | None, end: date) -> Any:
    """(account_id, debit, credit) rows covering [start, end] (start None: from the beginning)."""
    first, last, partial = _plan(start or date(1900, 1, 1), end)
    parts = []
    if first is not None and last is not None:
        ym = tuple_(Period.year, Period.month)
        cond = ym <= tuple_(literal(last[0]), literal(last[1]))
        if start is not None:
            cond = and_(cond, ym >= tuple_(literal(first[0]), literal(first[1])))
        parts.append(
            select(PeriodBalance.account_id, PeriodBalance.debit, PeriodBalance.credit)
            .join(Period, Period.id == PeriodBalance.period_id)
            .where(cond)
        )
    if partial:
        days = or_(
            *(
                and_(Period.year == a.year, Period.month == a.month, Entry.entry_date.between(a, b))
                for a, b in partial
            )
        )
        parts.append(
            select(EntryLine.account_id, EntryLine.debit, EntryLine.credit)
            .join(Entry, Entry.id == EntryLine.entry_id)
            .join(Period, Period.id == Entry.period_id)
            .where(Entry.status == "posted", days)
        )
    return union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()


async def _statement(
    session: AsyncSession, start: date | None, end: date, types: tuple[str, ...]
) -> Statement:
    x = _amounts(start, end)
    stmt = (
        select(Account.id, Account.code, Account.name, Account.type, func.sum(x.c.debit - x.c.credit))
        .join(x, x.c.account_id == Account.id)
        .where(Account.type.in_(types))
        .group_by(Account.id)
        .order_by(Account.code)
    )
    rows = []
    totals = {t: ZERO for t in types}
    for account_id, code, name, type_, net in (await session.execute(stmt)).all():
        net = Decimal(net)
        amount = -net if type_ in ("income", "expense") else net
        if amount == 0:
            continue
        rows.append(StatementRow(account_id, code, name, type_, amount))
        totals[type_] += amount
    if "income" in totals:
        totals["profit"] = totals["income"] + totals.get("expense", ZERO)
    return Statement(rows, totals)


async def profit_and_loss(session: AsyncSession, start: date, end: date) -> Statement:
    """PROVISIONAL. Income and expense accounts over [start, end]; expenses negative."""
    return await _statement(session, start, end, ("income", "expense"))


async def balance_sheet(session: AsyncSession, as_of: date) -> Statement:
    """PROVISIONAL. Every account's balance at the end of ``as_of``; the income and expense
    balances not yet closed into retained earnings are the "profit" line of equity."""
    return await _statement(session, None, as_of, ("asset", "liability", "equity", "income", "expense"))
