"""Property test: after any random postings over months that cross a year end, for any dates —

* the totals of a range read from period balances plus partial months equal the plain sum of
  the posted lines dated in it (movements.totals against a GROUP BY over the lines);
* the balance sheet balances, at any date, with or without a comparison;
* profit and loss is additive: [a, b] = [a, m] + [m + 1, b];
* the result of the year inside equity equals the P&L from 1 January to the date;
* an account's ledger closes on its balance sheet figure.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.finance.models import Entry, EntryLine
from app.finance.services import account_ledger, movements, posting, statements
from app.finance.services.movements import DateRange
from app.finance.services.posting import PostingLine, PostingRequest
from tenants.service import in_tenant
from tests.finance.support import codes

ROLES = [
    "cash",
    "bank",
    "receivable",
    "inventory",
    "payable",
    "output_vat",
    "revenue",
    "cost_of_sales",
    "admin_expense",
    "finance_cost",
]
FIRST, LAST = date(2071, 11, 1), date(2072, 2, 29)  # 2072 is a leap year
SPAN = (LAST - FIRST).days

days = st.integers(min_value=0, max_value=SPAN).map(lambda n: FIRST + timedelta(days=n))
cents = st.integers(min_value=1, max_value=5_000_000).map(lambda n: Decimal(n).scaleb(-2))


@st.composite
def balanced_posting(draw: st.DrawFn) -> tuple[date, list[tuple[str, Decimal, Decimal]]]:
    amount = draw(cents)
    parts = draw(st.integers(min_value=1, max_value=3))
    split = [amount]
    if parts > 1 and amount > Decimal("0.02"):
        first = Decimal(draw(st.integers(min_value=1, max_value=int(amount * 100) - 1))).scaleb(-2)
        split = [first, amount - first]
    lines = [(draw(st.sampled_from(ROLES)), amount, Decimal(0))]
    lines += [(draw(st.sampled_from(ROLES)), Decimal(0), part) for part in split]
    return draw(days), lines


@st.composite
def date_range(draw: st.DrawFn) -> DateRange:
    a, b = sorted((draw(days), draw(days)))
    return DateRange(a, b)


async def _plain_sums(session, r: DateRange) -> dict[int, tuple[Decimal, Decimal]]:
    stmt = (
        select(EntryLine.account_id, func.sum(EntryLine.debit), func.sum(EntryLine.credit))
        .join(Entry, Entry.id == EntryLine.entry_id)
        .where(Entry.status == "posted", Entry.entry_date <= r.end)
        .group_by(EntryLine.account_id)
    )
    if r.start is not None:
        stmt = stmt.where(Entry.entry_date >= r.start)
    return {
        a: (Decimal(d), Decimal(c))
        for a, d, c in (await session.execute(stmt)).all()
        if Decimal(d) or Decimal(c)
    }


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    postings=st.lists(balanced_posting(), min_size=1, max_size=6),
    ranges=st.lists(date_range(), min_size=2, max_size=4),
    as_of=days,
)
async def test_statements_agree_with_the_lines_for_any_dates(acme, postings, ranges, as_of):
    c = await codes(acme)
    async with in_tenant(acme.slug) as (session, _):
        for on, lines in postings:
            await posting.post(
                session,
                None,
                PostingRequest(
                    date=on,
                    lines=[PostingLine(c[role], debit=d, credit=cr) for role, d, cr in lines],
                    source_type="property",
                ),
            )
    async with in_tenant(acme.slug) as (session, _):
        asked = [*ranges, DateRange(None, as_of)]
        for r, found in zip(asked, await movements.totals(session, asked), strict=True):
            assert found == await _plain_sums(session, r), r

        bs = await statements.balance_sheet(session, as_of, compare=ranges[0].end)
        assert bs.balanced

        a, b = ranges[0].start, ranges[0].end
        assert a is not None
        whole = await statements.profit_and_loss(session, a, b)
        if a < b:
            m = a + (b - a) // 2
            left = await statements.profit_and_loss(session, a, m)
            right = await statements.profit_and_loss(session, m + timedelta(days=1), b)
            net = whole.figure("net_profit").current
            assert net == left.figure("net_profit").current + right.figure("net_profit").current

        year = await statements.profit_and_loss(session, date(as_of.year, 1, 1), as_of)
        assert bs.figure("result_current_year").current == year.figure("net_profit").current

        drill = bs.drill[0]
        assert drill.start is not None
        for line in bs.lines:
            if line.kind == "account" and line.code in (c["bank"], c["receivable"], c["payable"]):
                ledger = await account_ledger.account_ledger(
                    session, line.account_id, drill.start, drill.end, limit=1
                )
                side = -1 if line.code == c["payable"] else 1
                assert ledger.closing * side == line.current, line.code
