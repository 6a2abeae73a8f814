"""The events finance publishes through the outbox (app/kernel/outbox.py). Payloads are plain
JSON: ids as integers, money as decimal strings, dates ISO 8601; a topic only ever gains keys."""

from __future__ import annotations

# {"entry_id": int, "number": "记-2026-12-0001", "journal": "general", "entry_date": "2026-12-04",
#  "period": "2026-12", "source_type": str | None, "source_id": int | None, "total": "1130.00",
#  "reversal_of": int | None}
ENTRY_POSTED = "finance.entry_posted"

# A customer invoice was issued (app/finance/services/receivables.py) — from a sales order at
# confirmation or delivery (the tenant's ``invoice_on``) or by hand — in the transaction of its
# journal entry:
# {"invoice_id": int, "number": "INV-2026-00001", "account_id": int, "sales_order_id": int | None,
#  "issue_date": "2026-12-04", "due_date": "2027-01-03", "currency": "CNY", "subtotal": "1000.00",
#  "tax_total": "130.00", "total": "1130.00", "entry_id": int | None}
INVOICE_ISSUED = "finance.invoice_issued"

# A credit note was issued against an invoice (app/finance/services/credit_notes.py):
# {"credit_note_id": int, "number": "CN-2026-00001", "invoice_id": int, "invoice_number": str,
#  "account_id": int, "issue_date": "2026-12-10", "currency": "CNY", "subtotal": "100.00",
#  "tax_total": "13.00", "total": "113.00", "entry_id": int, "invoice_open_amount": "1017.00"}
CREDIT_NOTE_ISSUED = "finance.credit_note_issued"

# Money was received from a customer (app/finance/services/payments_in.py), or an earlier
# receipt's unallocated amount was allocated to invoices (``entry_id`` is then the receipt's):
# {"payment_id": int, "number": "RCV-2026-00001", "account_id": int, "payment_date": "2026-12-12",
#  "amount": "500.00", "currency": "CNY", "unallocated": "0.00", "entry_id": int,
#  "allocations": [{"invoice_id": int, "number": str, "amount": "500.00", "open_amount": "630.00"}]}
PAYMENT_RECEIVED = "finance.payment_received"
PAYMENT_ALLOCATED = "finance.payment_allocated"
