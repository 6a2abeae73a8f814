"""Benchmark: balance sheet and profit and loss with 1,000,000 journal lines (issue 4; target:
each under 100 ms).

    .venv/bin/python bench/finance_statements.py [--lines 1000000] [--reps 100] [--warmup 10]
                                                 [--fresh] [--drop]

The ledger is bench/_finance_data.py's (shared with finance_trial_balance.py: the kept database
``<DATABASE_URL's name>_fin`` is reused when it checks out): one tenant, ~1,000,000 posted lines
from January 2025 to December 2026, 200 accounts.

Timed, through the application's tenant session (``tenants.service.in_tenant``), ``--reps`` times
each after ``--warmup`` untimed calls:

* ``statements.profit_and_loss(session, start, end)`` for a whole month, part of a month, a range
  with partial months at both ends, whole years, a year to date ending mid-month and all 24 months;
* ``statements.balance_sheet(session, as_of)`` at month ends, mid-month and the last day.

``statements`` is ``app.finance.services.statements`` when it exists; until it lands the run uses
bench/_statements_provisional.py and prints **PROVISIONAL** on every figure. Each figure of the
provisional statements is checked against a GROUP BY over the posted lines by date (untimed; its own
time is printed for reference).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import time
from datetime import date
from decimal import Decimal
from typing import Any

from _common import header, out, percentile, summary_ms
from _finance_data import ensure_ledger, finance_database
from _load import loadavg, quiet_notice

TARGET_MS = 100.0

PNL_CASES = [
    ("whole month 2026-06", date(2026, 6, 1), date(2026, 6, 30)),
    ("part of a month 2026-06-10..20", date(2026, 6, 10), date(2026, 6, 20)),
    ("2025-03-15..2025-09-14 (partial both ends)", date(2025, 3, 15), date(2025, 9, 14)),
    ("whole year 2025", date(2025, 1, 1), date(2025, 12, 31)),
    ("whole year 2026", date(2026, 1, 1), date(2026, 12, 31)),
    ("2026 to date, 2026-01-01..12-15", date(2026, 1, 1), date(2026, 12, 15)),
    ("all 24 months", date(2025, 1, 1), date(2026, 12, 31)),
]
BS_CASES = [
    ("as of 2025-12-31 (month end)", date(2025, 12, 31)),
    ("as of 2026-06-15 (mid-month)", date(2026, 6, 15)),
    ("as of 2026-12-20 (mid-month, last period)", date(2026, 12, 20)),
    ("as of 2026-12-31 (the end)", date(2026, 12, 31)),
]


def load_statements() -> tuple[Any, bool]:
    """(module, provisional?)."""
    try:
        return importlib.import_module("app.finance.services.statements"), False
    except ModuleNotFoundError:
        import _statements_provisional

        return _statements_provisional, True


async def _lines_by_date(session: Any, start: date | None, end: date) -> tuple[dict[int, Decimal], float]:
    """Per account, debit − credit of the posted lines dated in [start, end]; and the seconds."""
    from sqlalchemy import func, select

    from app.finance.models import Entry, EntryLine

    stmt = (
        select(EntryLine.account_id, func.sum(EntryLine.debit - EntryLine.credit))
        .join(Entry, Entry.id == EntryLine.entry_id)
        .where(Entry.status == "posted", Entry.entry_date <= end)
        .group_by(EntryLine.account_id)
    )
    if start is not None:
        stmt = stmt.where(Entry.entry_date >= start)
    started = time.perf_counter()
    rows = (await session.execute(stmt)).all()
    return {a: Decimal(n) for a, n in rows if n != 0}, time.perf_counter() - started


def _provisional_net(statement: Any) -> dict[int, Decimal]:
    return {
        r.account_id: (-r.amount if r.type in ("income", "expense") else r.amount) for r in statement.rows
    }


async def _time(fn: Any, args: argparse.Namespace) -> tuple[list[float], Any]:
    for _ in range(args.warmup):
        result = await fn()
    times = []
    for _ in range(args.reps):
        started = time.perf_counter()
        result = await fn()
        times.append((time.perf_counter() - started) * 1000)
    return times, result


def _year_before(d: date) -> date:
    return (
        date(d.year - 1, d.month, min(d.day, 28))
        if (d.month, d.day) == (2, 29)
        else d.replace(year=d.year - 1)
    )


def _cases(statements: Any, session: Any) -> list[tuple[str, str, Any, date | None, date]]:
    """(kind, name, call, start, end): the P&L and balance-sheet cases, plus — when the service
    takes a ``compare`` argument — the same with last year's figures beside them."""
    import inspect

    cases: list[tuple[str, str, Any, date | None, date]] = [
        ("P&L", name, (lambda s=s, e=e: statements.profit_and_loss(session, s, e)), s, e)
        for name, s, e in PNL_CASES
    ] + [
        ("balance sheet", name, (lambda d=d: statements.balance_sheet(session, d)), None, d)
        for name, d in BS_CASES
    ]
    compare_pnl = "compare" in inspect.signature(statements.profit_and_loss).parameters
    compare_bs = "compare" in inspect.signature(statements.balance_sheet).parameters
    if compare_pnl and hasattr(statements, "same_period_last_year"):
        for name, s, e in PNL_CASES[:6]:
            previous = statements.same_period_last_year(statements.DateRange(s, e))
            cases.append(
                ("P&L", name + " vs last year", (lambda s=s, e=e, c=previous: statements.profit_and_loss(
                    session, s, e, compare=c)), s, e)
            )  # fmt: skip
    if compare_bs:
        for name, d in BS_CASES:
            cases.append(
                ("balance sheet", name + " vs a year before", (lambda d=d: statements.balance_sheet(
                    session, d, compare=_year_before(d))), None, d)
            )  # fmt: skip
    return cases


def _verify_real(kind: str, result: Any, want: dict[int, Decimal], types: dict[int, str]) -> str:
    """What can be checked of the real service's statement against the lines' GROUP BY."""
    if kind == "balance sheet":
        if not result.balanced:
            raise RuntimeError("the balance sheet does not balance")
        return "balanced"
    profit = -sum((n for a, n in want.items() if types[a] in ("income", "expense")), Decimal(0))
    try:
        shown = result.figure("net_profit").current
    except (StopIteration, AttributeError):
        return "net profit not found, not checked"
    if shown != profit:
        raise RuntimeError(f"net profit {shown} ≠ {profit} from the lines")
    return "net profit = lines"


async def _drill(session: Any, types: dict[int, str], args: argparse.Namespace) -> list[str]:
    """The account ledger (drill-down from a figure to its lines), when the module exists: the
    first page of the busiest account (1122, ~40 % of all lines) and of a quiet one."""
    try:
        ledger = importlib.import_module("app.finance.services.account_ledger")
    except ModuleNotFoundError:
        out("account ledger (drill-down): app/finance/services/account_ledger.py not on this branch; skipped")
        return []
    from sqlalchemy import func, select

    from app.finance.models import Account, EntryLine

    busy = (await session.execute(select(Account.id).where(Account.code == "1122"))).scalar_one()
    quiet = (
        await session.execute(
            select(EntryLine.account_id).group_by(EntryLine.account_id).order_by(func.count()).limit(1)
        )
    ).scalar_one()
    summary = []
    for label, account_id in (("1122 应收账款 (busy)", busy), (f"account {quiet} (the quietest)", quiet)):
        for rname, s, e in (("June 2026", date(2026, 6, 1), date(2026, 6, 30)),
                            ("2026", date(2026, 1, 1), date(2026, 12, 31))):  # fmt: skip
            times, page = await _time(
                lambda a=account_id, s=s, e=e: ledger.account_ledger(session, a, s, e), args
            )
            p95 = percentile(times, 95)
            line = f"account ledger {label}, {rname}, first page ({len(page.lines)} lines)"
            out(f"{line:72} {summary_ms(times)}")
            summary.append(f"{line}: p50 {percentile(times, 50):.1f} / p95 {p95:.1f} ms")
    return summary


async def _measure(slug: str, args: argparse.Namespace) -> list[str]:
    from sqlalchemy import select

    from app.finance.models import Account
    from tenants.service import in_tenant

    statements, provisional = load_statements()
    mark = " PROVISIONAL" if provisional else ""
    if provisional:
        out(
            "NOTE: app/finance/services/statements.py is not on this branch yet — timing the PROVISIONAL "
            "stand-in bench/_statements_provisional.py (period balances for whole months, lines for "
            "partial ones). These figures are not the real service's."
        )
    else:
        out(f"timing {statements.__name__} ({statements.__file__})")
    summary = []
    async with in_tenant(slug) as (session, _):
        types = dict((await session.execute(select(Account.id, Account.type))).all())
        for kind, name, fn, start, end in _cases(statements, session):
            quiet_notice()
            times, result = await _time(fn, args)
            want, seconds = await _lines_by_date(session, start, end)
            if provisional:
                if kind == "P&L":
                    want = {a: n for a, n in want.items() if types[a] in ("income", "expense")}
                if _provisional_net(result) != want:
                    raise RuntimeError(f"{kind} {name}: the provisional statement differs from the lines")
                check = "= the lines"
            else:
                check = _verify_real(kind, result, want, types)
            p95 = percentile(times, 95)
            verdict = "met" if p95 < TARGET_MS else "MISSED"
            out(
                f"{kind:13} {name:58} {summary_ms(times)}{mark}  [{verdict}]  "
                f"({check}; the GROUP BY over the lines by date: {seconds * 1000:.0f} ms once)"
            )
            summary.append(
                f"{kind} {name}: p50 {percentile(times, 50):.1f} / p95 {p95:.1f} ms{mark} ({verdict})"
            )
        summary += await _drill(session, types, args)
    out(f"load average at the end: {loadavg()}")
    return summary


async def _run(slug: str, args: argparse.Namespace) -> list[str]:
    from app.kernel.db import close_database
    from app.kernel.redis import close_redis

    try:
        return await _measure(slug, args)
    finally:
        await close_database()
        await close_redis()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=100, help="timed calls per case (default 100)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed calls first (default 10)")
    parser.add_argument(
        "--fresh", action="store_true", help="regenerate the ledger even if the kept one is fine"
    )
    parser.add_argument("--drop", action="store_true", help="drop the finance database at the end")
    args = parser.parse_args()
    header("finance: balance sheet and profit and loss")
    with finance_database(fresh=args.fresh, drop=args.drop) as url:
        ledger = asyncio.run(ensure_ledger(url, args.lines))
        out(
            f"{ledger.lines:,} lines; {args.warmup} warm-up + {args.reps} timed calls per case "
            "(target p95 < 100 ms)"
        )
        summary = asyncio.run(_run(ledger.slug, args))
        out("summary:")
        for line in summary:
            out("  " + line)


if __name__ == "__main__":
    main()
