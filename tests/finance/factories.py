"""Record factories of finance resources for the route-table tests (see tests/factories.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.models import Account
from app.finance.services.charts import STANDARD_ACCOUNTS
from app.finance.services.posting import PostingLine, PostingRequest, post
from app.finance.services.setup import ensure_finance
from tests.factories import factory


@factory("fin_accounts")
async def make_account(session: AsyncSession, tenant: Any, marker: str) -> int:
    await ensure_finance(session)
    account = Account(code=marker[:20], name=f"Account {marker}", type="asset", postable=True, active=True)
    session.add(account)
    await session.flush()
    return account.id


@factory("fin_entries")
async def make_entry(session: AsyncSession, tenant: Any, marker: str) -> int:
    c = STANDARD_ACCOUNTS[await ensure_finance(session)]
    entry = await post(
        session,
        None,
        PostingRequest(
            date=date(2026, 12, 1),
            memo=f"Entry {marker}",
            source_type="test",
            lines=[
                PostingLine(c["bank"], debit=Decimal("10.00")),
                PostingLine(c["revenue"], credit=Decimal("10.00")),
            ],
        ),
    )
    return entry.id


@factory("fin_periods")
async def make_period(session: AsyncSession, tenant: Any, marker: str) -> int:
    """A month far from the ones tests post into (a repeated month returns the same period)."""
    from zlib import crc32

    from app.finance.services.periods import period_for

    n = crc32(marker.encode())
    return (await period_for(session, date(2200 + n % 700, 1 + n // 700 % 12, 1))).id


# --- settings: tax rates, cost centres, split rules (docs/finance-settings.md) -----------------


@factory("fin_tax_rates")
async def make_tax_rate(session: AsyncSession, tenant: Any, marker: str) -> int:
    from app.finance.models import TaxRate

    c = STANDARD_ACCOUNTS[await ensure_finance(session)]
    ids = {a.code: a.id for a in (await session.execute(select(Account))).scalars()}
    rate = TaxRate(
        code=marker[-20:],
        name=f"Rate {marker}",
        rate=Decimal("7.00"),
        output_account_id=ids[c["output_vat"]],
        input_account_id=ids[c["input_vat"]],
        active=True,
    )
    session.add(rate)
    await session.flush()
    return rate.id


@factory("fin_cost_centres")
async def make_cost_centre(session: AsyncSession, tenant: Any, marker: str) -> int:
    from app.finance.models import CostCentre

    centre = CostCentre(code=marker[-40:], name=f"Centre {marker}", active=True)
    session.add(centre)
    await session.flush()
    return centre.id


@factory("fin_split_rules")
async def make_split_rule(session: AsyncSession, tenant: Any, marker: str) -> int:
    from app.finance.models import CostCentre, SplitRule, SplitRuleShare

    centre = CostCentre(code=f"cc-{marker}"[-40:], name=f"Centre {marker}", active=True)
    rule = SplitRule(code=marker[-40:], name=f"Rule {marker}", active=True)
    session.add_all([centre, rule])
    await session.flush()
    session.add(SplitRuleShare(rule_id=rule.id, cost_centre_id=centre.id, percent=Decimal("100"), position=0))
    await session.flush()
    return rule.id


# --- payables (FIN-3) -------------------------------------------------------------------------


async def _supplier(session: AsyncSession, marker: str) -> int:
    from app.finance.services.suppliers import create_supplier

    supplier = await create_supplier(session, None, {"code": marker[:40], "name": f"Supplier {marker}"})
    return supplier.id


@factory("fin_suppliers")
async def make_supplier(session: AsyncSession, tenant: Any, marker: str) -> int:
    return await _supplier(session, marker)


@factory("fin_bills")
async def make_bill(session: AsyncSession, tenant: Any, marker: str) -> int:
    from app.finance.services.bills import BillInput, BillLineInput, enter_bill

    supplier_id = await _supplier(session, marker)
    bill = await enter_bill(
        session,
        None,
        BillInput(supplier_id, marker[:80], date(2026, 12, 1), [BillLineInput(f"Bill {marker}", "10.00")]),
    )
    return bill.id


@factory("fin_supplier_payments")
async def make_supplier_payment(session: AsyncSession, tenant: Any, marker: str) -> int:
    """A payment to a supplier, part of it allocated to a bill, the rest an advance."""
    from app.finance.services.supplier_payments import AllocationInput, SupplierPaymentInput, pay_supplier

    bill_id = await make_bill(session, tenant, marker)
    from app.finance.models import Bill

    bill = await session.get(Bill, bill_id)
    assert bill is not None
    payment = await pay_supplier(
        session,
        None,
        SupplierPaymentInput(
            bill.supplier_id,
            date(2026, 12, 2),
            "25.00",
            reference=marker[:80],
            allocations=[AllocationInput(bill_id, "4.00")],
        ),
    )
    return payment.id


# --- receivables (FIN-2) ----------------------------------------------------------------------


async def _invoice_for(session: AsyncSession, account_id: int, marker: str) -> int:
    """A confirmed one-line order of ``account_id`` invoiced today, at the tenant's first VAT rate."""
    from sqlalchemy import select

    from app.crm.models import Account as Customer
    from app.finance.models import TaxRate
    from app.finance.services.receivables import invoice_order
    from tests.crm.factories.sales import order_row, product_row

    await ensure_finance(session)
    rate = (await session.execute(select(TaxRate.rate).order_by(TaxRate.id).limit(1))).scalar_one()
    product = await product_row(session, f"fin-{marker}"[:60], "100.00", str(rate), name=f"Product {marker}")
    account = await session.get(Customer, account_id)
    assert account is not None
    order = await order_row(session, account, [(product, "1")], status="confirmed")
    return (await invoice_order(session, None, order.id)).id


@factory("fin_invoices")
async def make_invoice(session: AsyncSession, tenant: Any, marker: str) -> int:
    from tests.crm.factories.sales import account_row

    account = await account_row(session, f"Customer {marker}", lifecycle_stage="customer")
    return await _invoice_for(session, account.id, marker)


@factory("fin_payments")
async def make_payment(session: AsyncSession, tenant: Any, marker: str) -> int:
    from app.finance.services.payments_in import receive_payment
    from tests.crm.factories.sales import account_row

    account = await account_row(session, f"Customer {marker}", lifecycle_stage="customer")
    payment = await receive_payment(
        session, None, {"account_id": account.id, "amount": "10.00", "reference": marker[:80]}
    )
    return payment.id


@factory("fin_portal_invoices")
async def make_portal_invoice(session: AsyncSession, tenant: Any, marker: str) -> int:
    """An invoice of the tenant's customer carol (the customer portal's routes are walked as her)."""
    from tests.crm.factories.portal import carols_customer

    me = await carols_customer(session, tenant, marker)
    return await _invoice_for(session, me.account_id, marker)
