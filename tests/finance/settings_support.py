"""Helpers for the finance settings tests: table snapshots (nothing changed), a CRM customer,
documents written straight to their tables with their entries posted through the posting door
(the invoice and bill services are other parts' work)."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text

from app.finance.models import Account, Bill, BillLine, CostCentre, Invoice, InvoiceLine, Supplier, TaxRate
from app.finance.services import posting
from app.finance.services.posting import PostingLine, PostingRequest
from app.finance.services.rules import account_code
from app.finance.services.setup import ensure_finance
from app.finance.services.splits import tax_of
from tenants.service import in_tenant
from tests.world import TenantWorld

SETTINGS_TABLES = (
    "fin_settings",
    "fin_accounts",
    "fin_tax_rates",
    "fin_category_tax_rates",
    "fin_cost_centres",
    "fin_split_rules",
    "fin_split_rule_shares",
    "fin_posting_rules",
    "fin_entries",
    "fin_entry_lines",
)
_years = itertools.count(2300)


def fresh_year() -> int:
    """A year no other test posts into (reports over it see only this test's documents)."""
    return next(_years)


def unique(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def unique_digits() -> str:
    """An account code no chart has: 9 followed by seven digits."""
    return "9" + str(uuid.uuid4().int)[:7]


async def snapshot(tenant: TenantWorld, *tables: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of ``tables`` (all of the settings tables by default): equal before and after a
    refused write means nothing changed."""
    out = {}
    async with in_tenant(tenant.slug) as (session, _):
        for table in tables or SETTINGS_TABLES:
            rows = await session.execute(text(f'SELECT * FROM "{tenant.schema}"."{table}" ORDER BY 1'))
            out[table] = [tuple(r) for r in rows.all()]
    return out


async def customer_id(tenant: TenantWorld) -> int:
    """A CRM customer account for invoices (made once per tenant)."""
    from app.crm.services.accounts import create_account
    from tests.crm.support import acting_as

    async with acting_as(tenant, "ada") as (session, principal):
        found = (
            await session.execute(
                text(f'SELECT id FROM "{tenant.schema}".crm_accounts WHERE name = :n'),
                {"n": "VAT Test Customer"},
            )
        ).scalar()
        if found:
            return int(found)
        account = await create_account(session, principal, {"name": "VAT Test Customer", "kind": "company"})
        await session.flush()
        return account.id


async def cost_centre(tenant: TenantWorld, code: str, *, active: bool = True) -> None:
    """The cost centre ``code`` exists (and is active or not)."""
    async with in_tenant(tenant.slug) as (session, _):
        await ensure_finance(session)
        centre = (
            await session.execute(select(CostCentre).where(CostCentre.code == code))
        ).scalar_one_or_none()
        if centre is None:
            session.add(CostCentre(code=code, name=f"Centre {code}", active=active))
        else:
            centre.active = active


async def rate(session: Any, code: str) -> TaxRate:
    return (await session.execute(select(TaxRate).where(TaxRate.code == code))).scalar_one()


async def _account_id(session: Any, code: str) -> int:
    return (await session.execute(select(Account.id).where(Account.code == code))).scalar_one()


async def issue_invoice(
    tenant: TenantWorld,
    on: date,
    lines: list[tuple[str, str]],
    *,
    kind: str = "invoice",
    credited: int | None = None,
) -> int:
    """An invoice (or credit note) with ``lines`` of (tax rate code, net amount), and its entry:
    receivable against revenue and each rate's output account (reversed for a credit note)."""
    async with in_tenant(tenant.slug) as (session, _):
        await ensure_finance(session)
        revenue = await account_code(session, "revenue")
        receivable = await account_code(session, "receivable")
        invoice = Invoice(
            kind=kind,
            number=unique("T-INV-" if kind == "invoice" else "T-CN-"),
            account_id=await customer_id(tenant),
            credited_invoice_id=credited,
            issue_date=on,
            due_date=on + timedelta(days=30),
            currency="CNY",
        )
        session.add(invoice)
        await session.flush()
        entry_lines: list[PostingLine] = []
        total = Decimal("0.00")
        for k, (code, net) in enumerate(lines):
            r = await rate(session, code)
            net_d = Decimal(net)
            tax = tax_of(net_d, r.rate)
            session.add(
                InvoiceLine(
                    invoice_id=invoice.id,
                    line_no=k + 1,
                    description=f"line {k + 1}",
                    tax_rate=r.rate,
                    tax_rate_id=r.id,
                    net_amount=net_d,
                    tax_amount=tax,
                    total_amount=net_d + tax,
                    account_id=await _account_id(session, revenue),
                )
            )
            out_code = (
                await session.execute(select(Account.code).where(Account.id == r.output_account_id))
            ).scalar_one()
            side = "credit" if kind == "invoice" else "debit"
            entry_lines.append(PostingLine(revenue, **{side: net_d}))
            if tax:
                entry_lines.append(PostingLine(out_code, **{side: tax}))
            total += net_d + tax
        other = "debit" if kind == "invoice" else "credit"
        entry_lines.insert(0, PostingLine(receivable, **{other: total}))
        invoice.subtotal = sum((Decimal(n) for _, n in lines), Decimal("0.00"))
        invoice.total = total
        invoice.tax_total = total - invoice.subtotal
        entry = await posting.post(
            session,
            None,
            PostingRequest(
                date=on,
                lines=entry_lines,
                source_type=f"finance.{kind}",
                source_id=invoice.id,
                memo=invoice.number,
            ),
        )
        invoice.entry_id = entry.id
        await session.flush()
        return invoice.id


async def enter_bill(
    tenant: TenantWorld, on: date, lines: list[tuple[str, str]], expense_code: str | None = None
) -> int:
    """A supplier bill with ``lines`` of (tax rate code, net amount) and its entry: expense and
    each rate's input account against payables."""
    async with in_tenant(tenant.slug) as (session, _):
        await ensure_finance(session)
        expense = expense_code or await account_code(session, "admin_expense")
        payable = await account_code(session, "payable")
        supplier = Supplier(code=unique("S-"), name="VAT Test Supplier", currency="CNY")
        session.add(supplier)
        await session.flush()
        bill = Bill(
            number=unique("T-BILL-"),
            supplier_id=supplier.id,
            supplier_reference=unique("REF-"),
            bill_date=on,
            due_date=on + timedelta(days=30),
            currency="CNY",
        )
        session.add(bill)
        await session.flush()
        entry_lines: list[PostingLine] = []
        total = Decimal("0.00")
        for k, (code, net) in enumerate(lines):
            r = await rate(session, code)
            net_d = Decimal(net)
            tax = tax_of(net_d, r.rate)
            session.add(
                BillLine(
                    bill_id=bill.id,
                    line_no=k + 1,
                    description=f"line {k + 1}",
                    account_id=await _account_id(session, expense),
                    tax_rate=r.rate,
                    tax_rate_id=r.id,
                    net_amount=net_d,
                    tax_amount=tax,
                    total_amount=net_d + tax,
                )
            )
            in_code = (
                await session.execute(select(Account.code).where(Account.id == r.input_account_id))
            ).scalar_one()
            entry_lines.append(PostingLine(expense, debit=net_d))
            if tax:
                entry_lines.append(PostingLine(in_code, debit=tax))
            total += net_d + tax
        entry_lines.append(PostingLine(payable, credit=total))
        bill.subtotal = sum((Decimal(n) for _, n in lines), Decimal("0.00"))
        bill.total = total
        bill.tax_total = total - bill.subtotal
        entry = await posting.post(
            session,
            None,
            PostingRequest(date=on, lines=entry_lines, source_type="finance.bill", source_id=bill.id),
        )
        bill.entry_id = entry.id
        await session.flush()
        return bill.id
