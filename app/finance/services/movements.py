"""Debit and credit totals per account over any date range, without summing the ledger (FIN-5).

Whole months come from ``fin_period_balances`` (kept by the posting trigger, migration t0004).
A range's partial months — at most two — come from the posted lines of those days, found through
``ix_fin_entries_date``. When a partial month covers more than half of its month, it is read as
the month's balance *less* the lines of the days outside the range, so no more than half a month
of lines is read at either end of a range, however long it is:

    1 Jan – 28 Mar  =  Jan + Feb (balances)  +  Mar (balance) − lines of 29–31 Mar
    10 Mar – 12 Mar =  lines of 10–12 Mar

Every range asked for in one call is answered by a single SQL statement, so all the figures come
from one snapshot: a posting committed meanwhile is in all of them or in none (a balance sheet and
its comparison never show half an entry). The period of an entry is the month of its date (the
``fin_period_mismatch`` trigger), which is what makes balances and dated lines add up.

    current, earlier = await totals(session, [DateRange(d1, d2), DateRange(None, d0)])
    debit, credit = current.get(account_id, (ZERO, ZERO))
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, func, literal, select, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.models import Entry, EntryLine, Period, PeriodBalance

ZERO = Decimal("0.00")

# account id → (debit total, credit total)
Totals = dict[int, tuple[Decimal, Decimal]]
YearMonth = tuple[int, int]


@dataclass(frozen=True)
class DateRange:
    """The days ``start`` … ``end``, both included; ``start`` None means from the first posting."""

    start: date | None
    end: date

    @property
    def days(self) -> int | None:
        return None if self.start is None else (self.end - self.start).days + 1


def bounds(r: DateRange) -> tuple[date, date]:
    """(start, end) of a range that has a start."""
    if r.start is None:
        raise ValueError("the range has no start")
    return r.start, r.end


def month_start(d: date) -> date:
    return d.replace(day=1)


def month_end(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def _ym(d: date) -> YearMonth:
    return (d.year, d.month)


def _next_month(d: date) -> YearMonth:
    return (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)


def _previous_month(d: date) -> YearMonth:
    return (d.year - 1, 12) if d.month == 1 else (d.year, d.month - 1)


@dataclass
class Plan:
    """How one range is read: month spans of balances and day spans of lines, each with a sign."""

    months: list[tuple[YearMonth | None, YearMonth, int]]  # (first or None for "from the start", last)
    days: list[tuple[date, date, int]]

    def add_part(self, a: date, b: date) -> None:
        """Days ``a`` … ``b`` of one month: lines, or the month's balance less the other days."""
        first, last = month_start(a), month_end(a)
        if a == first and b == last:
            self.months.append((_ym(a), _ym(a), 1))
        elif ((b - a).days + 1) * 2 <= (last - first).days + 1:
            self.days.append((a, b, 1))
        else:
            self.months.append((_ym(a), _ym(a), 1))
            if a > first:
                self.days.append((first, a - timedelta(days=1), -1))
            if b < last:
                self.days.append((b + timedelta(days=1), last, -1))


def plan(r: DateRange) -> Plan:
    p = Plan([], [])
    start, end = r.start, r.end
    if start is not None and start > end:
        return p
    if start is not None and _ym(start) == _ym(end):
        p.add_part(start, end)
        return p
    lo: YearMonth | None
    if start is None:
        lo = None
    elif start.day == 1:
        lo = _ym(start)
    else:
        p.add_part(start, month_end(start))
        lo = _next_month(start)
    if end == month_end(end):
        hi = _ym(end)
    else:
        p.add_part(month_start(end), end)
        hi = _previous_month(end)
    if lo is None or lo <= hi:
        p.months.append((lo, hi, 1))
    return p


MonthSpan = tuple[YearMonth | None, YearMonth]
DaySpan = tuple[date, date]


def _month_part(index: int, span: MonthSpan) -> Any:
    lo, hi = span
    ym = tuple_(Period.year, Period.month)
    within: ColumnElement[bool] = ym <= tuple_(literal(hi[0]), literal(hi[1]))
    if lo is not None:
        within = and_(within, ym >= tuple_(literal(lo[0]), literal(lo[1])))
    return (
        select(
            literal(index).label("p"),
            PeriodBalance.account_id.label("a"),
            PeriodBalance.debit.label("d"),
            PeriodBalance.credit.label("c"),
        )
        .join(Period, Period.id == PeriodBalance.period_id)
        .where(within)
    )


def _day_part(index: int, span: DaySpan) -> Any:
    # No account filter here: the lines are found by date (ix_fin_entries_date); a filter on
    # accounts could tempt the planner into reading every line of a busy account instead.
    return (
        select(
            literal(index).label("p"),
            EntryLine.account_id.label("a"),
            EntryLine.debit.label("d"),
            EntryLine.credit.label("c"),
        )
        .join(Entry, Entry.id == EntryLine.entry_id)
        .where(Entry.status == "posted", Entry.entry_date.between(*span))
    )


def _sources_in(sources: tuple[str, ...]) -> ColumnElement[bool]:
    """``source_type IN (…)`` with the source types written into the SQL, not bound: they are
    constants of the code, and with bound values the prepared statement's generic plan (from its
    sixth execution on) cannot tell that year-end closings are rare, prefers ix_fin_entries_date
    and reads every entry of the range — 38 ms of a 70 ms P&L over six months at 1,000,000 lines
    (bench/README.md, section 8)."""
    return Entry.source_type.in_(
        bindparam("source_types", list(sources), expanding=True, literal_execute=True)
    )


def _source_part(index: int, span: tuple[date | None, date], sources: tuple[str, ...]) -> Any:
    """The lines of the entries from ``sources`` in the span (through ix_fin_entries_source)."""
    start, end = span
    stmt = (
        select(
            literal(index).label("p"),
            EntryLine.account_id.label("a"),
            EntryLine.debit.label("d"),
            EntryLine.credit.label("c"),
        )
        .join(Entry, Entry.id == EntryLine.entry_id)
        .where(Entry.status == "posted", _sources_in(sources), Entry.entry_date <= end)
    )
    return stmt if start is None else stmt.where(Entry.entry_date >= start)


async def totals(
    session: AsyncSession,
    ranges: Sequence[DateRange],
    *,
    account_ids: Collection[int] | None = None,
    without_sources: Collection[str] = (),
) -> list[Totals]:
    """Per range, (debit, credit) per account of the posted lines dated in it (accounts without
    any are absent); ``account_ids`` keeps only those accounts; ``without_sources`` leaves out
    the entries of those source types (the P&L leaves out year-end closings). A span of months
    or days that several ranges share (a balance sheet's "to date" and "year to date" end in the
    same partial month) is read once."""
    spans: dict[tuple[str, Any], int] = {}
    uses: list[list[tuple[int, int]]] = []  # per range: (span index, sign)
    for r in ranges:
        p = plan(r)
        wanted: list[tuple[tuple[str, Any], int]] = [(("m", (lo, hi)), sign) for lo, hi, sign in p.months]
        wanted += [(("d", (a, b)), sign) for a, b, sign in p.days]
        if without_sources and (r.start is None or r.start <= r.end):
            wanted.append((("x", (r.start, r.end)), -1))
        uses.append([(spans.setdefault(key, len(spans)), sign) for key, sign in wanted])
    out: list[Totals] = [{} for _ in ranges]
    if not spans or (account_ids is not None and not account_ids):
        return out
    sources = tuple(without_sources)
    parts = [
        _month_part(i, span)
        if kind == "m"
        else _day_part(i, span)
        if kind == "d"
        else _source_part(i, span, sources)
        for (kind, span), i in spans.items()
    ]
    rows = union_all(*parts).subquery()
    grouped = select(rows.c.p, rows.c.a, func.sum(rows.c.d), func.sum(rows.c.c)).group_by(rows.c.p, rows.c.a)
    keep = None if account_ids is None else set(account_ids)
    found: dict[int, dict[int, tuple[Decimal, Decimal]]] = {}
    for index, account_id, debit, credit in (await session.execute(grouped)).all():
        if keep is None or account_id in keep:
            found.setdefault(index, {})[account_id] = (Decimal(debit), Decimal(credit))
    for result, used in zip(out, uses, strict=True):
        for index, sign in used:
            for account_id, (debit, credit) in found.get(index, {}).items():
                d, c = result.get(account_id, (ZERO, ZERO))
                result[account_id] = (d + sign * debit, c + sign * credit)
        for account_id in [a for a, (d, c) in result.items() if not d and not c]:
            del result[account_id]
    return out


def net_debit(t: Totals, account_id: int) -> Decimal:
    debit, credit = t.get(account_id, (ZERO, ZERO))
    return debit - credit
