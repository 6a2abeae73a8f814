"""Helpers for the receivables tests: a throw-away 企业会计准则 tenant (VAT 13 / 9 / 6 %, accounts
1122 应收账款, 6001 主营业务收入, 222101 销项税额, 1002 银行存款), customers and orders built with
the CRM factories, and the tenant's finance settings."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, SalesOrder
from app.finance.models import Account as LedgerAccount
from app.finance.models import EntryLine, FinanceSettings, Invoice
from app.finance.services.receivables import invoice_order
from app.finance.services.setup import ensure_finance
from app.kernel.context import Actor
from app.security.principal import Principal, load_user_principal
from tenants.service import in_tenant
from tests.crm.factories.sales import account_row, order_row, product_row
from tests.world import TenantWorld

_years = itertools.count(1961)


def past_year() -> int:
    """A year no other test issues documents in (numbers start at 00001 there)."""
    return next(_years)


@asynccontextmanager
async def as_admin(tenant: TenantWorld) -> AsyncIterator[tuple[AsyncSession, Principal]]:
    """A session of the tenant acting as its administrator ``ada`` (committed at the end)."""
    user_id = tenant.users["ada"]
    async with in_tenant(tenant.slug, Actor(kind="user", id=user_id, label="ada")) as (session, ref):
        principal = await load_user_principal(session, ref, user_id)
        assert principal is not None
        yield session, principal


async def customer(session: AsyncSession, name: str, **kw: Any) -> Account:
    return await account_row(session, name, lifecycle_stage="customer", **kw)


async def draft_order(
    session: AsyncSession,
    account: Account,
    lines: list[tuple[str, str, str]],
    *,
    currency: str = "CNY",
    status: str = "draft",
) -> SalesOrder:
    """An order (a draft unless ``status`` says otherwise) with one product per line: (unit
    price, quantity, VAT %)."""
    products = []
    for n, (price, quantity, tax) in enumerate(lines, 1):
        sku = f"{uuid.uuid4().hex[:12]}-{n}"
        product = await product_row(session, sku, price, tax, name=f"Item {n} @{tax}%")
        products.append((product, quantity))
    order = await order_row(session, account, products, status=status)
    order.currency = currency
    await session.flush()
    return order


async def set_finance(tenant: TenantWorld, **values: Any) -> None:
    """Change the tenant's finance settings (``invoice_on``, ``payment_terms_days``, …)."""
    async with in_tenant(tenant.slug) as (session, _):
        await ensure_finance(session)
        await session.execute(update(FinanceSettings).values(**values))


async def entry_lines(session: AsyncSession, entry_id: int) -> list[tuple[str, Decimal, Decimal, int | None]]:
    """(account code, debit, credit, partner) of an entry's lines, in line order."""
    rows = await session.execute(
        select(LedgerAccount.code, EntryLine.debit, EntryLine.credit, EntryLine.partner_id)
        .join(LedgerAccount, LedgerAccount.id == EntryLine.account_id)
        .where(EntryLine.entry_id == entry_id)
        .order_by(EntryLine.line_no)
    )
    return [(c, Decimal(d), Decimal(cr), p) for c, d, cr, p in rows.all()]


AR_TABLES = (
    "fin_invoices",
    "fin_invoice_lines",
    "fin_payments",
    "fin_allocations",
    "fin_entries",
    "fin_entry_lines",
)


async def written(tenant: TenantWorld) -> dict[str, Any]:
    """Row counts of the receivables and ledger tables, the document counters and the invoices'
    open amounts: equal before and after a refused request means nothing was written."""
    async with in_tenant(tenant.slug) as (session, _):
        out: dict[str, Any] = {}
        for table in AR_TABLES:
            out[table] = (
                await session.execute(text(f'SELECT count(*) FROM "{tenant.schema}"."{table}"'))
            ).scalar()
        out["counters"] = (
            await session.execute(
                text(f'SELECT coalesce(sum(last_value), 0) FROM "{tenant.schema}".fin_document_counters')
            )
        ).scalar()
        out["open"] = (
            await session.execute(
                text(f'SELECT coalesce(sum(paid + credited), 0) FROM "{tenant.schema}".fin_invoices')
            )
        ).scalar()
        out["allocated"] = (
            await session.execute(
                text(f'SELECT coalesce(sum(allocated), 0) FROM "{tenant.schema}".fin_payments')
            )
        ).scalar()
        return out


def on(year: int, month: int, day: int) -> date:
    return date(year, month, day)


async def invoiced(
    session: AsyncSession, account: Account, lines: list[tuple[str, str, str]], issued: date | None = None
) -> Invoice:
    """A confirmed order of ``lines`` for ``account``, invoiced on ``issued`` (today by default)."""
    order = await draft_order(session, account, lines, status="confirmed")
    return await invoice_order(session, None, order.id, on=issued)


async def events_of(tenant: TenantWorld, topic: str) -> list[dict[str, Any]]:
    """The payloads ``tenant`` published on ``topic``, oldest first."""
    from app.kernel.db import get_database
    from app.kernel.outbox import OutboxEvent

    async with get_database().shared_session() as s:
        rows = await s.execute(
            select(OutboxEvent.payload)
            .where(OutboxEvent.topic == topic, OutboxEvent.tenant_id == tenant.id)
            .order_by(OutboxEvent.id)
        )
        return list(rows.scalars())
