"""What other contexts may use of CRM (ARCHITECTURE.md: never its models or services).

Finance, supply chain and production read what they need about accounts and orders here, and
react to the events in app/crm/events.py.
"""

from __future__ import annotations

from typing import Any

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
