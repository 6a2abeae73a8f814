"""Helpers for finance tests: the tenant's standard accounts, fresh periods, raw SQL."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from app.finance.services.charts import STANDARD_ACCOUNTS
from app.finance.services.posting import PostingLine, PostingRequest
from app.finance.services.setup import ensure_finance
from tenants.service import in_tenant
from tests.world import TenantWorld

_years = itertools.count(2040)


def fresh_month() -> date:
    """A period no other test posts into (voucher numbers start at 0001 there)."""
    return date(next(_years), 6, 15)


async def codes(tenant: TenantWorld) -> dict[str, str]:
    async with in_tenant(tenant.slug) as (session, _):
        return STANDARD_ACCOUNTS[await ensure_finance(session)]


def sale(c: dict[str, str], on: date, net: str = "1000.00", tax: str = "130.00", **kw: Any) -> PostingRequest:
    net_d, tax_d = Decimal(net), Decimal(tax)
    return PostingRequest(
        date=on,
        memo=kw.pop("memo", "sale"),
        source_type=kw.pop("source_type", "test"),
        lines=[
            PostingLine(c["receivable"], debit=net_d + tax_d),
            PostingLine(c["revenue"], credit=net_d),
            PostingLine(c["output_vat"], credit=tax_d),
        ],
        **kw,
    )


async def scalar(tenant: TenantWorld, sql: str, **params: Any) -> Any:
    async with in_tenant(tenant.slug) as (session, _):
        return (await session.execute(text(sql.replace("S.", f'"{tenant.schema}".')), params)).scalar()


async def ledger_counts(tenant: TenantWorld) -> tuple[int, int, int]:
    return (
        await scalar(tenant, "SELECT count(*) FROM S.fin_entries"),
        await scalar(tenant, "SELECT count(*) FROM S.fin_entry_lines"),
        await scalar(tenant, "SELECT coalesce(sum(debit), 0) FROM S.fin_period_balances"),
    )


async def without_books(tenant: TenantWorld) -> TenantWorld:
    """Make ``tenant`` look set up before finance existed (provisioning now installs the chart):
    no settings, accounts or tax rates until its first use of finance."""
    async with in_tenant(tenant.slug) as (session, _):
        for table in ("fin_tax_rates", "fin_accounts", "fin_settings"):
            await session.execute(text(f'DELETE FROM "{tenant.schema}".{table}'))
    return tenant
