"""The customer's orders and their status — and, once finance exists, their invoices."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from sqlalchemy import Select, func, or_

from app.crm.interface import customer_documents, has_customer_documents
from app.crm.models import SalesOrder
from app.crm.services import customer_portal as portal
from app.kernel import i18n
from app.kernel.errors import NotFound
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from portals.customer.support import BASE, PORTAL, customer, customer_for_record, page, portal_record
from portals.exports import ExportColumn, csv_export
from portals.forms import viewer_tz, wants_fragment
from portals.tables import Column, Filter, TableSpec, fetch_page, parse_query

ORDERS = f"{BASE}/orders"


def _with_status(stmt: Select[Any], status: str) -> Select[Any]:
    if status == "open":
        return stmt.where(SalesOrder.status.in_(portal.OPEN_ORDER_STATUSES))
    return stmt.where(SalesOrder.status == status)


def _search(stmt: Select[Any], q: str) -> Select[Any]:
    like = f"%{q.lower()}%"
    return stmt.where(
        or_(func.lower(SalesOrder.number).like(like), func.lower(SalesOrder.customer_reference).like(like))
    )


TABLE = TableSpec(
    columns=[
        Column("number", lazy("Order"), sort=SalesOrder.number),
        Column("date", lazy("Order date"), sort=SalesOrder.order_date),
        Column("reference", lazy("Your reference")),
        Column("status", lazy("Status"), sort=SalesOrder.status),
        Column("total", lazy("Total"), sort=SalesOrder.total, align="right"),
    ],
    default_sort="date",
    default_direction="desc",
    filters=[
        Filter(
            "status",
            lazy("Status"),
            _with_status,
            [("open", lazy("Open")), *portal.ORDER_STATUS_LABELS.items()],
        )
    ],
    search=_search,
    tiebreak=SalesOrder.id.desc(),
)


@get(ORDERS, opt=PORTAL)
async def order_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    me = await customer(request, db)
    rows = await fetch_page(db, portal.orders_query(me), TABLE, parse_query(request.query_params, TABLE))
    ctx = {"page": rows, "base": ORDERS, "labels": portal.ORDER_STATUS_LABELS}
    if wants_fragment(request):
        return page(request, "customer/_orders_table.html", me, **ctx)
    return page(request, "customer/orders.html", me, **ctx)


EXPORT = [
    ExportColumn(lazy("Order"), lambda o: o.number),
    ExportColumn(lazy("Order date"), lambda o: o.order_date.isoformat()),
    ExportColumn(lazy("Your reference"), lambda o: o.customer_reference or ""),
    ExportColumn(lazy("Status"), lambda o: i18n.gettext(portal.ORDER_STATUS_LABELS.get(o.status, o.status))),
    ExportColumn(lazy("Total"), lambda o: f"{o.total:.2f}"),
    ExportColumn(lazy("Currency"), lambda o: o.currency),
]


@get(f"{ORDERS}/export.csv", opt=PORTAL)
async def order_export(request: Request[Any, Any, Any], db: DbSession) -> Response[bytes]:
    """The customer's own orders exactly as the list shows them: the list's statement (their
    account's orders, never a draft) with its filter, search and sort."""
    me = await customer(request, db)
    return await csv_export(request, db, portal.orders_query(me), TABLE, EXPORT, "orders")


@get(f"{ORDERS}/{{order_id:int}}", opt=portal_record("crm_portal_orders"))
async def order_detail(
    request: Request[Any, Any, Any], db: DbSession, order_id: FromPath[int]
) -> Response[Any]:
    me = await customer_for_record(request, db, lazy("order"))
    order = await portal.get_order(db, me, order_id)
    documents = [d for d in await customer_documents(db, me.account_id) if d.sales_order_id == order.id]
    return page(
        request,
        "customer/order.html",
        me,
        order=order,
        lines=await portal.order_lines(db, order),
        steps=portal.order_timeline(order),
        labels=portal.ORDER_STATUS_LABELS,
        documents=documents,
        tz=viewer_tz(request),
    )


@get(f"{BASE}/invoices", opt=PORTAL)
async def invoice_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    """Appears once a context registers customer documents (app/crm/interface.py)."""
    if not has_customer_documents():
        raise NotFound(lazy("page"))
    me = await customer(request, db)
    return page(request, "customer/invoices.html", me, documents=await customer_documents(db, me.account_id))


ROUTES: list[HTTPRouteHandler] = [order_list, order_export, order_detail, invoice_list]
