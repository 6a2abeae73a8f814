"""Books with known figures for the statement tests: a tenant of its own (nothing else posts
there), a year of postings made through the posting door, and the figures worked out by hand.

IFRS tenant (English), all amounts in the base currency:

| date       | entry                                                  | source          |
|------------|--------------------------------------------------------|-----------------|
| 2025-03-15 | bank 1010 Dr 500 / revenue 4000 Cr 500                 | manual          |
| 2026-01-05 | finished goods 1230 Dr 1000 / payables 2000 Cr 1000    | finance.bill    |
| 2026-01-10 | receivables 1100 Dr 1130 / revenue 1000 / VAT 2210 130 | finance.invoice |
| 2026-01-20 | cost of sales 5000 Dr 600 / finished goods Cr 600      | manual          |
| 2026-02-05 | bank Dr 1130 / receivables Cr 1130 (payment in)        | finance.payment |
| 2026-02-15 | administrative 6200 Dr 300 / bank Cr 300               | manual          |
| 2026-02-28 | finance costs 7000 Dr 50 / bank Cr 50                  | manual          |
| 2026-03-10 | receivables Dr 2260 / revenue 2000 / VAT 260           | finance.invoice |
| 2026-03-20 | cash 1000 Dr 100 / bank Cr 100 (a transfer)            | manual          |
| 2026-03-25 | income tax 8000 Dr 200 / income tax payable 2220 Cr 200| manual          |

Profit and loss, 1 Jan – 31 Mar 2026: revenue 3000, cost of sales 600, gross profit 2400,
operating expenses 300, operating profit 2100, finance costs 50, profit before tax 2050, tax 200,
net profit 1850. Same period of 2025: revenue 500, net profit 500.

Balance sheet at 31 Mar 2026: receivables 2260, finished goods 400, bank 1180, cash 100 — total
3940; payables 1000, VAT 390, income tax 200 — liabilities 1590; the year's result 1850 and
2025's result 500 (never closed) — equity 2350; 1590 + 2350 = 3940.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.finance.models import Account, Payment
from app.finance.services.posting import PostingLine, PostingRequest, post
from tenants.service import in_tenant
from tests.crm.factories.customers import make_account
from tests.world import TenantWorld


def D(value: str) -> Decimal:
    return Decimal(value)


@dataclass(frozen=True)
class Books:
    tenant: TenantWorld
    accounts: dict[str, int]  # code → id
    customer_id: int
    payment_id: int


def _entry(on: date, lines: list[tuple[str, str, str]], source: str = "manual", source_id: int | None = None):
    return PostingRequest(
        date=on,
        memo=f"{source} {on}",
        source_type=source,
        source_id=source_id,
        lines=[PostingLine(code, debit=D(dr or "0"), credit=D(cr or "0")) for code, dr, cr in lines],
    )


async def ifrs_books(tenant: TenantWorld) -> Books:
    from sqlalchemy import select

    async with in_tenant(tenant.slug) as (session, ref):
        customer = await make_account(session, ref, "books")
        await post(session, None, _entry(date(2025, 3, 15), [("1010", "500", ""), ("4000", "", "500")]))
        await post(
            session,
            None,
            _entry(date(2026, 1, 5), [("1230", "1000", ""), ("2000", "", "1000")], "finance.bill", 7),
        )
        sale = [("1100", "1130", ""), ("4000", "", "1000"), ("2210", "", "130")]
        await post(session, None, _entry(date(2026, 1, 10), sale, "finance.invoice", 11))
        await post(session, None, _entry(date(2026, 1, 20), [("5000", "600", ""), ("1230", "", "600")]))
        accounts = dict((await session.execute(select(Account.code, Account.id))).all())
        payment = Payment(
            direction="in",
            number="RCV-2026-0001",
            account_id=customer,
            payment_date=date(2026, 2, 5),
            amount=D("1130.00"),
            currency="CNY",
            bank_account_id=accounts["1010"],
        )
        session.add(payment)
        await session.flush()
        receipt = PostingRequest(
            date=date(2026, 2, 5),
            journal="receipts",
            memo=payment.number,
            source_type="finance.payment",
            source_id=payment.id,
            lines=[
                PostingLine("1010", debit=D("1130"), partner_id=customer, memo="receipt"),
                PostingLine("1100", credit=D("1130"), partner_id=customer),
            ],
        )
        await post(session, None, receipt)
        await post(session, None, _entry(date(2026, 2, 15), [("6200", "300", ""), ("1010", "", "300")]))
        await post(session, None, _entry(date(2026, 2, 28), [("7000", "50", ""), ("1010", "", "50")]))
        sale = [("1100", "2260", ""), ("4000", "", "2000"), ("2210", "", "260")]
        await post(session, None, _entry(date(2026, 3, 10), sale, "finance.invoice", 12))
        await post(session, None, _entry(date(2026, 3, 20), [("1000", "100", ""), ("1010", "", "100")]))
        await post(session, None, _entry(date(2026, 3, 25), [("8000", "200", ""), ("2220", "", "200")]))
        return Books(tenant, accounts, customer, payment.id)


async def cas_books(tenant: TenantWorld) -> Books:
    """A 企业会计准则 tenant's first quarter of 2026 (zh_Hans: the chart is CAS).

    Profit and loss: 营业收入 1000, 营业成本 600, 毛利 400, 税金及附加 15, 销售费用 80, 管理费用 300
    (660202), 财务费用 20, 营业利润 −15, 所得税费用 100, 净利润 −115. Balance sheet at 31 March:
    1001 120, 1002 610, 1405 400 = 1130; 2202 1000, 2221 应交税费 245 (222101 130, 222103 15,
    222104 100) = 1245; the year's loss −115; 1245 − 115 = 1130.
    """
    from sqlalchemy import select

    async with in_tenant(tenant.slug) as (session, ref):
        customer = await make_account(session, ref, "cas")
        entries = [
            (date(2026, 1, 5), [("1405", "1000", ""), ("2202", "", "1000")], "finance.bill"),
            (
                date(2026, 1, 10),
                [("1122", "1130", ""), ("6001", "", "1000"), ("222101", "", "130")],
                "finance.invoice",
            ),
            (date(2026, 1, 20), [("6401", "600", ""), ("1405", "", "600")], "manual"),
            (date(2026, 2, 1), [("1001", "200", ""), ("1002", "", "200")], "manual"),
            (date(2026, 2, 5), [("1002", "1130", ""), ("1122", "", "1130")], "manual"),
            (date(2026, 2, 15), [("660202", "300", ""), ("1002", "", "300")], "manual"),
            (date(2026, 2, 20), [("6601", "80", ""), ("1001", "", "80")], "manual"),
            (date(2026, 3, 5), [("6603", "20", ""), ("1002", "", "20")], "manual"),
            (date(2026, 3, 10), [("6403", "15", ""), ("222103", "", "15")], "manual"),
            (date(2026, 3, 25), [("6801", "100", ""), ("222104", "", "100")], "manual"),
        ]
        for n, (on, lines, source) in enumerate(entries, start=1):
            await post(session, None, _entry(on, lines, source, n if source != "manual" else None))
        accounts = dict((await session.execute(select(Account.code, Account.id))).all())
        return Books(tenant, accounts, customer, 0)
