"""Demo data for quotes, sales orders and contracts (the ``acme`` demo tenant, CRM-4/5).

    await seed_sales_demo(session)     # idempotent: does nothing once a product exists

Built on the accounts the customers seeder created (nothing happens with fewer than 20): a
product catalogue (printers, scanners, supplies, services, software) with a dealer price list
and an export list in USD; a year of sales orders per account — delivered ones (finance invoices them) in
the past, confirmed and draft ones now, a few cancelled — priced with the one rounding rule;
quotes in every status; and maintenance contracts with quarterly schedules, collections and an
overdue instalment or two. Rows are written directly with their past dates, so no events are
published (finance and production are not asked to react to history). Deterministic.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import (
    Account,
    Collection,
    Contract,
    PaymentInstalment,
    PriceList,
    PriceListItem,
    Product,
    Quote,
    QuoteLine,
    SalesOrder,
    SalesOrderLine,
)
from app.crm.services.calendar import tenant_today
from app.crm.services.contracts import add_months, equal_instalments
from app.crm.services.lines import amount_columns, apply_totals
from app.crm.services.numbering import next_number
from app.crm.services.pricing import price_line

# (sku, name, category, unit, list price, VAT %)
PRODUCTS = [
    ("PRN-A2", "A2 大幅面打印机 Wide-format printer", "Printers", "pcs", "4999.00", "13"),
    ("PRN-A4L", "A4 激光打印机 Laser printer", "Printers", "pcs", "1899.00", "13"),
    ("PRN-A3C", "A3 彩色多功能一体机 Colour MFP", "Printers", "pcs", "8600.00", "13"),
    ("SCN-D60", "高速文档扫描仪 Document scanner", "Scanners", "pcs", "3250.00", "13"),
    ("SCN-BK2", "书刊扫描仪 Book scanner", "Scanners", "pcs", "12800.00", "13"),
    ("TON-K", "黑色碳粉盒 Black toner", "Supplies", "box", "88.50", "13"),
    ("TON-CMY", "彩色碳粉套装 Colour toner set", "Supplies", "set", "420.00", "13"),
    ("PAP-A4", "A4 复印纸 Copy paper (5 reams)", "Supplies", "box", "135.00", "13"),
    ("DRM-01", "感光鼓 Imaging drum", "Supplies", "pcs", "260.00", "13"),
    ("SVC-INST", "上门安装调试 On-site installation", "Services", "h", "350.00", "6"),
    ("SVC-TRN", "操作培训 Operator training", "Services", "day", "2800.00", "6"),
    ("SVC-MNT", "年度维保 Annual maintenance", "Services", "year", "6000.00", "6"),
    ("LIC-FLEET", "打印管理软件 Fleet software licence", "Software", "licence", "980.00", "6"),
    ("LIC-OCR", "OCR 识别软件 OCR licence", "Software", "licence", "1500.00", "6"),
]
DEALER_BREAKS = {
    "PRN-A2": [("1", "4750.00"), ("10", "4450.00"), ("50", "4200.00")],
    "PRN-A4L": [("1", "1799.00"), ("20", "1650.00")],
    "TON-K": [("20", "79.90"), ("100", "72.00")],
    "PAP-A4": [("50", "118.00")],
    "LIC-FLEET": [("25", "860.00")],
}
USD_PRICES = {"PRN-A2": "719.00", "PRN-A3C": "1240.00", "SCN-BK2": "1850.00", "TON-K": "12.90"}
BASKETS = [  # what customers order together: (sku, quantity range)
    [("PRN-A2", (1, 6)), ("SVC-INST", (2, 8)), ("TON-K", (10, 40))],
    [("PRN-A4L", (2, 30)), ("PAP-A4", (10, 80)), ("TON-K", (10, 60))],
    [("PRN-A3C", (1, 4)), ("TON-CMY", (2, 10)), ("SVC-TRN", (1, 2))],
    [("SCN-D60", (1, 8)), ("LIC-OCR", (1, 8))],
    [("SCN-BK2", (1, 2)), ("SVC-INST", (4, 12))],
    [("TON-K", (20, 120)), ("DRM-01", (2, 12)), ("PAP-A4", (20, 100))],
    [("LIC-FLEET", (10, 60)), ("SVC-TRN", (1, 3))],
]
ZERO = Decimal("0")
TERMS = "年度上门维保 4 次，远程支持 5×8 小时。\nFour on-site visits a year; remote support in office hours."


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=UTC)


async def seed_sales_demo(session: AsyncSession) -> None:
    if await session.scalar(select(func.count()).select_from(Product)):
        return
    accounts = list(
        (await session.execute(select(Account).where(Account.merged_into_id.is_(None)).order_by(Account.id)))
        .scalars()
        .all()
    )
    if len(accounts) < 20:
        return
    rnd = random.Random(2026)  # noqa: S311 — made-up demo figures, not secrets
    catalogue, dealer = await _catalogue(session)
    today = tenant_today()
    orders = await _orders(session, rnd, accounts[:150], catalogue, dealer, today)
    await _quotes(session, rnd, accounts[:60], catalogue, dealer, today, orders)
    await _contracts(session, rnd, orders, today)
    await session.flush()


async def _catalogue(session: AsyncSession) -> tuple[dict[str, Product], PriceList]:
    catalogue = {}
    for sku, name, category, unit, price, vat in PRODUCTS:
        product = Product(
            sku=sku,
            name=name,
            category=category,
            unit=unit,
            list_price=Decimal(price),
            currency="CNY",
            tax_rate=Decimal(vat),
            active=True,
        )
        session.add(product)
        catalogue[sku] = product
    session.add(
        Product(
            sku="SCN-OLD",
            name="旧款扫描仪 Retired scanner",
            category="Scanners",
            unit="pcs",
            list_price=Decimal("2100.00"),
            currency="CNY",
            tax_rate=Decimal("13"),
            active=False,
        )
    )
    dealer = PriceList(name="经销商价 Dealer prices", currency="CNY", is_default=True, active=True)
    export = PriceList(name="Export USD", currency="USD", is_default=True, active=True)
    session.add_all([dealer, export])
    await session.flush()
    for sku, breaks in DEALER_BREAKS.items():
        for qty, price in breaks:
            session.add(
                PriceListItem(
                    price_list_id=dealer.id,
                    product_id=catalogue[sku].id,
                    min_quantity=Decimal(qty),
                    unit_price=Decimal(price),
                )
            )
    for sku, price in USD_PRICES.items():
        session.add(
            PriceListItem(
                price_list_id=export.id,
                product_id=catalogue[sku].id,
                min_quantity=Decimal("1"),
                unit_price=Decimal(price),
            )
        )
    return catalogue, dealer


def _price(product: Product, qty: Decimal, dealer_prices: dict[str, list[tuple[str, str]]]) -> Decimal:
    best = [Decimal(p) for q, p in dealer_prices.get(product.sku, []) if Decimal(q) <= qty]
    return best[-1] if best else Decimal(product.list_price)


def _lines(rnd: random.Random, catalogue: dict[str, Product]) -> list[dict[str, Any]]:
    out = []
    for position, (sku, (low, high)) in enumerate(rnd.choice(BASKETS), start=1):
        product = catalogue[sku]
        qty = Decimal(rnd.randint(low, high))
        discount = Decimal(rnd.choice(["0", "0", "0", "5", "8", "10"]))
        price = _price(product, qty, DEALER_BREAKS)
        amounts = price_line(qty, price, discount, Decimal(product.tax_rate))
        out.append(
            {
                "position": position,
                "product_id": product.id,
                "description": product.name,
                "quantity": qty,
                "unit": product.unit,
                "unit_price": price,
                "discount_percent": discount,
                "tax_rate": product.tax_rate,
                **amount_columns(amounts),
            }
        )
    return out


async def _orders(
    session: AsyncSession,
    rnd: random.Random,
    accounts: list[Account],
    catalogue: dict[str, Product],
    dealer: PriceList,
    today: date,
) -> list[SalesOrder]:
    """0–5 orders per account over the last year; the status follows the age of the order."""
    made: list[SalesOrder] = []
    for account in accounts:
        for _ in range(rnd.choice([0, 1, 1, 2, 2, 3, 4, 5])):
            # A churned customer stopped ordering more than half a year ago.
            day = today - timedelta(days=rnd.randint(200 if account.lifecycle_stage == "churned" else 0, 360))
            age = (today - day).days
            # Invoicing is finance's (its demo invoices the confirmed orders through the books).
            status = "fulfilled" if age > 20 else "confirmed" if age > 3 else "draft"
            if rnd.random() < 0.05:
                status = "cancelled"
            order = SalesOrder(
                number=await next_number(session, "sales_order", day.year),
                account_id=account.id,
                status=status,
                currency="CNY",
                order_date=day,
                price_list_id=dealer.id,
                requested_delivery_date=day + timedelta(days=rnd.choice([7, 14, 21, 30])),
                customer_reference=f"PO-{day:%y%m}-{rnd.randint(100, 9999)}" if rnd.random() < 0.7 else None,
                shipping_address=account.address,
                owner_id=account.owner_id,
                team_id=account.team_id,
                created_at=_at(day, 9),
                updated_at=_at(day, 9),
            )
            if status != "draft":
                order.confirmed_at = _at(day, 11)
            if status in ("fulfilled", "invoiced"):
                order.fulfilled_at = _at(day + timedelta(days=rnd.randint(5, 18)), 15)
            if age > 45 and status != "cancelled":
                rnd.randint(19, 40)  # (was the invoice's delay: keeps the demo's figures as they were)
            if status == "cancelled":
                order.cancelled_at = _at(day + timedelta(days=2), 12)
                order.cancel_reason = rnd.choice(
                    ["客户预算取消 Budget cut", "Ordered twice by mistake", "交期不满足"]
                )
            session.add(order)
            await session.flush()
            rows = [SalesOrderLine(order_id=order.id, **v) for v in _lines(rnd, catalogue)]
            session.add_all(rows)
            apply_totals(order, rows)
            last_step = order.cancelled_at or order.fulfilled_at or order.confirmed_at
            order.updated_at = last_step or order.created_at
            made.append(order)
            if status != "draft" and status != "cancelled" and account.lifecycle_stage == "prospect":
                account.lifecycle_stage = "customer"
                account.updated_at = max(account.created_at, _at(day, 11))  # when it became one
    return made


async def _quotes(
    session: AsyncSession,
    rnd: random.Random,
    accounts: list[Account],
    catalogue: dict[str, Product],
    dealer: PriceList,
    today: date,
    orders: list[SalesOrder],
) -> None:
    for i, account in enumerate(accounts):
        day = today - timedelta(days=rnd.randint(0, 90))
        status = ["draft", "sent", "sent", "accepted", "rejected", "expired"][i % 6]
        quote = Quote(
            number=await next_number(session, "quote", day.year),
            account_id=account.id,
            status=status,
            currency="CNY",
            price_list_id=dealer.id,
            valid_until=day + timedelta(days=30),
            notes="报价含运输，安装另计。Prices include delivery; installation is quoted separately.",
            sent_at=_at(day, 14) if status != "draft" else None,
            owner_id=account.owner_id,
            team_id=account.team_id,
            created_at=_at(day, 10),
            updated_at=_at(day, 14),
        )
        if status in ("sent", "draft") and quote.valid_until and quote.valid_until < today:
            quote.valid_until = today + timedelta(days=rnd.randint(5, 25))
        session.add(quote)
        await session.flush()
        rows = [QuoteLine(quote_id=quote.id, **v) for v in _lines(rnd, catalogue)]
        session.add_all(rows)
        apply_totals(quote, rows)
        quote.updated_at = _at(day, 14)  # not the moment the seeder ran
    for order in orders[:25:5]:  # some orders came from a quote
        quote = Quote(
            number=await next_number(session, "quote", order.order_date.year),
            account_id=order.account_id,
            status="ordered",
            currency="CNY",
            price_list_id=dealer.id,
            valid_until=order.order_date + timedelta(days=20),
            owner_id=order.owner_id,
            team_id=order.team_id,
            sent_at=_at(order.order_date - timedelta(days=6)),
            created_at=_at(order.order_date - timedelta(days=8)),
        )
        session.add(quote)
        await session.flush()
        lines = (
            await session.execute(select(SalesOrderLine).where(SalesOrderLine.order_id == order.id))
        ).scalars()
        rows = [QuoteLine(quote_id=quote.id, **{c: getattr(ln, c) for c in _LINE_COLUMNS}) for ln in lines]
        session.add_all(rows)
        apply_totals(quote, rows)
        quote.updated_at = _at(order.order_date, 9)
        await session.execute(  # keeps the order's own last change
            update(SalesOrder)
            .where(SalesOrder.id == order.id)
            .values(quote_id=quote.id, updated_at=SalesOrder.updated_at)
        )


_LINE_COLUMNS = (
    "position",
    "product_id",
    "description",
    "quantity",
    "unit",
    "unit_price",
    "discount_percent",
    "tax_rate",
    "net_amount",
    "discount_amount",
    "tax_amount",
    "total_amount",
)


async def _contracts(
    session: AsyncSession, rnd: random.Random, orders: list[SalesOrder], today: date
) -> None:
    """Maintenance contracts for the largest delivered orders: quarterly instalments, the past
    ones mostly collected, one or two overdue, the next ones due soon."""
    big = sorted(
        (o for o in orders if o.status in ("fulfilled", "invoiced")), key=lambda o: o.total, reverse=True
    )
    for k, order in enumerate(big[:10]):
        start = order.order_date + timedelta(days=14)
        value = (order.total * Decimal("0.12")).quantize(Decimal("1"))
        contract = Contract(
            number=await next_number(session, "contract", start.year),
            account_id=order.account_id,
            sales_order_id=order.id,
            title=f"维保合同 Maintenance {start.year}–{start.year + 1}",
            status="active",
            value=value,
            currency="CNY",
            start_date=start,
            end_date=add_months(start, 12) - timedelta(days=1),
            signed_on=start - timedelta(days=3),
            payment_terms="按季度预付 Quarterly in advance, 15 days net",
            terms=TERMS,
            owner_id=order.owner_id,
            team_id=order.team_id,
            created_at=_at(start - timedelta(days=3)),
        )
        session.add(contract)
        await session.flush()
        for q, amount in enumerate(equal_instalments(value, 4)):
            due = add_months(start, 3 * q)
            paid = amount if due < today - timedelta(days=20) or (due < today and k % 3 != 0) else ZERO
            if due < today and paid and k % 4 == 1:
                paid = (amount / 2).quantize(Decimal("0.01"))  # partly paid
            instalment = PaymentInstalment(
                contract_id=contract.id, due_date=due, amount=amount, collected=paid, description=f"Q{q + 1}"
            )
            session.add(instalment)
            await session.flush()
            if paid:
                session.add(
                    Collection(
                        instalment_id=instalment.id,
                        amount=paid,
                        method="bank_transfer",
                        received_on=min(due + timedelta(days=rnd.randint(0, 12)), today),
                        reference=f"招行 {rnd.randint(1000, 9999)}",
                        user_id=order.owner_id,
                    )
                )
