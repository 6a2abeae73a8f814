"""The demo tenant's books: a year of postings that satisfy every ledger invariant, seeded once."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from app.finance.models import Account, Entry, EntryLine
from app.finance.services import reports
from app.finance.services.demo import MONTHS, OPENING, _today, seed_finance_demo
from tenants.service import in_tenant
from tests.crm.demo_support import demo_tenant


async def test_the_demo_books_a_consistent_year_once(world):
    cast = await demo_tenant()
    async with in_tenant(cast.slug) as (s, _):
        await seed_finance_demo(s)
        entries = await s.scalar(select(func.count()).select_from(Entry))
        await seed_finance_demo(s)  # idempotent
        assert await s.scalar(select(func.count()).select_from(Entry)) == entries
        assert await reports.check_ledger(s) == []
        months = {(d.year, d.month) for d in (await s.execute(select(Entry.entry_date).distinct())).scalars()}
        assert len(months) == MONTHS
        assert await s.scalar(select(func.count()).where(Entry.source_type == OPENING)) == 1
        today = _today()
        assert await s.scalar(select(func.max(Entry.entry_date))) <= today
        tb = await reports.trial_balance(s, today.year, today.month)
        assert tb.balanced
        # Rent is split 33.33 / 33.33 / 33.34 % across departments; the residual cent goes last.
        rent = (
            await s.execute(
                select(EntryLine.cost_centre, EntryLine.debit)
                .join(Entry, Entry.id == EntryLine.entry_id)
                .join(Account, Account.id == EntryLine.account_id)
                .where(Entry.memo.like("房租%"), EntryLine.debit > 0)
                .order_by(Entry.entry_date, EntryLine.line_no)
                .limit(3)
            )
        ).all()
        assert [tuple(r) for r in rent] == [
            ("ADMIN", Decimal("28663.80")),
            ("SALES", Decimal("28663.80")),
            ("PROD", Decimal("28672.40")),
        ]
