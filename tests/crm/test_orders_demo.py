"""The sales demo seeder (CRM-4/5): a catalogue, a year of orders, quotes in every status and
contracts with collections — consistent to the cent, and seeded once."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import func, select

from app.crm.models import (
    Account,
    Collection,
    Contract,
    PaymentInstalment,
    PriceList,
    Product,
    Quote,
    QuoteLine,
    SalesOrder,
    SalesOrderLine,
)
from app.crm.services.calendar import tenant_today
from app.crm.services.collections import instalment_status
from app.crm.services.sales_demo import seed_sales_demo
from tenants.service import in_tenant


async def count(session, model) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_the_demo_seeder_builds_consistent_sales_once(world):
    from app.kernel.db import get_database
    from tenants.provisioning import ProvisionRequest, provision_tenant

    slug = f"demo{uuid.uuid4().hex[:8]}"
    await provision_tenant(
        get_database().engine, ProvisionRequest(slug=slug, name="Demo", admin_email=f"a@{slug}.example")
    )
    async with in_tenant(slug) as (s, _):
        await seed_sales_demo(s)  # no accounts yet: nothing to build on
        assert await count(s, Product) == 0
        s.add_all(
            Account(name=f"Customer {i}", kind="company", lifecycle_stage="prospect") for i in range(30)
        )
        await s.flush()
        await seed_sales_demo(s)
        first = {m.__name__: await count(s, m) for m in (Product, PriceList, SalesOrder, Quote, Contract)}
        await seed_sales_demo(s)
        assert {
            m.__name__: await count(s, m) for m in (Product, PriceList, SalesOrder, Quote, Contract)
        } == first
        assert (first["Product"], first["PriceList"]) == (15, 2)
        assert first["SalesOrder"] >= 30
        assert first["Contract"] == 10

        for model, line, fk in (
            (SalesOrder, SalesOrderLine, SalesOrderLine.order_id),
            (Quote, QuoteLine, QuoteLine.quote_id),
        ):
            sums = select(
                fk, func.sum(line.net_amount), func.sum(line.tax_amount), func.sum(line.total_amount)
            )
            by_doc = {i: (n, t, g) for i, n, t, g in (await s.execute(sums.group_by(fk))).all()}
            for doc in (await s.execute(select(model))).scalars():
                assert by_doc[doc.id] == (doc.subtotal, doc.tax_total, doc.total), doc.number
        statuses = set((await s.execute(select(Quote.status))).scalars())
        assert statuses == {"draft", "sent", "accepted", "rejected", "expired", "ordered"}
        order_statuses = set((await s.execute(select(SalesOrder.status))).scalars())
        assert {"draft", "confirmed", "fulfilled"} <= order_statuses  # finance's demo invoices them

        today = tenant_today()
        seen = set()
        for contract in (await s.execute(select(Contract))).scalars():
            rows = list(
                (
                    await s.execute(
                        select(PaymentInstalment).where(PaymentInstalment.contract_id == contract.id)
                    )
                ).scalars()
            )
            assert sum((i.amount for i in rows), Decimal("0")) == contract.value
            for i in rows:
                got = await s.scalar(
                    select(func.coalesce(func.sum(Collection.amount), 0)).where(
                        Collection.instalment_id == i.id
                    )
                )
                assert Decimal(got) == i.collected <= i.amount
                seen.add(instalment_status(i, today))
        assert {"paid", "overdue", "pending"} <= seen
        customers = await s.scalar(
            select(func.count()).select_from(Account).where(Account.lifecycle_stage == "customer")
        )
        assert customers > 0
