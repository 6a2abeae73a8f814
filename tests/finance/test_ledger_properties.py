"""Property test: any sequence of balanced postings and reversals keeps every invariant — debits
equal credits, the trial balance equals the general ledger, period balances equal the lines."""

from __future__ import annotations

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
    st.one_of(balanced_posting(), st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=20))),
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


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=operations)
async def test_random_postings_and_reversals_keep_the_books_right(acme, ops):
    c = await codes(acme)
    posted: list[int] = []
    for op in ops:
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
                month, lines = op
                entry = await posting.post(
                    session,
                    principal,
                    PostingRequest(
                        date=date(YEAR, month, 10),
                        lines=[PostingLine(c[role], debit=d, credit=cr) for role, d, cr in lines],
                        source_type="property",
                    ),
                )
            assert isinstance(entry, Entry)
            posted.append(entry.id)
        await _invariants(acme)
