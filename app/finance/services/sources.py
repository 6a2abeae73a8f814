"""From an entry to the document that caused it (FIN-5 drill-down: "from every entry to its
source document").

Every posting names its source as ``(source_type, source_id)``: the document types of the
posting door (docs/finance.md). ``source_url`` gives the portal page of that document, or None
when there is none to show (a manual entry, a test's, an unknown type):

    source_url("finance.invoice", 12)  → "/finance/invoices/12"
    source_url("finance.year_end", 2026) → "/finance/periods"   (year-end closings are listed there)

Credit notes are invoices of kind ``credit_note`` and share the invoice page. The page itself
checks who may read the document; a link never grants anything.
"""

from __future__ import annotations

from app.kernel.i18n import lazy

# source_type → (page, with "{id}" for the document's id; what it is, as an English msgid)
SOURCES: dict[str, tuple[str, str]] = {
    "finance.invoice": ("/finance/invoices/{id}", lazy("Invoice")),
    "finance.credit_note": ("/finance/invoices/{id}", lazy("Credit note")),
    "finance.bill": ("/finance/bills/{id}", lazy("Supplier bill")),
    "finance.payment": ("/finance/payments/{id}", lazy("Payment")),
    "crm.sales_order": ("/sales/orders/{id}", lazy("Sales order")),
    "finance.year_end": ("/finance/periods", lazy("Year-end closing")),
    "manual": ("", lazy("Manual entry")),
}


def source_url(source_type: str | None, source_id: int | None) -> str | None:
    """The portal page of an entry's source document; None for manual entries and unknown types."""
    page = SOURCES.get(source_type or "", ("", ""))[0]
    if not page or ("{id}" in page and source_id is None):
        return None
    return page.format(id=source_id)


def source_label(source_type: str | None) -> str | None:
    """What the source is ("Invoice", "Sales order" …: a msgid, translated where shown); None
    for a type this module does not know (shown as its raw type)."""
    known = SOURCES.get(source_type or "")
    return known[1] if known else None
