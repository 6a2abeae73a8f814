"""How finance hooks into CRM (ARCHITECTURE.md: the reacting context owns the reaction).

Imported by ``app/finance/__init__.py``, so whatever imports finance — the web application, the
workers, the CLI, the tests — has these registered before any order is confirmed:

* order listeners for "confirmed" and "fulfilled": the order is invoiced in the transaction of the
  step the tenant invoices at (``fin_settings.invoice_on``); a refusal refuses the step (INT-1);
* the customer portal's documents: invoices and credit notes of the signed-in customer (CRM-12);
* the account timeline's "Invoices" source (CRM-1);
* open invoices for collections (CRM-5).
"""

from __future__ import annotations

from app.crm.interface import (
    register_customer_documents,
    register_order_listener,
    register_receivables_source,
    register_timeline_source,
)
from app.finance.services.receivables import invoice_on_confirmation, invoice_on_delivery
from app.finance.services.receivables_in_crm import customer_documents, invoices_on_timeline, open_receivables
from app.kernel.i18n import lazy

register_order_listener("confirmed", invoice_on_confirmation)
register_order_listener("fulfilled", invoice_on_delivery)
register_customer_documents(customer_documents)
register_timeline_source(invoices_on_timeline, name="invoices", label=lazy("Invoices"))
register_receivables_source(open_receivables)
