"""Property test: any sequence of balanced postings, reversals and bursts of concurrent postings
(some rolled back after taking their number) keeps every invariant — debits equal credits, the
trial balance equals the general ledger, period balances equal the lines, voucher numbers are
gapless (reports.check_ledger)."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.finance import errors
from app.finance.models import Entry
from app.finance.services import posting, reports
from app.finance.services.posting import PostingLine, PostingRequest
from tenants.service import in_tenant
from tests.crm.support import acting_as
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
]
YEAR = 2090

cents = st.integers(min_value=1, max_value=10_000_000).map(lambda n: Decimal(n).scaleb(-2))


@st.composite
def balanced_posting(draw: st.DrawFn) -> tuple[int, list[tuple[str, Decimal, Decimal]]]:
    """Debit amounts split over one to three accounts, credits over one to three (the credit side
    re-splits the same total, the residual to the last line — so it balances to the cent)."""
    month = draw(st.integers(min_value=1, max_value=3))
    debits = draw(st.lists(cents, min_size=1, max_size=3))
    total = sum(debits, Decimal(0))
    n_credit = draw(st.integers(min_value=1, max_value=3))
    credits: list[Decimal] = []
    left = total
    for _ in range(n_credit - 1):
        if left <= Decimal("0.01"):
            break
        part = draw(st.integers(min_value=1, max_value=int(left * 100) - 1))
        credits.append(Decimal(part).scaleb(-2))
        left -= credits[-1]
    credits.append(left)
    lines = [(draw(st.sampled_from(ROLES)), d, Decimal(0)) for d in debits]
    lines += [(draw(st.sampled_from(ROLES)), Decimal(0), c) for c in credits]
    return month, lines


operations = st.lists(
    st.one_of(
        balanced_posting(),
        st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=20)),
        # Several postings at once, each in its own transaction; the flagged ones roll back after
        # taking their voucher number.
        st.tuples(
            st.just("concurrent"),
            st.lists(st.tuples(balanced_posting(), st.booleans()), min_size=2, max_size=4),
        ),
    ),
    min_size=1,
    max_size=6,
)


async def _invariants(acme) -> None:
    async with in_tenant(acme.slug) as (session, _):
        assert await reports.check_ledger(session) == []
        for month in (1, 2, 3):
            tb = await reports.trial_balance(session, YEAR, month)
            assert tb.balanced
            movements = {
                r.account_id: (r.period_debit, r.period_credit)
                for r in tb.rows
                if r.period_debit or r.period_credit
            }
            assert movements == await reports.ledger_totals(session, YEAR, month)


class Abandoned(Exception):
    pass


def _request(c: dict[str, str], month: int, lines: list[tuple[str, Decimal, Decimal]]) -> PostingRequest:
    return PostingRequest(
        date=date(YEAR, month, 10),
        lines=[PostingLine(c[role], debit=d, credit=cr) for role, d, cr in lines],
        source_type="property",
    )


async def _post_or_abandon(acme, c: dict[str, str], drawn: tuple[int, list], abandon: bool) -> int | None:
    try:
        async with acting_as(acme, "bob") as (session, principal):
            entry = await posting.post(session, principal, _request(c, *drawn))
            if abandon:
                raise Abandoned
            return entry.id
    except Abandoned:
        return None


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=operations)
async def test_random_postings_and_reversals_keep_the_books_right(acme, ops):
    c = await codes(acme)
    posted: list[int] = []
    for op in ops:
        if op[0] == "concurrent":
            results = await asyncio.gather(
                *(_post_or_abandon(acme, c, posting_, abandon) for posting_, abandon in op[1])
            )
            posted += [entry_id for entry_id in results if entry_id is not None]
            await _invariants(acme)
            continue
        async with acting_as(acme, "bob") as (session, principal):
            if op[0] == "reverse":
                if not posted:
                    continue
                target = posted[op[1] % len(posted)]
                try:
                    entry = await posting.reverse(session, principal, target)
                except errors.AlreadyReversed:
                    continue
            else:
                entry = await posting.post(session, principal, _request(c, *op))
            assert isinstance(entry, Entry)
            posted.append(entry.id)
        await _invariants(acme)
