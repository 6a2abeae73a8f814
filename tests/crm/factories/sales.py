"""Factories for the route-table tests: sales resources (tests/factories.py explains the contract).

The builders here (``product_row``, ``account_row``, ...) write rows directly, without a principal,
so the route tests and the CRM-4/5 tests can set up catalogues and documents in one line.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import (
    Account,
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
from app.crm.services.lines import amount_columns, apply_totals
from app.crm.services.numbering import next_number
from app.crm.services.pricing import price_line
from app.security.models import User
from tests.factories import factory


async def _team_of(session: AsyncSession, owner_id: int | None) -> int | None:
    """Records take their owner's team, as app/crm/services/ownership.py assigns them."""
    if owner_id is None:
        return None
    owner = await session.get(User, owner_id)
    return owner.team_id if owner else None


async def _admin_id(session: AsyncSession) -> int:
    return int((await session.execute(select(User.id).order_by(User.id).limit(1))).scalar_one())


async def account_row(session: AsyncSession, name: str, *, owner_id: int | None = None, **kw: Any) -> Account:
    account = Account(name=name, kind="company", lifecycle_stage=kw.pop("lifecycle_stage", "prospect"), **kw)
    account.owner_id = owner_id
    session.add(account)
    await session.flush()
    return account


async def product_row(
    session: AsyncSession,
    sku: str,
    price: str = "100.00",
    tax: str = "13",
    *,
    currency: str = "CNY",
    name: str | None = None,
    **kw: Any,
) -> Product:
    product = Product(
        sku=sku,
        name=name or f"Product {sku}",
        list_price=Decimal(price),
        currency=currency,
        tax_rate=Decimal(tax),
        unit=kw.pop("unit", "pcs"),
        active=kw.pop("active", True),
        **kw,
    )
    session.add(product)
    await session.flush()
    return product


def _line_values(product: Product, quantity: str, position: int) -> dict[str, Any]:
    amounts = price_line(Decimal(quantity), product.list_price, Decimal("0"), product.tax_rate)
    return {
        "position": position,
        "product_id": product.id,
        "description": product.name,
        "quantity": Decimal(quantity),
        "unit": product.unit,
        "unit_price": product.list_price,
        "discount_percent": Decimal("0"),
        "tax_rate": product.tax_rate,
        **amount_columns(amounts),
    }


async def order_row(
    session: AsyncSession,
    account: Account,
    products: list[tuple[Product, str]],
    *,
    status: str = "draft",
    owner_id: int | None = None,
    team_id: int | None = None,
    notes: str = "",
) -> SalesOrder:
    team_id = team_id if team_id is not None else await _team_of(session, owner_id)
    order = SalesOrder(
        number=await next_number(session, "sales_order", tenant_today().year),
        account_id=account.id,
        currency="CNY",
        order_date=tenant_today(),
        status=status,
        notes=notes,
        owner_id=owner_id,
        team_id=team_id,
    )
    session.add(order)
    await session.flush()
    lines = [
        SalesOrderLine(order_id=order.id, **_line_values(p, q, i)) for i, (p, q) in enumerate(products, 1)
    ]
    session.add_all(lines)
    apply_totals(order, lines)
    await session.flush()
    return order


async def quote_row(
    session: AsyncSession,
    account: Account,
    products: list[tuple[Product, str]],
    *,
    status: str = "draft",
    owner_id: int | None = None,
    notes: str = "",
) -> Quote:
    team_id = await _team_of(session, owner_id)
    quote = Quote(
        number=await next_number(session, "quote", tenant_today().year),
        account_id=account.id,
        currency="CNY",
        status=status,
        valid_until=tenant_today() + timedelta(days=30),
        notes=notes,
        owner_id=owner_id,
        team_id=team_id,
    )
    session.add(quote)
    await session.flush()
    lines = [QuoteLine(quote_id=quote.id, **_line_values(p, q, i)) for i, (p, q) in enumerate(products, 1)]
    session.add_all(lines)
    apply_totals(quote, lines)
    await session.flush()
    return quote


async def contract_row(
    session: AsyncSession,
    account: Account,
    value: str,
    instalments: list[tuple[date, str]],
    *,
    status: str = "active",
    owner_id: int | None = None,
    team_id: int | None = None,
    title: str = "Maintenance",
) -> Contract:
    team_id = team_id if team_id is not None else await _team_of(session, owner_id)
    contract = Contract(
        number=await next_number(session, "contract", tenant_today().year),
        title=title,
        account_id=account.id,
        status=status,
        value=Decimal(value),
        currency="CNY",
        owner_id=owner_id,
        team_id=team_id,
    )
    session.add(contract)
    await session.flush()
    session.add_all(
        PaymentInstalment(contract_id=contract.id, due_date=d, amount=Decimal(a), collected=Decimal("0"))
        for d, a in instalments
    )
    await session.flush()
    return contract


# --- route-table factories -------------------------------------------------------------------


@factory("crm_products")
async def make_product(session: AsyncSession, tenant: Any, marker: str) -> int:
    return (await product_row(session, marker[:60], name=f"Product {marker}")).id


@factory("crm_price_lists")
async def make_price_list(session: AsyncSession, tenant: Any, marker: str) -> int:
    plist = PriceList(name=f"Prices {marker}", currency="CNY", is_default=False, active=True)
    session.add(plist)
    await session.flush()
    return plist.id


@factory("crm_price_list_items")
async def make_price_list_item(session: AsyncSession, tenant: Any, marker: str) -> int:
    plist_id = await make_price_list(session, tenant, marker)
    product = await product_row(session, marker[:60])
    item = PriceListItem(
        price_list_id=plist_id, product_id=product.id, min_quantity=Decimal("1"), unit_price=1
    )
    session.add(item)
    await session.flush()
    return item.id


async def _account(session: AsyncSession, marker: str) -> Account:
    return await account_row(session, f"Account {marker}", owner_id=await _admin_id(session))


@factory("crm_quotes")
async def make_quote(session: AsyncSession, tenant: Any, marker: str) -> int:
    product = await product_row(session, marker[:60])
    quote = await quote_row(
        session,
        await _account(session, marker),
        [(product, "2")],
        owner_id=await _admin_id(session),
        notes=marker,
    )
    return quote.id


@factory("crm_quote_lines")
async def make_quote_line(session: AsyncSession, tenant: Any, marker: str) -> int:
    quote_id = await make_quote(session, tenant, marker)
    return int(
        (await session.execute(select(QuoteLine.id).where(QuoteLine.quote_id == quote_id))).scalar_one()
    )


@factory("crm_sales_orders")
async def make_sales_order(session: AsyncSession, tenant: Any, marker: str) -> int:
    product = await product_row(session, marker[:60])
    order = await order_row(
        session,
        await _account(session, marker),
        [(product, "2")],
        owner_id=await _admin_id(session),
        notes=marker,
    )
    return order.id


@factory("crm_sales_order_lines")
async def make_sales_order_line(session: AsyncSession, tenant: Any, marker: str) -> int:
    order_id = await make_sales_order(session, tenant, marker)
    stmt = select(SalesOrderLine.id).where(SalesOrderLine.order_id == order_id)
    return int((await session.execute(stmt)).scalar_one())


@factory("crm_contracts")
async def make_contract(session: AsyncSession, tenant: Any, marker: str) -> int:
    soon = tenant_today() + timedelta(days=10)
    contract = await contract_row(
        session,
        await _account(session, marker),
        "300.00",
        [(soon, "100.00"), (soon + timedelta(days=30), "200.00")],
        owner_id=await _admin_id(session),
        title=f"Contract {marker}",
    )
    return contract.id


@factory("crm_payment_instalments")
async def make_instalment(session: AsyncSession, tenant: Any, marker: str) -> int:
    contract_id = await make_contract(session, tenant, marker)
    stmt = (
        select(PaymentInstalment.id)
        .where(PaymentInstalment.contract_id == contract_id)
        .order_by(PaymentInstalment.due_date)
    )
    return int((await session.execute(stmt.limit(1))).scalar_one())


async def opportunity_row(
    session: AsyncSession, account: Account, *, owner_id: int | None, currency: str = "CNY"
) -> Any:
    from app.crm.models import Opportunity, PipelineStage

    stage = await session.scalar(
        select(PipelineStage)
        .where(PipelineStage.is_won.is_(False), PipelineStage.is_lost.is_(False))
        .limit(1)
    )
    if stage is None:
        stage = PipelineStage(key=f"qualify-{account.id}", name="Qualify", probability=20, position=1)
        session.add(stage)
        await session.flush()
    opp = Opportunity(
        name=f"Deal with {account.name}",
        account_id=account.id,
        stage_id=stage.id,
        amount=Decimal("1000"),
        currency=currency,
        probability=stage.probability,
        owner_id=owner_id,
    )
    session.add(opp)
    await session.flush()
    return opp
