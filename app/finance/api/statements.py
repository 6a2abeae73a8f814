"""Statements under /api/v1/finance (FIN-5): profit and loss, balance sheet, cash report and an
account's ledger, each for any dates (``fin.ledger.read``).

Dates are ISO (``2026-03-31``). ``compare`` adds a comparison column: ``previous`` (the period
of equal length before), ``year`` (the same period last year) or ``custom`` with
``compare_from`` / ``compare_to``; for the balance sheet ``previous`` (end of the previous
month), ``year_start`` (end of the previous year), ``year`` (same date last year) or ``custom``
with ``compare_as_of``. A missing or malformed date, an end before the start or an unknown
comparison is a 422 problem (``invalid_date``, ``invalid_date_range``, ``invalid_comparison``)
naming the parameter.
"""

from __future__ import annotations

from typing import Annotated

from litestar import get
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, QueryParameter

from app.finance import schemas
from app.finance.services import account_ledger, statements
from app.finance.services.movements import bounds
from app.finance.services.queries import get_account
from app.kernel.api import Cursor, Limit, operation
from app.kernel.pagination import DEFAULT_LIMIT
from app.kernel.web import DbSession
from app.security.permissions import FIN_LEDGER_READ

Start = Annotated[str | None, QueryParameter(name="from", description="First day, e.g. 2026-01-01.")]
End = Annotated[str | None, QueryParameter(name="to", description="Last day (included), e.g. 2026-03-31.")]
Compare = Annotated[str | None, QueryParameter(description="none, previous, year or custom.")]
Text = Annotated[str | None, QueryParameter()]


@get(
    "/profit-and-loss",
    summary="Profit and loss for any dates",
    description="Income and expense in the chart's layout (CAS 利润表 or IFRS), with gross profit, "
    "operating profit, profit before tax and net profit.",
    tags=["finance"],
    **operation(FIN_LEDGER_READ, problems=[422]),
)
async def get_profit_and_loss(
    db: DbSession,
    start: Start = None,
    end: End = None,
    compare: Compare = None,
    compare_from: Text = None,
    compare_to: Text = None,
) -> schemas.Statement:
    current = statements.parse_range(start, end)
    comparison = statements.range_comparison(compare, current, compare_from, compare_to)
    return schemas.statement_of(await statements.profit_and_loss(db, *bounds(current), compare=comparison))


@get(
    "/balance-sheet",
    summary="Balance sheet at the end of a day",
    description="Assets, liabilities and equity; the result not yet closed into retained earnings is "
    "inside equity, so `balanced` is always true for a sound ledger. `compare`: none, previous, "
    "year_start, year or custom (with `compare_as_of`).",
    tags=["finance"],
    **operation(FIN_LEDGER_READ, problems=[422]),
)
async def get_balance_sheet(
    db: DbSession, as_of: Text = None, compare: Text = None, compare_as_of: Text = None
) -> schemas.Statement:
    day = statements.parse_date(as_of, "as_of")
    comparison = statements.date_comparison(compare, day, compare_as_of)
    return schemas.statement_of(await statements.balance_sheet(db, day, compare=comparison))


@get(
    "/cash-report",
    summary="Cash report for any dates",
    description="Opening balance, money in, money out and closing balance of each cash and bank "
    "account, and money in and out by source (customers, suppliers, transfers, other).",
    tags=["finance"],
    **operation(FIN_LEDGER_READ, problems=[422]),
)
async def get_cash_report(
    db: DbSession,
    start: Start = None,
    end: End = None,
    compare: Compare = None,
    compare_from: Text = None,
    compare_to: Text = None,
) -> schemas.CashReport:
    current = statements.parse_range(start, end)
    comparison = statements.range_comparison(compare, current, compare_from, compare_to)
    return schemas.cash_report_of(await statements.cash_report(db, *bounds(current), compare=comparison))


@get(
    "/accounts/{account_id:int}/ledger",
    summary="An account's posted lines over a range",
    description="In date order, with the range's opening balance and totals and a running balance on "
    "each line; cursor-paged (`next_cursor`).",
    tags=["finance"],
    **operation(FIN_LEDGER_READ, resource="fin_accounts", problems=[404, 422]),
)
async def get_account_ledger(
    db: DbSession,
    account_id: FromPath[int],
    start: Start = None,
    end: End = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> schemas.AccountLedger:
    await get_account(db, account_id)  # 404 before judging the dates
    period = statements.parse_range(start, end)
    ledger = await account_ledger.account_ledger(db, account_id, *bounds(period), cursor=cursor, limit=limit)
    return schemas.account_ledger_of(ledger)


ROUTES: list[HTTPRouteHandler] = [get_profit_and_loss, get_balance_sheet, get_cash_report, get_account_ledger]
