"""The customer portal's start page: what is open for the customer right now."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler

from app.crm.interface import customer_documents, has_customer_documents
from app.crm.services import customer_portal as portal
from app.crm.services.visibility import NotACustomer
from app.kernel.web import DbSession
from portals.customer.support import BASE, PORTAL, customer, page
from portals.web import render

HOME_DOCUMENTS = 5


@get(BASE, opt=PORTAL)
async def portal_home(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    try:
        me = await customer(request, db)
    except NotACustomer:
        return render(request, "customer/not_linked.html", status=403)
    documents = (
        (await customer_documents(db, me.account_id))[:HOME_DOCUMENTS] if has_customer_documents() else []
    )
    return page(
        request,
        "customer/home.html",
        me,
        summary=await portal.home_summary(db, me),
        documents=documents,
        show_documents=has_customer_documents(),
        order_labels=portal.ORDER_STATUS_LABELS,
        ticket_labels=portal.TICKET_STATUS_LABELS,
    )


ROUTES: list[HTTPRouteHandler] = [portal_home]
