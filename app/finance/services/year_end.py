"""Year-end closing (FIN-1): the year's income and expense balances are carried into retained
earnings by one entry on 31 December, posted through the posting door like any other.

Each income or expense account with a balance for the year gets the opposite amount and the
difference — the year's profit (a credit) or loss (a debit) — goes to the current-year result
account (posting rule ``current_result``: 4103 本年利润 / 3300 Current year result), which the same
entry then empties, together with anything posted to it by hand during the year, into retained
earnings (rule ``retained_earnings``: 410401 利润分配—未分配利润 / 3200 Retained earnings) — the
结转本年利润 path of 企业会计准则, in one voucher. After it, the trial balance of the next year
opens with no income or expense balances. The entry's source is ``("finance.year_end", year)``;
a year is closed once — until its closing entry is reversed (to correct the year), after which it
can be closed again. December's period row is taken ``FOR UPDATE`` first, so two closings of one
year run one after the other and the second finds the first.
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
    current, retained = (
        await account_code(session, "current_result"),
        await account_code(session, "retained_earnings"),
    )
    # The result account's balance up to the year's end (debit positive), before this entry.
    carried = Decimal(
        (
            await session.execute(
                select(func.coalesce(func.sum(PeriodBalance.debit - PeriodBalance.credit), 0))
                .join(Account, Account.id == PeriodBalance.account_id)
                .join(Period, Period.id == PeriodBalance.period_id)
                .where(Account.code == current, Period.year <= year)
            )
        ).scalar_one()
    )
    # ``result`` > 0: expenses exceed income, a loss, debited to the result account (and back).
    if result > 0:
        lines.append(PostingLine(current, debit=result))
    elif result < 0:
        lines.append(PostingLine(current, credit=-result))
    transfer = result + carried  # what the result account holds once the year is in it
    if transfer > 0:
        lines += [PostingLine(current, credit=transfer), PostingLine(retained, debit=transfer)]
    elif transfer < 0:
        lines += [PostingLine(current, debit=-transfer), PostingLine(retained, credit=-transfer)]
    return await post(
        session,
        principal,
        PostingRequest(
            date=date(year, 12, 31),
            lines=lines,
            journal="general",
            memo=f"{year}: → {current} → {retained}",
            source_type=SOURCE,
            source_id=year,
        ),
    )
