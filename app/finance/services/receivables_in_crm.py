"""What CRM shows of the receivables, supplied through the hooks of ``app.crm.interface``
(registered in app/finance/handlers.py):

* ``customer_documents`` — invoices and credit notes in the customer self-service portal (CRM-12),
  only ever of the one account asked for;
* ``invoices_on_timeline`` — the account timeline's "Invoices" source (CRM-1);
* ``open_receivables`` — open invoices for the collections board and the account profile (CRM-5),
  for the accounts CRM passes in (already under the reader's record rules on accounts).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.interface import CustomerDocument, OpenReceivable, TimelineEntry
from app.finance.models import Invoice
from app.finance.services.invoices import (
    KIND_LABELS,
    OPEN_AMOUNT,
    STATUS_LABELS,
    STATUS_TONES,
    open_amount,
    status_of,
)
from app.finance.services.receivables import tenant_today
from app.kernel.db import utcnow
from app.security.permissions import CRM_ORDER_READ, FIN_RECEIVABLE_READ
from app.security.principal import Principal

CUSTOMER_HREF = "/portal/invoices/{id}"


async def customer_documents(session: AsyncSession, account_id: int) -> list[CustomerDocument]:
    """The account's invoices and credit notes as its customer sees them, newest first."""
    stmt = (
        select(Invoice)
        .where(Invoice.account_id == account_id)
        .order_by(Invoice.issue_date.desc(), Invoice.id.desc())
    )
    today = tenant_today()
    out = []
    for doc in (await session.execute(stmt)).scalars():
        out.append(
            CustomerDocument(
                kind=KIND_LABELS[doc.kind],
                number=doc.number,
                issued_on=doc.issue_date,
                status=STATUS_LABELS[status_of(doc, today)],
                total=Decimal(doc.total),
                currency=doc.currency,
                amount_due=open_amount(doc) if doc.kind == "invoice" else None,
                due_on=doc.due_date if doc.kind == "invoice" else None,
                sales_order_id=doc.sales_order_id,
                href=CUSTOMER_HREF.format(id=doc.id),
            )
        )
    return out


async def invoices_on_timeline(
    session: AsyncSession, principal: Principal, account_id: int, before: datetime | None, limit: int
) -> list[TimelineEntry]:
    """The account's invoices and credit notes, newest first, for readers of receivables or of
    orders (the timeline is only shown to those who may see the account)."""
    accountant = principal.can(FIN_RECEIVABLE_READ)
    if not accountant and not principal.can(CRM_ORDER_READ):
        return []
    stmt = (
        select(Invoice)
        .where(Invoice.account_id == account_id, Invoice.created_at <= (before or utcnow()))
        .order_by(Invoice.created_at.desc(), Invoice.id.desc())
        .limit(limit)
    )
    today = tenant_today()
    out = []
    for doc in (await session.execute(stmt)).scalars():
        status = status_of(doc, today)
        if accountant:
            href: str | None = f"/finance/invoices/{doc.id}"
        else:
            href = f"/sales/orders/{doc.sales_order_id}" if doc.sales_order_id else None
        out.append(
            TimelineEntry(
                at=doc.created_at,
                key=f"invoice:{doc.id:012d}",
                kind=KIND_LABELS[doc.kind],
                title=doc.number,
                icon="file",
                href=href,
                summary=doc.memo if doc.kind == "credit_note" else "",
                status=STATUS_LABELS[status],
                tone=STATUS_TONES[status],
                amount=Decimal(doc.total),
                currency=doc.currency,
                extra={
                    "issue_date": doc.issue_date,
                    "due_date": doc.due_date if doc.kind == "invoice" else None,
                    "open_amount": open_amount(doc) if doc.kind == "invoice" else None,
                },
            )
        )
    return out


async def open_receivables(
    session: AsyncSession, account_ids: Any, due_by: date | None
) -> list[OpenReceivable]:
    """Open invoices of ``account_ids`` (a SELECT of account ids), due by ``due_by`` if given."""
    stmt = select(Invoice).where(
        Invoice.kind == "invoice", OPEN_AMOUNT > 0, Invoice.account_id.in_(account_ids)
    )
    if due_by is not None:
        stmt = stmt.where(Invoice.due_date <= due_by)
    rows = await session.execute(stmt.order_by(Invoice.due_date, Invoice.id))
    return [
        OpenReceivable(
            invoice_id=i.id,
            number=i.number,
            account_id=i.account_id,
            issued_on=i.issue_date,
            due_on=i.due_date,
            currency=i.currency,
            total=Decimal(i.total),
            open_amount=open_amount(i),
            sales_order_id=i.sales_order_id,
        )
        for i in rows.scalars()
    ]
