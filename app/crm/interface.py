"""What other contexts may use of CRM (ARCHITECTURE.md: never its models or services).

Finance, supply chain and production read what they need about accounts and orders here, and
react to the events in app/crm/events.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
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
# changed (a confirmation's event is already in the outbox then: it goes out with the status in
# one flush; a delivery's is published after the listeners); a listener that raises refuses the
# step and everything it wrote, event included. CRM does not import finance: finance registers
# itself at import.
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


def invoicing_in_books() -> bool:
    """Whether a context issues invoices from order steps (finance registered its listeners):
    CRM then offers no way to mark an order invoiced with a number from outside the books."""
    return any(ORDER_LISTENERS.values())


async def notify_order_listeners(session: Any, principal: Any, step: str, order_id: int) -> None:
    """Run the listeners of ``step`` (called by CRM's order services only)."""
    for listener in ORDER_LISTENERS[step]:
        await listener(session, principal, order_id)


async def sales_order_for_finance(session: Any, order_id: int, *, lock: bool = False) -> dict[str, Any]:
    """One sales order as finance reads it: the ``crm.sales_order_confirmed`` payload (lines with
    money as decimal strings) plus ``status``, ``discount_total``, ``invoice_ref`` and the
    moments of each step. Raises ``NotFound`` for an unknown id. No record rules: a context
    reads it, not a person. ``lock`` takes the order's row ``FOR UPDATE`` (as confirming and
    invoicing do), so two invoicings of one order run one after the other."""
    from app.crm.services.order_status import order_document

    return await order_document(session, order_id, lock=lock)


async def orders_to_invoice(session: Any, *, limit: int = 200) -> list[dict[str, Any]]:
    """Confirmed or fulfilled orders not invoiced yet, oldest confirmation first: ``id``,
    ``number``, ``account_id``, ``account_name``, ``status``, ``currency``, ``total`` (Decimal),
    ``order_date``, ``confirmed_at``, ``fulfilled_at``. No record rules (finance's reading)."""
    from sqlalchemy import select

    from app.crm.models import Account, SalesOrder

    rows = await session.execute(
        select(SalesOrder, Account.name)
        .join(Account, Account.id == SalesOrder.account_id)
        .where(SalesOrder.status.in_(("confirmed", "fulfilled")))
        .order_by(SalesOrder.confirmed_at, SalesOrder.id)
        .limit(limit)
    )
    return [
        {
            "id": o.id,
            "number": o.number,
            "account_id": o.account_id,
            "account_name": name,
            "status": o.status,
            "currency": o.currency,
            "total": o.total,
            "order_date": o.order_date,
            "confirmed_at": o.confirmed_at,
            "fulfilled_at": o.fulfilled_at,
        }
        for o, name in rows.all()
    ]


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
    # Accounts this session holds (and is not deleting) exist: the order being invoiced read its
    # customer a moment ago.
    sync = session.sync_session
    held = {
        i
        for i in ids
        if (obj := sync.identity_map.get(sync.identity_key(Account, i))) is not None
        and obj not in sync.deleted
    }
    missing = set(ids) - held
    if not missing:
        return held
    return held | set((await session.execute(select(Account.id).where(Account.id.in_(missing)))).scalars())


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


async def account_names(session: Any, ids: Iterable[int]) -> dict[int, str]:
    """The names of the accounts ``ids`` (merged-away ones included). No record rules."""
    from sqlalchemy import select

    from app.crm.models import Account

    wanted = set(ids)
    if not wanted:
        return {}
    rows = await session.execute(select(Account.id, Account.name).where(Account.id.in_(wanted)))
    return dict(rows.all())


async def find_accounts(session: Any, q: str = "", *, limit: int = 20) -> list[tuple[int, str]]:
    """Live accounts (not merged away, not archived) whose name contains ``q``, by name: a
    picker for finance's forms (a customer paying). No record rules: finance sees every customer."""
    from sqlalchemy import select

    from app.crm.models import Account

    stmt = select(Account.id, Account.name).where(
        Account.merged_into_id.is_(None), Account.archived_at.is_(None)
    )
    text = (q or "").strip().replace("%", "").replace("_", "")[:100]
    if text:
        stmt = stmt.where(Account.name.ilike(f"%{text}%"))
    rows = await session.execute(stmt.order_by(Account.name, Account.id).limit(limit))
    return [(ident, name) for ident, name in rows.all()]


def account_ids_named(q: str) -> Any:
    """A SELECT of the ids of accounts whose name contains ``q`` (case-insensitive), for a
    ``Model.account_id.in_(...)`` filter in another context's list. No record rules."""
    from sqlalchemy import select

    from app.crm.models import Account

    text = (q or "").strip().replace("%", "").replace("_", "")[:100]
    return select(Account.id).where(Account.name.ilike(f"%{text}%"))


# --- receivables for collections (CRM-5 reads FIN-2) -------------------------------------------
# Finance registers one source of open customer invoices at import; the collections board and
# the account profile show what it returns for the accounts the reader may see. CRM passes the
# accounts as a SELECT of ``crm_accounts.id`` (already under the reader's record rules), so the
# source filters with ``Invoice.account_id.in_(account_ids)`` in one statement.
#
#     async def open_invoices(session, account_ids, due_by: date | None) -> list[OpenReceivable]: ...
#     register_receivables_source(open_invoices)


@dataclass(frozen=True)
class OpenReceivable:
    """One customer invoice with money still open, as collections show it."""

    invoice_id: int
    number: str
    account_id: int
    issued_on: date
    due_on: date
    currency: str
    total: Decimal
    open_amount: Decimal
    sales_order_id: int | None = None

    def days_late(self, today: date) -> int:
        return max(0, (today - self.due_on).days)


ReceivablesSource = Callable[[Any, Any, date | None], Awaitable[list[OpenReceivable]]]
_RECEIVABLES: list[ReceivablesSource] = []


def register_receivables_source(source: ReceivablesSource) -> ReceivablesSource:
    """Add the source of open invoices (usable as a decorator; idempotent)."""
    if source not in _RECEIVABLES:
        _RECEIVABLES.append(source)
    return source


def has_receivables() -> bool:
    return bool(_RECEIVABLES)


async def open_receivables(
    session: Any, account_ids: Any, *, due_by: date | None = None
) -> list[OpenReceivable]:
    """Open invoices of ``account_ids`` (a SELECT of account ids), due on or before ``due_by``
    when given, by due date."""
    items = [item for source in _RECEIVABLES for item in await source(session, account_ids, due_by)]
    return sorted(items, key=lambda i: (i.due_on, i.number))


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
