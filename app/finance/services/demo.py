"""The finance part of the demo tenant (tenants/demo.py ``DEMO_SEEDERS``): a year of believable
books, so every statement shows real figures.

Over the year up to today (thirteen calendar months): the opening balance sheet on the first day,
cost centres and a shared-cost split rule, monthly payroll (accrued at month end, paid on the
10th), rent split across departments, depreciation; every confirmed CRM sales order invoiced on
its order date, most invoices paid around their due date (some partly, some not yet — so ageing
shows every bucket), a credit note; suppliers with monthly bills for goods, freight and services
(input VAT, cost centres, the shared split) and their payments; cost of sales each month.
Everything goes through the same services as the pages (invoices, payments, bills through
receivables and payables, the rest through the posting door), so the ledger's invariants hold for
the demo as for anything else; months before last month are closed. Idempotent: a tenant whose
books already hold the demo's opening entry is left alone.
"""

from __future__ import annotations

import calendar
import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm import interface as crm
from app.finance.models import CostCentre, Entry, Invoice, InvoiceLine, SplitRule, SplitRuleShare
from app.finance.services.bills import BillInput, BillLineInput, enter_bill
from app.finance.services.credit_notes import issue_credit_note
from app.finance.services.payments_in import receive_payment
from app.finance.services.periods import find_period, set_period_status
from app.finance.services.posting import PostingLine, PostingRequest, post
from app.finance.services.receivables import invoice_order
from app.finance.services.rules import account_code
from app.finance.services.setup import ensure_finance
from app.finance.services.splits import split
from app.finance.services.supplier_payments import AllocationInput, SupplierPaymentInput, pay_supplier
from app.finance.services.suppliers import create_supplier
from app.kernel import context

OPENING = "demo.opening"
DAYS = 365  # the CRM demo's orders reach 360 days back

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
    """Every (year, month) from a year ago — as far back as the CRM demo's orders go — up to and
    including today's month, oldest first."""
    start = today - timedelta(days=DAYS)
    y, m = start.year, start.month
    out = []
    while (y, m) <= (today.year, today.month):
        out.append((y, m))
        y, m = (y, m + 1) if m < 12 else (y + 1, 1)
    return out


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

    await _receivables(session, today, role["bank"])
    await _payables(session, months, today)
    await _cost_of_sales(session, months, today, role["inventory"])
    await _close_old_periods(session, months)


async def _receivables(session: AsyncSession, today: date, bank: str) -> None:
    """Invoice every confirmed order on its order date; collect most of them."""
    rnd = random.Random(4711)  # noqa: S311 — a repeatable demo, not a secret
    orders = sorted(
        await crm.orders_to_invoice(session, limit=100_000), key=lambda o: (o["order_date"], o["id"])
    )
    invoices = [
        await invoice_order(session, None, o["id"], on=o["order_date"])
        for o in orders
        if o["order_date"] <= today
    ]
    for k, invoice in enumerate(invoices):
        if invoice.total <= 0:
            continue
        age = (today - invoice.due_date).days
        luck = rnd.random()
        if k % 17 == 5 and invoice.issue_date + timedelta(days=10) <= today:  # goods returned
            first = (
                await session.execute(
                    select(InvoiceLine.net_amount).where(
                        InvoiceLine.invoice_id == invoice.id, InvoiceLine.line_no == 1
                    )
                )
            ).scalar_one()
            await issue_credit_note(
                session,
                None,
                invoice.id,
                lines=[{"line_no": 1, "amount": str((first / 5).quantize(Decimal("0.01")))}],
                on=invoice.issue_date + timedelta(days=10),
                memo="退货 Goods returned",
            )
        if age < -20 or luck < 0.12:
            continue  # not yet due, or still open: the ageing buckets
        open_amount = invoice.total - invoice.paid - invoice.credited
        amount = open_amount if luck > 0.25 else (open_amount / 2).quantize(Decimal("0.01"))
        if amount <= 0:
            continue
        paid_on = min(today, invoice.due_date + timedelta(days=rnd.randint(-12, 15)))
        paid_on = max(paid_on, invoice.issue_date)
        await receive_payment(
            session,
            None,
            {
                "account_id": invoice.account_id,
                "payment_date": paid_on,
                "amount": str(amount),
                "method": "bank_transfer",
                "reference": f"招行 {rnd.randint(100000, 999999)}",
                "allocations": [{"invoice_id": invoice.id, "amount": str(amount)}],
            },
        )


SUPPLIERS = (
    ("SUP-STEEL", "宝钢金属贸易(上海)有限公司", "goods", 45),
    ("SUP-PARTS", "苏州精密零部件有限公司", "goods", 30),
    ("SUP-LOGI", "顺丰速运 SF Express", "freight", 30),
    ("SUP-IT", "阿里云计算有限公司", "services", 15),
    ("SUP-CLEAN", "上海洁净物业服务有限公司", "services", 30),
)


async def _payables(session: AsyncSession, months: list[tuple[int, int]], today: date) -> None:
    rnd = random.Random(815)  # noqa: S311 — a repeatable demo, not a secret
    template = await ensure_finance(session)
    a = ACCOUNTS[template]
    rates = {"goods": "VAT13", "freight": "VAT9", "services": "VAT6"}
    suppliers = {}
    for code, name, kind, terms in SUPPLIERS:
        supplier = await create_supplier(
            session, None, {"code": code, "name": name, "payment_terms_days": terms}
        )
        suppliers[code] = (supplier, kind)
    inventory = await account_code(session, "inventory")
    selling = await account_code(session, "selling_expense")
    for y, m in months:
        for code, (supplier, kind) in suppliers.items():
            on = date(y, m, rnd.randint(3, 25))
            if on > today:
                continue
            if kind == "goods":
                line = BillLineInput(
                    "原材料及零部件 Materials and parts", _amount(rnd, 60000, 240000), inventory
                )
            elif kind == "freight":
                line = BillLineInput("运费 Freight", _amount(rnd, 8000, 26000), selling, cost_centre="SALES")
            else:
                line = BillLineInput(
                    "服务费 Services", _amount(rnd, 5000, 30000), a["office"], split_rule="SHARED"
                )
            line.tax_rate = rates[kind]
            bill = await enter_bill(
                session,
                None,
                BillInput(
                    supplier_id=supplier.id,
                    supplier_reference=f"{code[4:]}-{y}{m:02d}-{rnd.randint(1000, 9999)}",
                    bill_date=on,
                    lines=[line],
                ),
            )
            due = bill.due_date
            if due <= today - timedelta(days=3) and rnd.random() > 0.08:
                await pay_supplier(
                    session,
                    None,
                    SupplierPaymentInput(
                        supplier_id=supplier.id,
                        payment_date=min(today, due + timedelta(days=rnd.randint(-5, 3))),
                        amount=bill.total,
                        reference=f"网银 {rnd.randint(100000, 999999)}",
                        allocations=[AllocationInput(bill.id, bill.total)],
                    ),
                )


def _amount(rnd: random.Random, low: int, high: int) -> str:
    return f"{rnd.randint(low, high)}.{rnd.randint(0, 99):02d}"


async def _cost_of_sales(
    session: AsyncSession, months: list[tuple[int, int]], today: date, inventory: str
) -> None:
    """What was sold left the warehouse: 62 % of each month's invoiced revenue at cost."""
    cost = await account_code(session, "cost_of_sales")
    revenue = await crm_free_revenue_by_month(session)
    for y, m in months:
        end = min(_month_end(y, m), today)
        amount = (revenue.get((y, m), Decimal("0")) * Decimal("0.62")).quantize(Decimal("0.01"))
        if amount > 0:
            await post(
                session,
                None,
                PostingRequest(
                    date=end,
                    memo=f"结转销售成本 Cost of sales {y}-{m:02d}",
                    source_type="demo",
                    lines=[PostingLine(cost, debit=amount), PostingLine(inventory, credit=amount)],
                ),
            )


async def crm_free_revenue_by_month(session: AsyncSession) -> dict[tuple[int, int], Decimal]:
    """Net invoiced revenue (invoices less credit notes) per month of issue."""
    sign = case((Invoice.kind == "credit_note", -1), else_=1)
    month = func.date_trunc("month", Invoice.issue_date)
    rows = await session.execute(select(month, func.sum(sign * Invoice.subtotal)).group_by(month))
    return {(d.year, d.month): Decimal(v) for d, v in rows.all()}


async def _close_old_periods(session: AsyncSession, months: list[tuple[int, int]]) -> None:
    """Months before last month are closed, as an accountant would have done."""
    for y, m in months[:-2]:
        if await find_period(session, y, m) is not None:
            await set_period_status(session, y, m, "closed")


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
