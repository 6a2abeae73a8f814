"""Reading the chart and the journal (API and portal lists, entry pages)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.models import Account, Entry, EntryLine, Period
from app.finance.services.periods import parse_period
from app.kernel.errors import NotFound
from app.kernel.i18n import lazy


def accounts_stmt(*, type_: str | None = None, postable: bool | None = None) -> Select[Any]:
    stmt = select(Account)
    if type_ is not None:
        stmt = stmt.where(Account.type == type_)
    if postable is not None:
        stmt = stmt.where(Account.postable.is_(postable))
    return stmt


async def get_account(session: AsyncSession, account_id: int) -> Account:
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound(lazy("account"))
    return account


def entries_stmt(*, period: str | None = None, journal: str | None = None) -> Select[Any]:
    stmt = select(Entry)
    if period:
        year, month = parse_period(period)
        stmt = stmt.join(Period, Period.id == Entry.period_id).where(
            Period.year == year, Period.month == month
        )
    if journal:
        stmt = stmt.where(Entry.journal == journal)
    return stmt


async def get_entry(session: AsyncSession, entry_id: int) -> Entry:
    entry = await session.get(Entry, entry_id)
    if entry is None:
        raise NotFound(lazy("journal entry"))
    return entry


async def entry_lines(session: AsyncSession, entry_id: int) -> list[tuple[EntryLine, Account]]:
    rows = await session.execute(
        select(EntryLine, Account)
        .join(Account, Account.id == EntryLine.account_id)
        .where(EntryLine.entry_id == entry_id)
        .order_by(EntryLine.line_no)
    )
    return [(line, account) for line, account in rows.all()]


async def entry_totals(session: AsyncSession, entry_ids: list[int]) -> dict[int, Any]:
    """The debit total of each entry (one query for a page of entries)."""
    if not entry_ids:
        return {}
    rows = await session.execute(
        select(EntryLine.entry_id, func.sum(EntryLine.debit))
        .where(EntryLine.entry_id.in_(entry_ids))
        .group_by(EntryLine.entry_id)
    )
    return {entry_id: total for entry_id, total in rows.all()}


async def period_codes(session: AsyncSession, period_ids: set[int]) -> dict[int, str]:
    if not period_ids:
        return {}
    rows = (await session.execute(select(Period).where(Period.id.in_(period_ids)))).scalars()
    return {p.id: p.code for p in rows}
