"""An account's ledger over a date range (FIN-5 drill-down: from a statement's figure to entries).

    page = await account_ledger(session, account_id, date(2026, 1, 1), date(2026, 3, 31), limit=100)
    page.opening, page.debit, page.credit, page.closing   # the whole range, not just this page
    for line in page.lines: line.number, line.balance       # running balance after the line
    page.next_cursor                                        # keyset: None on the last page

Lines are the account's *posted* lines in date order (entry date, then entry, then line). The
totals and the opening balance come from ``movements.totals`` (period balances plus partial
months); a page after the first starts from the balance before its cursor, which is the
balance up to the day before the cursor's date plus the lines of that day up to the cursor, so
running balances are right on every page without reading the pages before it.

Balances are net debits (debit − credit): positive is a debit balance, negative a credit one.
A statement's figure for the account equals ``closing`` (balance sheet, with the range starting
on 1 January) or ``debit − credit`` (profit and loss) on its normal side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm import interface as crm
from app.finance.errors import InvalidDateRange
from app.finance.models import Account, Entry, EntryLine, Supplier
from app.finance.services import movements
from app.finance.services.movements import ZERO, DateRange
from app.finance.services.queries import get_account
from app.finance.services.sources import source_url
from app.kernel.pagination import Key, Ordering, decode_cursor, encode_cursor

ORDER = Ordering(
    "fin_account_ledger", (Key(Entry.entry_date, date), Key(Entry.id, int), Key(EntryLine.id, int))
)


@dataclass(frozen=True)
class LedgerLine:
    line_id: int
    entry_id: int
    number: str
    entry_date: date
    journal: str
    memo: str  # the line's memo, else the entry's
    partner_id: int | None
    partner: str | None  # the customer's name
    supplier_id: int | None
    supplier: str | None
    cost_centre: str | None
    source_type: str | None
    source_id: int | None
    source_url: str | None
    debit: Decimal
    credit: Decimal
    balance: Decimal  # after this line


@dataclass(frozen=True)
class AccountLedger:
    account: Account
    period: DateRange
    opening: Decimal  # net debit at the end of the day before the range
    debit: Decimal  # the range's totals
    credit: Decimal
    lines: list[LedgerLine]
    next_cursor: str | None

    @property
    def closing(self) -> Decimal:
        return self.opening + self.debit - self.credit


def _lines_stmt(account_id: int, period: DateRange) -> Any:
    assert period.start is not None
    return (
        select(EntryLine, Entry)
        .join(Entry, Entry.id == EntryLine.entry_id)
        .where(
            EntryLine.account_id == account_id,
            Entry.status == "posted",
            Entry.entry_date.between(period.start, period.end),
        )
    )


async def _names(session: AsyncSession, lines: list[EntryLine]) -> tuple[dict[int, str], dict[int, str]]:
    partners = await crm.account_names(session, {x.partner_id for x in lines if x.partner_id})
    supplier_ids = {x.supplier_id for x in lines if x.supplier_id}
    suppliers: dict[int, str] = {}
    if supplier_ids:
        rows = await session.execute(select(Supplier.id, Supplier.name).where(Supplier.id.in_(supplier_ids)))
        suppliers = {i: n for i, n in rows.all()}
    return partners, suppliers


async def _balance_before(session: AsyncSession, account_id: int, after: tuple[Any, ...]) -> Decimal:
    """The account's net debit up to and including the line keyed ``after`` (date, entry, line)."""
    on, entry_id, line_id = after
    (upto,) = await movements.totals(
        session, [DateRange(None, on - timedelta(days=1))], account_ids=[account_id]
    )
    same_day = (
        await session.execute(
            select(func.coalesce(func.sum(EntryLine.debit - EntryLine.credit), 0))
            .join(Entry, Entry.id == EntryLine.entry_id)
            .where(
                EntryLine.account_id == account_id,
                Entry.status == "posted",
                Entry.entry_date == on,
                tuple_(Entry.id, EntryLine.id) <= tuple_(entry_id, line_id),
            )
        )
    ).scalar_one()
    return movements.net_debit(upto, account_id) + Decimal(same_day)


async def account_ledger(
    session: AsyncSession,
    account_id: int,
    start: date,
    end: date,
    *,
    cursor: str | None = None,
    limit: int = 100,
) -> AccountLedger:
    """One page of the posted lines of ``account_id`` dated ``start`` … ``end``, with the range's
    opening balance and totals and a running balance on each line. ``NotFound`` for an unknown
    account, ``InvalidCursor`` (400) for a cursor this list did not issue."""
    if end < start:
        raise InvalidDateRange()
    account = await get_account(session, account_id)
    period = DateRange(start, end)
    after = decode_cursor(ORDER, cursor) if cursor else None
    before_range, within = await movements.totals(
        session, [DateRange(None, start - timedelta(days=1)), period], account_ids=[account_id]
    )
    opening = movements.net_debit(before_range, account_id)
    debit, credit = within.get(account_id, (ZERO, ZERO))
    stmt = _lines_stmt(account_id, period)
    if after is not None:
        stmt = stmt.where(ORDER.after(after))
    rows = (await session.execute(stmt.order_by(*ORDER.order_by()).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    balance = opening if after is None else await _balance_before(session, account_id, after)
    partners, suppliers = await _names(session, [line for line, _ in rows])
    out = []
    for line, entry in rows:
        balance += line.debit - line.credit
        out.append(
            LedgerLine(
                line.id, entry.id, entry.number or "", entry.entry_date, entry.journal,
                line.memo or entry.memo,
                line.partner_id, partners.get(line.partner_id) if line.partner_id else None,
                line.supplier_id, suppliers.get(line.supplier_id) if line.supplier_id else None,
                line.cost_centre, entry.source_type, entry.source_id,
                source_url(entry.source_type, entry.source_id), line.debit, line.credit, balance,
            )
        )  # fmt: skip
    next_cursor = None
    if more and out:
        last = out[-1]
        next_cursor = encode_cursor(ORDER, (last.entry_date, last.entry_id, last.line_id))
    return AccountLedger(account, period, opening, debit, credit, out, next_cursor)


async def all_ledger_lines(
    session: AsyncSession, account_id: int, start: date, end: date, *, max_lines: int
) -> AccountLedger | None:
    """Every line of the range on one page (exports); None when there are more than ``max_lines``."""
    page = await account_ledger(session, account_id, start, end, limit=max_lines)
    return None if page.next_cursor else page
