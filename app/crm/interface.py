"""What other contexts may use of CRM (ARCHITECTURE.md: never its models or services).

Finance, supply chain and production read what they need about accounts and orders here, and
react to the events in app/crm/events.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
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


# --- the account timeline (CRM-1) ------------------------------------------------------------
# One account's history merged by time from every source that knows about it. CRM registers its
# own sources (activities, opportunities, quotes, orders, tickets: app/crm/services/timeline.py);
# another context adds its records without CRM importing it, e.g. finance's invoices:
#
#     from app.crm.interface import TimelineEntry, register_timeline_source
#
#     async def invoices_of(session, principal, account_id, before, limit) -> list[TimelineEntry]:
#         ...  # the account's invoices the principal may read, newest first, ``at < before``
#
#     register_timeline_source(invoices_of, name="invoices", label=lazy("Invoices"))


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One thing that happened with an account, as the profile page shows it.

    ``key`` is unique across sources ("invoice:42") and breaks ties between equal times;
    ``kind`` and ``status`` are English msgids (shown translated); ``tone`` colours the status
    tag (ok, warn, err, info or ""); ``icon`` names one of portals/templates/macros/icons.html.
    """

    at: datetime
    key: str
    kind: str
    title: str
    icon: str = "dot"
    href: str | None = None
    summary: str = ""
    status: str | None = None
    tone: str = ""
    amount: Decimal | None = None
    currency: str | None = None
    actor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sort_key(self) -> tuple[datetime, str]:
        return (self.at, self.key)


# (session, principal, account_id, before, limit) → at most ``limit`` entries with ``at`` at or
# before ``before`` (None = now), newest first, already filtered by the principal's record rules.
TimelineSource = Callable[[Any, Any, int, datetime | None, int], Awaitable[list[TimelineEntry]]]


@dataclass(frozen=True, slots=True)
class RegisteredSource:
    name: str
    label: str  # English msgid: the timeline's filter chip
    fetch: TimelineSource


TIMELINE_SOURCES: dict[str, RegisteredSource] = {}


def register_timeline_source(
    fn: TimelineSource, *, name: str | None = None, label: str | None = None
) -> None:
    """Add a source to every account's timeline (idempotent per ``name``)."""
    key = name or fn.__name__
    TIMELINE_SOURCES[key] = RegisteredSource(key, label or key, fn)


# --- sales orders for finance (CRM-4 → FIN-2, INT-1) -----------------------------------------
# Finance posts the receivable from ``crm.sales_order_confirmed`` (app/crm/events.py) and, once
# the invoice exists, tells CRM so the rep and the customer see "invoiced":
#
#     order = await sales_order_for_finance(session, payload["order_id"])
#     await mark_order_invoiced(session, order["order_id"], invoice.number)


# Finance invoices an order in the same transaction as the step that makes it billable
# (ARCHITECTURE.md: the books never disagree with the documents). CRM calls every listener
# registered for a step inside ``confirm_order`` / ``fulfil_order``, after the order's status has
# changed and before the event is published; a listener that raises refuses the step (nothing is
# written). CRM does not import finance: finance registers itself at import.
#
#     async def invoice_on_confirm(session, principal, order_id: int) -> None: ...
#     register_order_listener("confirmed", invoice_on_confirm)

OrderListener = Callable[[Any, Any, int], Awaitable[None]]
ORDER_LISTENERS: dict[str, list[OrderListener]] = {"confirmed": [], "fulfilled": []}


def register_order_listener(step: str, listener: OrderListener) -> OrderListener:
    """Call ``listener(session, principal, order_id)`` when an order reaches ``step``
    ("confirmed" or "fulfilled"), in that transaction. Idempotent."""
    if listener not in ORDER_LISTENERS[step]:
        ORDER_LISTENERS[step].append(listener)
    return listener


async def notify_order_listeners(session: Any, principal: Any, step: str, order_id: int) -> None:
    """Run the listeners of ``step`` (called by CRM's order services only)."""
    for listener in ORDER_LISTENERS[step]:
        await listener(session, principal, order_id)


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


async def existing_account_ids(session: Any, ids: set[int]) -> set[int]:
    """Which of ``ids`` name a customer account (merged-away ones included: their history stays
    theirs). Finance checks the partner of ledger lines with it. No record rules."""
    from sqlalchemy import select

    from app.crm.models import Account

    if not ids:
        return set()
    return set((await session.execute(select(Account.id).where(Account.id.in_(ids)))).scalars())


# --- product categories and their VAT rate (CRM-4 ↔ finance tax) ------------------------------
# Finance keeps a default VAT rate per product category (fin_category_tax_rates). It registers a
# lookup once at import; CRM's product form asks it when a new product's rate is left empty.
# CRM does not import finance.
#
#     async def category_rate(session, category: str) -> Decimal | None: ...
#     register_category_tax_rate(category_rate)

CategoryTaxRateLookup = Callable[[Any, str], Awaitable[Decimal | None]]
_CATEGORY_TAX_RATES: list[CategoryTaxRateLookup] = []


def register_category_tax_rate(lookup: CategoryTaxRateLookup) -> CategoryTaxRateLookup:
    """Add a lookup of a category's default VAT rate in percent (idempotent)."""
    if lookup not in _CATEGORY_TAX_RATES:
        _CATEGORY_TAX_RATES.append(lookup)
    return lookup


async def category_tax_rate(session: Any, category: str | None) -> Decimal | None:
    """The VAT rate a product of ``category`` gets by default: the first registered lookup that
    knows one, else None."""
    if not category:
        return None
    for lookup in _CATEGORY_TAX_RATES:
        rate = await lookup(session, category)
        if rate is not None:
            return rate
    return None


async def product_categories(session: Any) -> list[str]:
    """The categories used in the product catalogue, sorted (active and retired products)."""
    from app.crm.services.products import categories

    return await categories(session)


async def account_names(session: Any, ids: set[int]) -> dict[int, str]:
    """The names of the customer accounts ``ids`` (finance's ledger shows a line's partner by
    name). Unknown ids are absent. No record rules: a context reads it, not a person."""
    from sqlalchemy import select

    from app.crm.models import Account

    if not ids:
        return {}
    rows = await session.execute(select(Account.id, Account.name).where(Account.id.in_(ids)))
    return {account_id: name for account_id, name in rows.all()}


# --- the demo tenant ---------------------------------------------------------------------------


async def seed_demo(session: Any) -> None:
    """The CRM part of the demo tenant (tenants/demo.py ``DEMO_SEEDERS``), idempotent like every
    seeder it runs. The order is the order of dependencies: the extra sales staff before the
    accounts are shared out; orders before the pipeline (a won deal is an order's deal); the
    pipeline before leads (conversions open deals next to it); marketing last (its segments read
    the orders, its campaigns take over leads and deals); then the demo customer's portal sign-in
    is linked to a contact whose account has orders, tickets and a survey to answer."""
    from app.crm.services import (
        customers_demo,
        leads_demo,
        marketing_demo,
        pipeline_demo,
        portal_demo,
        sales_demo,
        service_demo,
    )

    await pipeline_demo.ensure_sales_staff(session)
    await customers_demo.seed_customers_demo(session)
    await sales_demo.seed_sales_demo(session)
    await pipeline_demo.seed_pipeline_demo(session)
    await leads_demo.seed_leads_demo(session)
    await service_demo.seed_service_demo(session)
    await marketing_demo.seed_marketing_demo(session)
    await portal_demo.link_demo_customer(session)
