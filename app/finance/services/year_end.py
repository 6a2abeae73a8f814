"""Year-end closing (FIN-1): the year's income and expense balances are carried into retained
earnings by one entry on 31 December, posted through the posting door like any other.

Each income or expense account with a balance for the year gets the opposite amount; the
difference — the year's profit (a credit) or loss (a debit) — goes to the retained earnings
account of the posting rules (by default the chart's: 410401 未分配利润 or 3200 Retained
earnings). After it, the trial balance of the next year opens with no income or expense
balances. The entry's source is ``("finance.year_end", year)``; a year is closed once — until its
closing entry is reversed (to correct the year), after which it can be closed again. December's
period row is taken ``FOR UPDATE`` first, so two closings of one year run one after the other and
the second finds the first.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.finance.errors import YearAlreadyClosed
from app.finance.models import Account, Entry, Period, PeriodBalance
from app.finance.services.periods import period_for
from app.finance.services.posting import PostingLine, PostingRequest, post
from app.finance.services.rules import account_code
from app.finance.services.setup import ensure_finance
from app.security.principal import Principal

SOURCE = "finance.year_end"
ZERO = Decimal("0.00")


async def year_closed(session: AsyncSession, year: int) -> Entry | None:
    """The year's closing entry, unless it has been reversed."""
    reversal = aliased(Entry)
    return (
        await session.execute(
            select(Entry)
            .outerjoin(reversal, reversal.reversal_of == Entry.id)
            .where(
                Entry.source_type == SOURCE,
                Entry.source_id == year,
                Entry.reversal_of.is_(None),
                reversal.id.is_(None),
            )
        )
    ).scalar_one_or_none()


async def close_year(session: AsyncSession, principal: Principal | None, year: int) -> Entry | None:
    """Post the year's closing entry; ``None`` when the year has no income or expense balance."""
    await ensure_finance(session)
    december = await period_for(session, date(year, 12, 31))
    await session.execute(select(Period.id).where(Period.id == december.id).with_for_update())
    done = await year_closed(session, year)
    if done is not None:
        raise YearAlreadyClosed(year, done.number or "")
    balances = (
        await session.execute(
            select(Account.code, func.sum(PeriodBalance.debit - PeriodBalance.credit))
            .join(PeriodBalance, PeriodBalance.account_id == Account.id)
            .join(Period, Period.id == PeriodBalance.period_id)
            .where(Period.year == year, Account.type.in_(("income", "expense")))
            .group_by(Account.code)
            .order_by(Account.code)
        )
    ).all()
    lines = []
    result = ZERO
    for code, net in balances:
        net = Decimal(net)
        if net == 0:
            continue
        result += net
        lines.append(PostingLine(code, credit=net) if net > 0 else PostingLine(code, debit=-net))
    if not lines:
        return None
    retained = await account_code(session, "retained_earnings")  # the posting rule, else the chart's
    if result > 0:  # expenses exceed income: a loss reduces retained earnings
        lines.append(PostingLine(retained, debit=result))
    elif result < 0:
        lines.append(PostingLine(retained, credit=-result))
    return await post(
        session,
        principal,
        PostingRequest(
            date=date(year, 12, 31),
            lines=lines,
            journal="general",
            memo=f"{year} → {retained}",
            source_type=SOURCE,
            source_id=year,
        ),
    )
