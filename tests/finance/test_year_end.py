"""Year-end closing: the year's income and expense balances go to retained earnings, once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.finance import errors
from app.finance.models import Account, EntryLine, Period, PeriodBalance
from app.finance.services import posting, reports, year_end
from app.finance.services.posting import PostingLine, PostingRequest
from tenants.service import in_tenant
from tests.crm.support import acting_as
from tests.finance.support import codes, fresh_month, sale


async def _year_net(session, year: int, types: tuple[str, ...]) -> dict[str, Decimal]:
    rows = await session.execute(
        select(Account.code, func.sum(PeriodBalance.debit - PeriodBalance.credit))
        .join(PeriodBalance, PeriodBalance.account_id == Account.id)
        .join(Period, Period.id == PeriodBalance.period_id)
        .where(Period.year == year, Account.type.in_(types))
        .group_by(Account.code)
    )
    return {code: Decimal(net) for code, net in rows.all()}


async def test_the_years_result_is_carried_into_retained_earnings_once(acme):
    c, on = await codes(acme), fresh_month()
    async with acting_as(acme, "bob") as (session, principal):
        await posting.post(session, principal, sale(c, on))  # revenue 1000.00
        await posting.post(
            session,
            principal,
            PostingRequest(
                date=on,
                journal="payments",
                lines=[
                    PostingLine(c["admin_expense"], debit=Decimal("300.00")),
                    PostingLine(c["bank"], credit=Decimal("300.00")),
                ],
            ),
        )
        closing = await year_end.close_year(session, principal, on.year)
    assert closing is not None
    assert closing.number == f"记-{on.year}-12-0001"
    async with in_tenant(acme.slug) as (session, _):
        pnl = await _year_net(session, on.year, ("income", "expense"))
        equity = await _year_net(session, on.year, ("equity",))
        assert await reports.check_ledger(session) == []
    assert set(pnl.values()) == {Decimal(0)}
    assert equity[c["retained_earnings"]] == Decimal("-700.00")  # a profit is a credit
    # 结转本年利润: the profit went through the current-year result account, which is empty again.
    assert equity[c["current_result"]] == Decimal("0.00")
    async with in_tenant(acme.slug) as (session, _):
        through = await session.execute(
            select(EntryLine.credit, EntryLine.debit)
            .join(Account, Account.id == EntryLine.account_id)
            .where(EntryLine.entry_id == closing.id, Account.code == c["current_result"])
            .order_by(EntryLine.line_no)
        )
        assert [tuple(r) for r in through.all()] == [
            (Decimal("700.00"), Decimal("0.00")),
            (Decimal("0.00"), Decimal("700.00")),
        ]

    with pytest.raises(errors.YearAlreadyClosed):
        async with acting_as(acme, "bob") as (session, principal):
            await year_end.close_year(session, principal, on.year)
    # Reversing the closing entry reopens the year; closing again posts a new one.
    async with acting_as(acme, "bob") as (session, principal):
        await posting.reverse(session, principal, closing.id)
        again = await year_end.close_year(session, principal, on.year)
    assert again is not None
    assert again.number == f"记-{on.year}-12-0003"


async def test_a_year_without_income_or_expense_needs_no_closing(acme):
    c, on = await codes(acme), fresh_month()
    async with acting_as(acme, "bob") as (session, principal):
        await posting.post(
            session,
            principal,
            PostingRequest(
                date=on,
                lines=[
                    PostingLine(c["cash"], debit=Decimal("50.00")),
                    PostingLine(c["bank"], credit=Decimal("50.00")),
                ],
            ),
        )
        assert await year_end.close_year(session, principal, on.year) is None
