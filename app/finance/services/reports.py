"""Trial balance from the period balances, and the ledger's invariants checked from scratch.

The trial balance of a period reads ``fin_period_balances`` (accounts × periods, kept by the
posting trigger) — never the journal lines. Opening = everything posted before the period,
movements = the period's totals, closing = opening + movements. Each is shown as a net debit or
credit balance per account, so the columns' totals agree when the books balance.

Income and expense accounts carry their balances into the next year until the year is closed
(app/finance/services/year_end.py), which moves them into retained earnings.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, func, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.models import Account, Entry, EntryLine, Period, PeriodBalance

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class TrialBalanceRow:
    account_id: int
    code: str
    name: str
    type: str
    opening_debit: Decimal
    opening_credit: Decimal
    period_debit: Decimal
    period_credit: Decimal
    closing_debit: Decimal
    closing_credit: Decimal


@dataclass(frozen=True)
class TrialBalance:
    period: str
    rows: list[TrialBalanceRow]
    totals: TrialBalanceRow

    @property
    def balanced(self) -> bool:
        t = self.totals
        return (
            t.opening_debit == t.opening_credit
            and t.period_debit == t.period_credit
            and t.closing_debit == t.closing_credit
        )


def _split(net: Decimal) -> tuple[Decimal, Decimal]:
    return (net, ZERO) if net >= 0 else (ZERO, -net)


async def trial_balance(session: AsyncSession, year: int, month: int) -> TrialBalance:
    before = tuple_(Period.year, Period.month) < tuple_(literal(year), literal(month))
    within = and_(Period.year == year, Period.month == month)
    stmt = (
        select(
            Account.id,
            Account.code,
            Account.name,
            Account.type,
            func.coalesce(func.sum(PeriodBalance.debit - PeriodBalance.credit).filter(before), 0),
            func.coalesce(func.sum(PeriodBalance.debit).filter(within), 0),
            func.coalesce(func.sum(PeriodBalance.credit).filter(within), 0),
        )
        .join(PeriodBalance, PeriodBalance.account_id == Account.id)
        .join(Period, Period.id == PeriodBalance.period_id)
        .where(or_(before, within))
        .group_by(Account.id)
        .order_by(Account.code)
    )
    rows = []
    for account_id, code, name, type_, opening, debit, credit in (await session.execute(stmt)).all():
        if opening == 0 and debit == 0 and credit == 0:
            continue
        od, oc = _split(Decimal(opening))
        cd, cc = _split(Decimal(opening) + Decimal(debit) - Decimal(credit))
        rows.append(
            TrialBalanceRow(account_id, code, name, type_, od, oc, Decimal(debit), Decimal(credit), cd, cc)
        )
    columns = (
        "opening_debit",
        "opening_credit",
        "period_debit",
        "period_credit",
        "closing_debit",
        "closing_credit",
    )
    sums = [sum((getattr(r, f) for r in rows), ZERO) for f in columns]
    totals = TrialBalanceRow(0, "", "", "", *sums)
    return TrialBalance(f"{year:04d}-{month:02d}", rows, totals)


async def ledger_totals(session: AsyncSession, year: int, month: int) -> dict[int, tuple[Decimal, Decimal]]:
    """Per account, (debit, credit) summed from the posted journal lines of the period: what the
    trial balance's movements must equal (the plain GROUP BY the period balances spare us)."""
    stmt = (
        select(EntryLine.account_id, func.sum(EntryLine.debit), func.sum(EntryLine.credit))
        .join(Entry, Entry.id == EntryLine.entry_id)
        .join(Period, Period.id == Entry.period_id)
        .where(Entry.status == "posted", Period.year == year, Period.month == month)
        .group_by(EntryLine.account_id)
    )
    return {a: (Decimal(d), Decimal(c)) for a, d, c in (await session.execute(stmt)).all()}


async def check_ledger(session: AsyncSession) -> list[str]:
    """Every invariant of the ledger, recomputed from the lines; returns the problems found (an
    empty list when the books are right): posted entries balance, period balances equal the sum
    of the lines, total debits equal total credits, and each journal's voucher numbers in a
    period run 1..n without a gap. For tests, benchmarks and an operator's sanity check."""
    problems: list[str] = []
    unbalanced = (
        await session.execute(
            select(Entry.number, func.sum(EntryLine.debit), func.sum(EntryLine.credit))
            .join(EntryLine, EntryLine.entry_id == Entry.id)
            .where(Entry.status == "posted")
            .group_by(Entry.id)
            .having(
                or_(func.sum(EntryLine.debit) != func.sum(EntryLine.credit), func.sum(EntryLine.debit) == 0)
            )
        )
    ).all()
    problems += [f"entry {n} is unbalanced: {d} ≠ {c}" for n, d, c in unbalanced]
    ledger = {
        (a, p): (Decimal(d), Decimal(c))
        for a, p, d, c in (
            await session.execute(
                select(
                    EntryLine.account_id,
                    Entry.period_id,
                    func.sum(EntryLine.debit),
                    func.sum(EntryLine.credit),
                )
                .join(Entry, Entry.id == EntryLine.entry_id)
                .where(Entry.status == "posted")
                .group_by(EntryLine.account_id, Entry.period_id)
            )
        ).all()
    }
    balances = {
        (b.account_id, b.period_id): (b.debit, b.credit)
        for b in (await session.execute(select(PeriodBalance))).scalars()
    }
    for key in sorted(set(ledger) | set(balances)):
        want = ledger.get(key, (ZERO, ZERO))
        have = balances.get(key, (ZERO, ZERO))
        if want != have:
            problems.append(f"account {key[0]} period {key[1]}: balances {have} ≠ ledger {want}")
    numbers = (
        await session.execute(
            select(Entry.journal, Entry.period_id, Entry.number).where(Entry.status == "posted")
        )
    ).all()
    sequences: dict[tuple[str, int], list[int]] = {}
    for journal, period_id, number in numbers:
        tail = (number or "").rsplit("-", 1)[-1]
        sequences.setdefault((journal, period_id), []).append(int(tail) if tail.isdigit() else -1)
    for (journal, period_id), seen in sorted(sequences.items()):
        if sorted(seen) != list(range(1, len(seen) + 1)):
            problems.append(f"journal {journal} period {period_id}: voucher numbers are not 1..{len(seen)}")
    total_debit = sum((d for d, _ in ledger.values()), ZERO)
    total_credit = sum((c for _, c in ledger.values()), ZERO)
    if total_debit != total_credit:
        problems.append(f"the ledger's debits {total_debit} ≠ credits {total_credit}")
    return problems
