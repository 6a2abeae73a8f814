"""The events CRM publishes through the outbox (app/kernel/outbox.py), and what each carries.

Other contexts subscribe to these topics in their own ``handlers.py`` and may import this module
(ARCHITECTURE.md: contexts meet at ``interface.py`` / ``events.py``). Payloads are plain JSON:
ids as integers, money as decimal *strings* (never floats), dates ISO 8601. A topic's payload
only ever gains keys; removing or renaming one is a new topic.
"""

from __future__ import annotations

# --- customers -------------------------------------------------------------------------------
# {"winner_id": int, "loser_id": int}: every record of the loser now points at the winner.
ACCOUNTS_MERGED = "crm.accounts_merged"

# --- leads -----------------------------------------------------------------------------------
# {"lead_id": int, "source": str, "owner_id": int | None}
LEAD_CREATED = "crm.lead_created"
# {"lead_id": int, "account_id": int, "contact_id": int, "opportunity_id": int | None}
LEAD_CONVERTED = "crm.lead_converted"

# --- opportunities ---------------------------------------------------------------------------
# {"opportunity_id": int, "account_id": int, "amount": "12000.00", "currency": "CNY",
#  "owner_id": int | None, "expected_close_date": "2026-12-31" | None}
OPPORTUNITY_WON = "crm.opportunity_won"
OPPORTUNITY_LOST = "crm.opportunity_lost"

# --- sales orders (INT-1, INT-2) -------------------------------------------------------------
# {"order_id": int, "number": "SO-2026-00012", "account_id": int, "account_name": str,
#  "currency": "CNY", "order_date": "2026-12-04", "confirmed_at": ISO timestamp,
#  "subtotal": "1000.00", "tax_total": "130.00", "total": "1130.00", "owner_id": int | None,
#  "requested_delivery_date": str | None,
#  "lines": [{"line_id": int, "product_id": int | None, "sku": str | None, "description": str,
#             "quantity": "2.000", "unit": "pcs", "unit_price": "500.0000",
#             "discount_percent": "0.00", "tax_rate": "13.00", "net_amount": "1000.00",
#             "tax_amount": "130.00", "total_amount": "1130.00"}]}
SALES_ORDER_CONFIRMED = "crm.sales_order_confirmed"
# {"order_id": int, "number": str, "account_id": int}
SALES_ORDER_FULFILLED = "crm.sales_order_fulfilled"
# {"order_id": int, "number": str, "account_id": int, "reason": str | None, "was": "confirmed"}
SALES_ORDER_CANCELLED = "crm.sales_order_cancelled"

# --- marketing -------------------------------------------------------------------------------
# {"campaign_id": int}: the recipients are frozen; the worker sends them in batches.
CAMPAIGN_SEND_REQUESTED = "crm.campaign_send_requested"
# {"campaign_id": int, "after_id": int, "up_to_id": int}: one batch of recipients to mail.
CAMPAIGN_BATCH_READY = "crm.campaign_batch_ready"
# {"segment_id": int, "requested_by": int | None}: the user to notify when done (None: a job).
SEGMENT_REFRESH_REQUESTED = "crm.segment_refresh_requested"

# --- service ---------------------------------------------------------------------------------
# {"ticket_id": int, "number": str, "channel": str, "owner_id": int | None}
TICKET_CREATED = "crm.ticket_created"
# {"ticket_id": int, "number": str, "owner_id": int}
TICKET_ASSIGNED = "crm.ticket_assigned"
# {"ticket_id": int, "number": str, "message_id": int}: an agent replied to the customer.
TICKET_REPLIED = "crm.ticket_replied"
# {"ticket_id": int, "number": str, "owner_id": int | None}
TICKET_CLOSED = "crm.ticket_closed"
# {"ticket_id": int, "number": str, "level": int, "reason": "response" | "resolution"}
TICKET_ESCALATED = "crm.ticket_escalated"
