"""The demo tenant's books: a year of believable postings from the CRM demo's orders, payments,
bills, payroll and rent that satisfy every invariant and fill every statement, seeded once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from app.crm.interface import seed_demo as seed_crm_demo
from app.crm.models import SalesOrder
from app.finance.models import Account, Bill, Entry, EntryLine, Invoice, Payment, Period
from app.finance.services import ar_reports, payables_reports, reports, statements
from app.finance.services.demo import OPENING, _months, _today, seed_finance_demo
from tenants.service import in_tenant
from tests.crm.demo_support import demo_tenant


async def test_the_demo_books_a_consistent_year_once(world):
    cast = await demo_tenant()
    async with in_tenant(cast.slug) as (s, _):
        await seed_crm_demo(s)
    async with in_tenant(cast.slug) as (s, _):
        await seed_finance_demo(s)
    async with in_tenant(cast.slug) as (s, _):
        entries = await s.scalar(select(func.count()).select_from(Entry))
        await seed_finance_demo(s)  # idempotent
        assert await s.scalar(select(func.count()).select_from(Entry)) == entries
        # Every invariant of the books holds.
        assert await reports.check_ledger(s) == []
        assert await ar_reports.check_receivables(s) == []
        assert await payables_reports.check_payables(s) == []
        today = _today()
        assert await s.scalar(select(func.max(Entry.entry_date))) <= today
        months = {(d.year, d.month) for d in (await s.execute(select(Entry.entry_date).distinct())).scalars()}
        assert sorted(months) == _months(today)
        assert await s.scalar(select(func.count()).where(Entry.source_type == OPENING)) == 1
        # Every confirmed order is invoiced through the books; customers paid most, not all.
        waiting = await s.scalar(
            select(func.count()).where(SalesOrder.status.in_(("confirmed", "fulfilled")))
        )
        assert waiting == 0
        kinds = dict((await s.execute(select(Invoice.kind, func.count()).group_by(Invoice.kind))).all())
        assert kinds["invoice"] >= 30
        assert kinds["credit_note"] >= 1
        assert await s.scalar(select(func.count()).where(Payment.direction == "in")) >= kinds["invoice"] // 2
        assert await s.scalar(select(func.count()).select_from(Bill)) >= 40
        ageing = await ar_reports.ageing(s, today)
        buckets = {k for row in ageing.rows for k, v in row.buckets.items() if v > 0}
        assert len(buckets) >= 3  # not yet due and overdue ones
        # Old months are closed, the last two open.
        statuses = dict(((p.year, p.month), p.status) for p in (await s.execute(select(Period))).scalars())
        assert statuses[(today.year, today.month)] == "open"
        assert sorted(statuses.items())[0][1] == "closed"
        # The statements show real figures.
        start = date(*sorted(months)[0], 1)
        pnl = await statements.profit_and_loss(s, start, today)
        assert pnl.figure("revenue").values[0] > Decimal("100000")
        assert pnl.figure("net_profit").values[0] != 0
        sheet = await statements.balance_sheet(s, today)
        assert sheet.balanced
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
