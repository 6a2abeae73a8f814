"""Helpers for the payables tests: suppliers, cost centres and split rules made directly, bills and
payments through the services, and the row counts a refused write must leave unchanged."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from app.finance.models import CostCentre, SplitRule, SplitRuleShare
from app.finance.services import bills, supplier_payments, suppliers
from app.finance.services.bills import BillInput, BillLineInput
from app.finance.services.supplier_payments import AllocationInput, SupplierPaymentInput
from tenants.service import in_tenant
from tests.crm.support import acting_as
from tests.world import TenantWorld

TABLES = (
    "fin_suppliers",
    "fin_bills",
    "fin_bill_lines",
    "fin_payments",
    "fin_allocations",
    "fin_entries",
    "fin_entry_lines",
    "fin_document_counters",
)
_n = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8].upper()}"


async def counts(tenant: TenantWorld) -> dict[str, Any]:
    """Rows of every payables table, and the document counters' values (a refused bill must not
    take a number)."""
    out: dict[str, Any] = {}
    async with in_tenant(tenant.slug) as (session, _):
        for table in TABLES:
            out[table] = (
                await session.execute(text(f'SELECT count(*) FROM "{tenant.schema}".{table}'))
            ).scalar()
        out["counters"] = (
            await session.execute(
                text(f'SELECT coalesce(sum(last_value), 0) FROM "{tenant.schema}".fin_document_counters')
            )
        ).scalar()
        out["paid"] = (
            await session.execute(text(f'SELECT coalesce(sum(paid), 0) FROM "{tenant.schema}".fin_bills'))
        ).scalar()
    return out


async def make_supplier(tenant: TenantWorld, **values: Any) -> int:
    data = {"code": unique("S"), "name": f"Supplier {next(_n)}", "payment_terms_days": 30, **values}
    async with acting_as(tenant, "bob") as (session, principal):
        return (await suppliers.create_supplier(session, principal, data)).id


async def make_centres(tenant: TenantWorld, n: int = 3) -> list[str]:
    codes = [unique("CC") for _ in range(n)]
    async with in_tenant(tenant.slug) as (session, _):
        session.add_all(CostCentre(code=c, name=f"Centre {c}", active=True) for c in codes)
    return codes


async def make_split_rule(tenant: TenantWorld, shares: list[tuple[str, str]], *, active: bool = True) -> str:
    """A rule with (cost centre code, percent) shares in that order (positions 1, 2, ...)."""
    code = unique("SR")
    async with in_tenant(tenant.slug) as (session, _):
        from sqlalchemy import select

        rule = SplitRule(code=code, name=f"Rule {code}", active=active)
        session.add(rule)
        await session.flush()
        ids = dict(
            (
                await session.execute(
                    select(CostCentre.code, CostCentre.id).where(CostCentre.code.in_([c for c, _ in shares]))
                )
            ).all()
        )
        session.add_all(
            SplitRuleShare(rule_id=rule.id, cost_centre_id=ids[c], percent=Decimal(p), position=k)
            for k, (c, p) in enumerate(shares, start=1)
        )
    return code


def line(net: str = "1000.00", **kw: Any) -> BillLineInput:
    return BillLineInput(description=kw.pop("description", "Office supplies"), net_amount=net, **kw)


def bill_input(supplier_id: int, on: date, lines: list[BillLineInput] | None = None, **kw: Any) -> BillInput:
    return BillInput(
        supplier_id=supplier_id,
        supplier_reference=kw.pop("supplier_reference", unique("INV")),
        bill_date=on,
        lines=lines if lines is not None else [line()],
        **kw,
    )


async def enter(tenant: TenantWorld, data: BillInput, **kw: Any) -> Any:
    async with acting_as(tenant, "bob") as (session, principal):
        return await bills.enter_bill(session, principal, data, **kw)


async def pay(
    tenant: TenantWorld,
    supplier_id: int,
    on: date,
    amount: str,
    allocations: Sequence[tuple[int, str]] = (),
    **kw: Any,
) -> Any:
    async with acting_as(tenant, "bob") as (session, principal):
        return await supplier_payments.pay_supplier(
            session,
            principal,
            SupplierPaymentInput(
                supplier_id=supplier_id,
                payment_date=on,
                amount=amount,
                allocations=[AllocationInput(b, a) for b, a in allocations],
                **kw,
            ),
        )
