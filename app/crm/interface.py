"""What other contexts may use of CRM (ARCHITECTURE.md: never its models or services).

Finance, supply chain and production read what they need about accounts and orders here, and
react to the events in app/crm/events.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

# --- customer documents in the self-service portal (CRM-12) -------------------------------------
# A context that issues documents to customers (finance: invoices, receipts) registers a source
# once at import; the customer portal then shows an "Invoices" section listing what the sources
# return for the signed-in customer's account. No source registered → no section.
#
#     async def invoices_for(session, account_id: int) -> list[CustomerDocument]: ...
#     register_customer_documents(invoices_for)
#
# A source must return only documents of ``account_id`` (the portal's one record rule).


@dataclass(frozen=True)
class CustomerDocument:
    """One document as a customer sees it. ``kind`` and ``status`` are English msgids."""

    kind: str  # "Invoice", "Credit note", ...
    number: str
    issued_on: date
    status: str  # "Open", "Paid", "Overdue", ...
    total: Decimal
    currency: str
    amount_due: Decimal | None = None
    due_on: date | None = None
    sales_order_id: int | None = None  # the order it bills, shown as a link on the order page
    href: str | None = None  # where the customer views, downloads or pays it


CustomerDocumentSource = Callable[[Any, int], Awaitable[list[CustomerDocument]]]
_DOCUMENT_SOURCES: list[CustomerDocumentSource] = []


def register_customer_documents(source: CustomerDocumentSource) -> CustomerDocumentSource:
    """Add a source of documents for the customer portal (usable as a decorator; idempotent)."""
    if source not in _DOCUMENT_SOURCES:
        _DOCUMENT_SOURCES.append(source)
    return source


def has_customer_documents() -> bool:
    return bool(_DOCUMENT_SOURCES)


async def customer_documents(session: Any, account_id: int) -> list[CustomerDocument]:
    """Every registered source's documents for one account, newest first."""
    docs = [d for source in _DOCUMENT_SOURCES for d in await source(session, account_id)]
    return sorted(docs, key=lambda d: (d.issued_on, d.number), reverse=True)


# --- sales orders for finance (CRM-4 → FIN-2, INT-1) -----------------------------------------
# Finance posts the receivable from ``crm.sales_order_confirmed`` (app/crm/events.py) and, once
# the invoice exists, tells CRM so the rep and the customer see "invoiced":
#
#     order = await sales_order_for_finance(session, payload["order_id"])
#     await mark_order_invoiced(session, order["order_id"], invoice.number)


async def sales_order_for_finance(session: Any, order_id: int) -> dict[str, Any]:
    """One sales order as finance reads it: the ``crm.sales_order_confirmed`` payload (lines with
    money as decimal strings) plus ``status``, ``discount_total``, ``invoice_ref`` and the
    moments of each step. Raises ``NotFound`` for an unknown id. No record rules: a context
    reads it, not a person."""
    from app.crm.services.order_status import order_document

    return await order_document(session, order_id)


async def mark_order_invoiced(session: Any, order_id: int, invoice_ref: str) -> None:
    """Set a confirmed or fulfilled order to "invoiced" with finance's invoice number, in the
    caller's transaction. The same reference again is a no-op (safe for redelivered events);
    another reference, or a draft or cancelled order, raises ``InvalidState``."""
    from app.crm.services.order_status import mark_invoiced

    await mark_invoiced(session, order_id, invoice_ref)
