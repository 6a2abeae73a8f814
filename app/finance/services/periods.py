"""Fiscal periods: one per calendar month, created open the first time a date needs one."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.errors import InvalidPeriod
from app.finance.models import Period
from app.kernel.db import transaction_memo, utcnow
from app.kernel.errors import NotFound
from app.kernel.i18n import lazy

_PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")


def parse_period(value: str) -> tuple[int, int]:
    m = _PERIOD_RE.match(value or "")
    if not m or not 1 <= int(m[2]) <= 12 or int(m[1]) < 1900:
        raise InvalidPeriod(value)
    return int(m[1]), int(m[2])


_LOCKED = "finance.locked_periods"
# Built once (a statement object reused is compiled and cache-keyed once): lock → statement.
_PERIOD_OF = select(Period).where(Period.year == bindparam("p_year"), Period.month == bindparam("p_month"))
_PERIOD = {
    False: _PERIOD_OF.execution_options(populate_existing=True),
    True: _PERIOD_OF.with_for_update(read=True).execution_options(populate_existing=True),
}


async def period_for(session: AsyncSession, on: date, *, lock: bool = False) -> Period:
    """The period of ``on``, created open if new. ``lock`` takes it ``FOR SHARE``: a posting holds
    that until commit, so closing the period waits for postings in flight, and a posting that
    starts after the close sees it closed. A period this transaction already holds that way is
    not read again (a document locks its period before taking its number; the posting door asks
    once more)."""
    locked: dict[tuple[int, int], Period] = transaction_memo(session).setdefault(_LOCKED, {})
    if lock and (on.year, on.month) in locked:
        return locked[(on.year, on.month)]
    stmt = _PERIOD[lock]
    month = {"p_year": on.year, "p_month": on.month}
    period = (await session.execute(stmt, month)).scalar_one_or_none()
    if period is None:  # the month's first posting: create it (a concurrent one may win the race)
        await session.execute(
            insert(Period)
            .values(year=on.year, month=on.month, status="open")
            .on_conflict_do_nothing(index_elements=["year", "month"])
        )
        period = (await session.execute(stmt, month)).scalar_one()
    if lock:
        transaction_memo(session).setdefault(_LOCKED, {})[(on.year, on.month)] = period
    return period


async def find_period(session: AsyncSession, year: int, month: int) -> Period | None:
    return (
        await session.execute(select(Period).where(Period.year == year, Period.month == month))
    ).scalar_one_or_none()


async def set_period_status(session: AsyncSession, year: int, month: int, status: str) -> Period:
    """Close (or reopen) a period (year-end closing entries: app/finance/services/year_end.py)."""
    transaction_memo(session).pop(_LOCKED, None)
    period = (
        await session.execute(
            select(Period).where(Period.year == year, Period.month == month).with_for_update()
        )
    ).scalar_one_or_none()
    if period is None:
        if status == "open":
            raise NotFound(lazy("period"))
        period = await period_for(session, date(year, month, 1))
        period = (
            await session.execute(select(Period).where(Period.id == period.id).with_for_update())
        ).scalar_one()
    period.status = status
    period.closed_at = utcnow() if status == "closed" else None
    await session.flush()
    return period


async def list_periods(session: AsyncSession) -> list[tuple[Period, int]]:
    """Every period, newest first, with its number of posted entries."""
    from sqlalchemy import func

    from app.finance.models import Entry

    counts = (
        select(Entry.period_id, func.count().label("n"))
        .where(Entry.status == "posted")
        .group_by(Entry.period_id)
        .subquery()
    )
    rows = await session.execute(
        select(Period, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.period_id == Period.id)
        .order_by(Period.year.desc(), Period.month.desc())
    )
    return [(period, int(n)) for period, n in rows.all()]


async def set_status_by_id(session: AsyncSession, period_id: int, status: str) -> Period:
    """Close or reopen the period ``period_id`` (``FOR UPDATE``: waits for postings in flight)."""
    transaction_memo(session).pop(_LOCKED, None)
    period = (
        await session.execute(select(Period).where(Period.id == period_id).with_for_update())
    ).scalar_one_or_none()
    if period is None:
        raise NotFound(lazy("period"))
    period.status = status
    period.closed_at = utcnow() if status == "closed" else None
    await session.flush()
    return period
