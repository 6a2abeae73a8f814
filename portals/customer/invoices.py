"""One invoice or credit note as the customer sees it (CRM-12 with FIN-2): its lines, VAT, what
is still due, the payments and credit notes applied — only ever of the signed-in customer's
account (another account's number is "not found"). The list is the portal's Invoices page
(portals/customer/orders.py), fed by finance through app/crm/interface.py."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from app.finance.services import invoices, receivables
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from portals.customer.support import BASE, customer_for_record, page, portal_record


@get(f"{BASE}/invoices/{{invoice_id:int}}", opt=portal_record("fin_portal_invoices"))
async def invoice_detail(
    request: Request[Any, Any, Any], db: DbSession, invoice_id: FromPath[int]
) -> Response[Any]:
    me = await customer_for_record(request, db, lazy("invoice"))
    doc = await invoices.get_customer_invoice(db, me.account_id, invoice_id)
    credited = (
        await invoices.get_customer_invoice(db, me.account_id, doc.credited_invoice_id)
        if doc.credited_invoice_id
        else None
    )
    status = invoices.status_of(doc, receivables.tenant_today())
    return page(
        request,
        "customer/invoice.html",
        me,
        doc=doc,
        lines=await invoices.invoice_lines(db, doc.id),
        notes=await invoices.credit_notes_of(db, doc.id) if doc.kind == "invoice" else [],
        payments=await invoices.allocations_to(db, doc.id) if doc.kind == "invoice" else [],
        credited=credited,
        due=invoices.open_amount(doc),
        doc_status=status,
        labels=invoices.STATUS_LABELS,
        kinds=invoices.KIND_LABELS,
    )


ROUTES: list[HTTPRouteHandler] = [invoice_detail]
