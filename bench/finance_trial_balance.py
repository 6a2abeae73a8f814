"""Benchmark: the trial balance with 1,000,000 journal lines in one tenant (issue 4; targets: under
50 ms, and at most 1/10 of the time the plain GROUP BY over the lines takes, in the same run).

    .venv/bin/python bench/finance_trial_balance.py [--lines 1000000] [--reps 300] [--groupby-reps 20]
                                                    [--fresh] [--drop]

The ledger (bench/_finance_data.py): one tenant, ~1,000,000 posted lines over 24 months, 200
accounts, partners and suppliers, in a kept database (``<DATABASE_URL's name>_fin``) that later
runs reuse once it checks out; generated in about a minute otherwise.

Timed, for the first, a middle and the last period, through the application's own tenant session
(``tenants.service.in_tenant``: SQLAlchemy AsyncSession + asyncpg on the tenant schema):

* **TB**: ``app.finance.services.reports.trial_balance(session, year, month)`` — the service the
  portal and the API call: one statement over ``fin_period_balances`` (accounts × periods) plus
  the rows built in Python;
* **GROUP BY**: the same figures summed from the journal lines — opening = posted lines of every
  earlier period, movements = the period's posted lines, per account — one statement joining
  ``fin_entry_lines``, ``fin_entries``, ``fin_periods`` and ``fin_accounts`` (executed and fetched).

Both run in the same process, interleaved (one GROUP BY, then a batch of TBs, repeated), after a
warm-up, so both see the same machine. The figures of the two are compared account by account
(they must be identical). Then ``EXPLAIN (ANALYZE, BUFFERS)`` of both for the last period.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from decimal import Decimal
from typing import Any

from _common import header, out, percentile, summary_ms
from _finance_data import ensure_ledger, finance_database
from _load import loadavg, quiet_notice

TB_TARGET_MS = 50.0
RATIO_TARGET = 10.0


def groupby_statement(year: int, month: int) -> Any:
    """Opening, debits and credits per account summed from the posted lines: what the trial
    balance shows, computed the plain way."""
    from sqlalchemy import and_, func, literal, select, tuple_

    from app.finance.models import Account, Entry, EntryLine, Period

    before = tuple_(Period.year, Period.month) < tuple_(literal(year), literal(month))
    within = and_(Period.year == year, Period.month == month)
    return (
        select(
            Account.id,
            Account.code,
            Account.name,
            Account.type,
            func.coalesce(func.sum(EntryLine.debit - EntryLine.credit).filter(before), 0),
            func.coalesce(func.sum(EntryLine.debit).filter(within), 0),
            func.coalesce(func.sum(EntryLine.credit).filter(within), 0),
        )
        .select_from(EntryLine)
        .join(Entry, Entry.id == EntryLine.entry_id)
        .join(Period, Period.id == Entry.period_id)
        .join(Account, Account.id == EntryLine.account_id)
        .where(
            Entry.status == "posted",
            tuple_(Period.year, Period.month) <= tuple_(literal(year), literal(month)),
        )
        .group_by(Account.id)
        .order_by(Account.code)
    )


def _figures_tb(tb: Any) -> dict[int, tuple[Decimal, Decimal, Decimal]]:
    return {
        r.account_id: (r.opening_debit - r.opening_credit, r.period_debit, r.period_credit) for r in tb.rows
    }


def _figures_gb(rows: list[Any]) -> dict[int, tuple[Decimal, Decimal, Decimal]]:
    figures = {}
    for account_id, _code, _name, _type, opening, debit, credit in rows:
        if opening == 0 and debit == 0 and credit == 0:
            continue
        figures[account_id] = (Decimal(opening), Decimal(debit), Decimal(credit))
    return figures


async def _measure(slug: str, periods: list[tuple[int, int]], args: argparse.Namespace) -> list[str]:
    from app.finance.services import reports
    from tenants.service import in_tenant

    summary = []
    async with in_tenant(slug) as (session, ref):
        for year, month in periods:
            quiet_notice()
            stmt = groupby_statement(year, month)
            # warm-up: statement caches, prepared statements, the buffers both read
            for _ in range(args.warmup):
                await reports.trial_balance(session, year, month)
            for _ in range(2):
                (await session.execute(stmt)).all()
            tb_ms: list[float] = []
            gb_ms: list[float] = []
            batch = max(1, args.reps // args.groupby_reps)
            load_before = loadavg()
            for _ in range(args.groupby_reps):
                started = time.perf_counter()
                gb_rows = (await session.execute(stmt)).all()
                gb_ms.append((time.perf_counter() - started) * 1000)
                for _ in range(batch):
                    started = time.perf_counter()
                    tb = await reports.trial_balance(session, year, month)
                    tb_ms.append((time.perf_counter() - started) * 1000)
            same = _figures_tb(tb) == _figures_gb(gb_rows)
            if not same or not tb.balanced:
                raise RuntimeError(f"{year}-{month:02d}: the trial balance differs from the lines' GROUP BY")
            ratio = percentile(gb_ms, 50) / percentile(tb_ms, 50)
            ratio95 = percentile(gb_ms, 95) / percentile(tb_ms, 95)
            tb50, tb95 = percentile(tb_ms, 50), percentile(tb_ms, 95)
            out(
                f"period {year}-{month:02d} ({len(tb.rows)} accounts with figures, identical in both; "
                f"load {load_before} → {loadavg()}):"
            )
            out(f"  TB        {summary_ms(tb_ms)}")
            out(f"  GROUP BY  {summary_ms(gb_ms)}")
            verdict_abs = "met" if tb95 < TB_TARGET_MS else "MISSED"
            verdict_ratio = "met" if ratio >= RATIO_TARGET else "MISSED"
            out(
                f"  TB p95 {tb95:.2f} ms (target < {TB_TARGET_MS:.0f} ms: {verdict_abs}); GROUP BY / TB = "
                f"{ratio:.0f}× at p50, {ratio95:.0f}× at p95 (target ≥ {RATIO_TARGET:.0f}×: {verdict_ratio})"
            )
            summary.append(
                f"{year}-{month:02d}: TB p50 {tb50:.2f} / p95 {tb95:.2f} ms; GROUP BY p50 "
                f"{percentile(gb_ms, 50):.1f} / p95 {percentile(gb_ms, 95):.1f} ms; ratio {ratio:.0f}× "
                f"(TB target {verdict_abs}, ratio target {verdict_ratio})"
            )
        if args.explain:
            await _explain(session, ref.schema, *periods[-1])
    return summary


async def _explain(session: Any, schema: str, year: int, month: int) -> None:
    from sqlalchemy import and_, func, literal, or_, select, tuple_

    from app.finance.models import Account, Period, PeriodBalance

    # The trial balance's statement, as written in app/finance/services/reports.py.
    before = tuple_(Period.year, Period.month) < tuple_(literal(year), literal(month))
    within = and_(Period.year == year, Period.month == month)
    tb_stmt = (
        select(
            Account.id,
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
    conn = await session.connection()
    await conn.exec_driver_sql(f'SET LOCAL search_path TO "{schema}", public')
    for name, stmt in (("TB", tb_stmt), ("GROUP BY", groupby_statement(year, month))):
        sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        rows = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        out(f"EXPLAIN (ANALYZE, BUFFERS) of the {name} statement, period {year}-{month:02d}:")
        for (line,) in rows.all():
            out("  " + line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=300, help="trial balances timed per period (default 300)")
    parser.add_argument(
        "--groupby-reps", type=int, default=20, help="GROUP BYs timed per period (default 20)"
    )
    parser.add_argument("--warmup", type=int, default=30, help="untimed trial balances first (default 30)")
    parser.add_argument("--no-explain", dest="explain", action="store_false")
    parser.add_argument(
        "--fresh", action="store_true", help="regenerate the ledger even if a kept one checks out"
    )
    parser.add_argument("--drop", action="store_true", help="drop the finance database at the end")
    args = parser.parse_args()
    header("finance: trial balance vs GROUP BY over the lines")
    with finance_database(fresh=args.fresh, drop=args.drop) as url:
        ledger = asyncio.run(ensure_ledger(url, args.lines))
        chosen = [ledger.periods[0], ledger.periods[len(ledger.periods) // 2], ledger.periods[-1]]
        out(
            f"measuring {', '.join(f'{y}-{m:02d}' for y, m in chosen)}: per period {args.warmup} TB "
            f"+ 2 GROUP BY warm-up, then {args.groupby_reps} × "
            f"(1 GROUP BY + {max(1, args.reps // args.groupby_reps)} TB); "
            f"pid {os.getpid()}"
        )
        summary = asyncio.run(_run(ledger.slug, chosen, args))
        out("summary:")
        for line in summary:
            out("  " + line)


async def _run(slug: str, periods: list[tuple[int, int]], args: argparse.Namespace) -> list[str]:
    from app.kernel.db import close_database
    from app.kernel.redis import close_redis

    try:
        return await _measure(slug, periods, args)
    finally:
        await close_database()
        await close_redis()


if __name__ == "__main__":
    main()
