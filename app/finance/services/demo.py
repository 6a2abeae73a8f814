"""The finance part of the demo tenant (tenants/demo.py ``DEMO_SEEDERS``): a year of believable
books, so every statement shows real figures.

Over the twelve months up to today: the opening balance sheet on the first day, cost centres and a
shared-cost split rule, monthly payroll (accrued at month end, paid on the 10th), rent split
across departments, depreciation. Everything posts through the posting door like real documents
do, so the ledger's invariants hold for the demo as for anything else. Idempotent: a tenant whose
books already hold the demo's opening entry is left alone.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.models import CostCentre, Entry, SplitRule, SplitRuleShare
from app.finance.services.posting import PostingLine, PostingRequest, post
from app.finance.services.rules import account_code
from app.finance.services.setup import ensure_finance
from app.finance.services.splits import split
from app.kernel import context

OPENING = "demo.opening"
MONTHS = 12

# Accounts the demo needs beyond the posting rules' roles, per chart.
ACCOUNTS = {
    "cas": {
        "salaries_payable": "2211",
        "salaries_admin": "660201",
        "salaries_selling": "6601",
        "office": "660202",
        "depreciation": "660203",
        "accumulated_depreciation": "1602",
        "fixed_assets": "1601",
        "share_capital": "4001",
    },
    "ifrs": {
        "salaries_payable": "2100",
        "salaries_admin": "6300",
        "salaries_selling": "6100",
        "office": "6200",
        "depreciation": "6400",
        "accumulated_depreciation": "1510",
        "fixed_assets": "1500",
        "share_capital": "3000",
    },
}
COST_CENTRES = (
    ("SALES", "销售部 Sales"),
    ("PROD", "生产部 Production"),
    ("ADMIN", "行政部 Administration"),
    ("RND", "研发部 R&D"),
)
SHARED = (("ADMIN", Decimal("33.33")), ("SALES", Decimal("33.33")), ("PROD", Decimal("33.34")))


def _today() -> date:
    tenant = context.current_tenant()
    return datetime.now(ZoneInfo(tenant.timezone if tenant else "UTC")).date()


def _months(today: date) -> list[tuple[int, int]]:
    """The twelve (year, month) up to and including today's month, oldest first."""
    y, m = today.year, today.month
    out = []
    for _ in range(MONTHS):
        out.append((y, m))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


def _month_end(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


async def seed_finance_demo(session: AsyncSession) -> None:
    template = await ensure_finance(session)
    done = (await session.execute(select(Entry.id).where(Entry.source_type == OPENING).limit(1))).first()
    if done is not None:
        return
    a = ACCOUNTS[template]
    role = {r: await account_code(session, r) for r in ("bank", "cash", "inventory", "retained_earnings")}
    await _cost_centres(session)
    today = _today()
    months = _months(today)
    first = date(*months[0], 1)

    async def book(
        on: date, memo: str, lines: list[PostingLine], journal: str = "general", source: str = ""
    ) -> None:
        if on <= today:
            await post(
                session,
                None,
                PostingRequest(
                    date=on, lines=lines, journal=journal, memo=memo, source_type=source or "demo"
                ),
            )

    await book(
        first,
        "期初余额 Opening balances",
        [
            PostingLine(role["bank"], debit=Decimal("6800000.00")),
            PostingLine(role["cash"], debit=Decimal("50000.00")),
            PostingLine(role["inventory"], debit=Decimal("1450000.00")),
            PostingLine(a["fixed_assets"], debit=Decimal("3600000.00")),
            PostingLine(a["accumulated_depreciation"], credit=Decimal("720000.00")),
            PostingLine(a["share_capital"], credit=Decimal("10000000.00")),
            PostingLine(role["retained_earnings"], credit=Decimal("1180000.00")),
        ],
        source=OPENING,
    )
    rent = Decimal("86000.00")
    owed = Decimal("0.00")
    for i, (y, m) in enumerate(months):
        end = _month_end(y, m)
        # Rent on the 1st, shared by the departments by the split rule (residual on the last).
        await book(
            date(y, m, 1),
            f"房租 Rent {y}-{m:02d}",
            [
                *(PostingLine(a["office"], debit=part, cost_centre=cc) for cc, part in split(rent, SHARED)),
                PostingLine(role["bank"], credit=rent),
            ],
            journal="payments",
        )
        if owed:  # last month's payroll is paid on the 10th
            await book(
                date(y, m, 10),
                f"发放工资 Payroll paid {months[i - 1][0]}-{months[i - 1][1]:02d}",
                [PostingLine(a["salaries_payable"], debit=owed), PostingLine(role["bank"], credit=owed)],
                journal="payments",
            )
        selling = Decimal("182000.00") + 1500 * i
        admin = Decimal("96000.00") + 800 * i
        await book(
            end,
            f"计提工资 Payroll accrual {y}-{m:02d}",
            [
                PostingLine(a["salaries_selling"], debit=selling, cost_centre="SALES"),
                PostingLine(a["salaries_admin"], debit=admin, cost_centre="ADMIN"),
                PostingLine(a["salaries_payable"], credit=selling + admin),
            ],
        )
        owed = selling + admin
        await book(
            end,
            f"计提折旧 Depreciation {y}-{m:02d}",
            [
                PostingLine(a["depreciation"], debit=Decimal("30000.00"), cost_centre="ADMIN"),
                PostingLine(a["accumulated_depreciation"], credit=Decimal("30000.00")),
            ],
        )


async def _cost_centres(session: AsyncSession) -> None:
    existing = set((await session.execute(select(CostCentre.code))).scalars())
    session.add_all(CostCentre(code=c, name=n, active=True) for c, n in COST_CENTRES if c not in existing)
    await session.flush()
    if (await session.execute(select(SplitRule.id).where(SplitRule.code == "SHARED"))).first():
        return
    rule = SplitRule(code="SHARED", name="共享费用 Shared costs", active=True)
    session.add(rule)
    await session.flush()
    ids = dict((await session.execute(select(CostCentre.code, CostCentre.id))).all())
    session.add_all(
        SplitRuleShare(rule_id=rule.id, cost_centre_id=ids[cc], percent=pct, position=i)
        for i, (cc, pct) in enumerate(SHARED)
    )
    await session.flush()
