"""Sales › Sales orders (CRM-4): the list by status and period (and its CSV), an order's page
with its status timeline, draft-only line edits, confirm / fulfil / cancel, and a printable
order confirmation. The customer's view of the same orders is the customer portal's.

"Record invoice" is offered only to people who may issue invoices (``fin.receivable.write``):
finance sets "invoiced" itself once it posts the receivable (app/crm/interface.py), and until
then the accountant records an invoice issued outside Tessera with its number. A sales rep never
marks an order invoiced: the status would then promise an invoice nobody issued.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm import interface as crm_interface
from app.crm.models import Account, Quote, SalesOrder
from app.crm.services import order_status, orders
from app.crm.services.calendar import tenant_today
from app.kernel import i18n
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.models import User
from app.security.permissions import CRM_ORDER_CONFIRM, CRM_ORDER_READ, CRM_ORDER_WRITE, FIN_RECEIVABLE_WRITE
from app.security.principal import Principal
from app.security.record_rules import can_write, restrict
from portals.exports import ExportColumn
from portals.forms import optional_id, viewer_tz, wants_fragment
from portals.nav import NavItem, register
from portals.sales import documents
from portals.sales.quotes import document_context, form_choices, line_state, prefill
from portals.tables import Column, Filter, TableSpec, fetch_page, parse_query
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

BASE = "/sales/orders"

register(NavItem(lazy("Sales"), lazy("Sales orders"), BASE, CRM_ORDER_READ, icon="cart", order=55))

PERIODS = {
    "this_month": lazy("This month"),
    "last_month": lazy("Last month"),
    "this_quarter": lazy("This quarter"),
    "this_year": lazy("This year"),
    "last_365": lazy("Last 12 months"),
}


def period_bounds(key: str, today: date) -> tuple[date, date]:
    """First and last order date of a period, both included."""
    month_start = today.replace(day=1)
    if key == "last_month":
        end = month_start - timedelta(days=1)
        return end.replace(day=1), end
    if key == "this_quarter":
        return today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1), today
    if key == "this_year":
        return today.replace(month=1, day=1), today
    if key == "last_365":
        return today - timedelta(days=364), today
    return month_start, today


def _period(stmt: Select[Any], key: str) -> Select[Any]:
    start, end = period_bounds(key, tenant_today())
    return stmt.where(SalesOrder.order_date >= start, SalesOrder.order_date <= end)


def _search(stmt: Select[Any], q: str) -> Select[Any]:
    like = f"%{q.lower()}%"
    return stmt.where(
        or_(
            func.lower(SalesOrder.number).like(like),
            func.lower(Account.name).like(like),
            func.lower(SalesOrder.customer_reference).like(like),
        )
    )


def _owner(stmt: Select[Any], value: str) -> Select[Any]:
    return stmt.where(SalesOrder.owner_id == int(value)) if value.isdigit() else stmt.where(SalesOrder.id < 0)


def listed(p: Principal) -> Select[Any]:
    stmt: Any = (
        select(SalesOrder, Account.name.label("account_name"), User.full_name.label("owner_name"))
        .join(Account, Account.id == SalesOrder.account_id)
        .outerjoin(User, User.id == SalesOrder.owner_id)
    )
    return restrict(stmt, SalesOrder, p, CRM_ORDER_READ)


def table(owners: list[tuple[int, str]] | None = None) -> TableSpec:
    return TableSpec(
        columns=[
            Column("number", lazy("Order"), sort=SalesOrder.number),
            Column("date", lazy("Order date"), sort=SalesOrder.order_date),
            Column("account", lazy("Account"), sort=Account.name),
            Column("reference", lazy("Customer reference")),
            Column("status", lazy("Status"), sort=SalesOrder.status),
            Column("delivery", lazy("Delivery by"), sort=SalesOrder.requested_delivery_date),
            Column("total", lazy("Total"), sort=SalesOrder.total, align="right"),
            Column("owner", lazy("Owner"), sort=User.full_name),
        ],
        default_sort="date",
        default_direction="desc",
        filters=[
            Filter(
                "status",
                lazy("Status"),
                lambda s, v: s.where(SalesOrder.status == v),
                list(orders.STATUS_LABELS.items()),
            ),
            Filter("period", lazy("Period"), _period, list(PERIODS.items())),
            Filter(
                "owner", lazy("Owner"), _owner, [(str(i), n) for i, n in owners] if owners is not None else []
            ),
        ],
        search=_search,
        tiebreak=SalesOrder.id.desc(),
    )


EXPORT = [
    ExportColumn(lazy("Order"), lambda r: r[0].number),
    ExportColumn(lazy("Order date"), lambda r: r[0].order_date.isoformat()),
    ExportColumn(lazy("Account"), lambda r: r.account_name),
    ExportColumn(lazy("Customer reference"), lambda r: r[0].customer_reference or ""),
    ExportColumn(lazy("Status"), lambda r: i18n.gettext(orders.STATUS_LABELS[r[0].status])),
    ExportColumn(lazy("Currency"), lambda r: r[0].currency),
    ExportColumn(lazy("Net"), lambda r: str(r[0].subtotal)),
    ExportColumn(lazy("VAT"), lambda r: str(r[0].tax_total)),
    ExportColumn(lazy("Total"), lambda r: str(r[0].total)),
    ExportColumn(lazy("Invoice"), lambda r: r[0].invoice_ref or ""),
    ExportColumn(lazy("Owner"), lambda r: r.owner_name or ""),
]


@get(BASE, opt=perm(CRM_ORDER_READ))
async def order_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    p = principal(request)
    fragment = wants_fragment(request)
    spec = table(None if fragment else await documents.owner_options(db, p, CRM_ORDER_READ))
    page = await fetch_page(db, listed(p), spec, parse_query(request.query_params, spec), scalars=False)
    ctx: dict[str, Any] = {
        "page": page,
        "base": BASE,
        "labels": orders.STATUS_LABELS,
        "tz": viewer_tz(request),
    }
    ctx.update(documents.formatters())
    if fragment:
        return render(request, "sales/_orders_table.html", **ctx)
    return render(request, "sales/orders.html", **ctx)


@get(f"{BASE}/export.csv", opt=perm(CRM_ORDER_READ))
async def order_export(request: Request[Any, Any, Any], db: DbSession) -> Response[bytes]:
    return await documents.csv_of_rows(
        request, db, listed(principal(request)), table(), EXPORT, "sales-orders"
    )


# --- create ----------------------------------------------------------------------------------


async def _new_form(
    request: Request[Any, Any, Any], db: AsyncSession, form: FormState, status: int = 200
) -> Response[Any]:
    choices = await form_choices(db, principal(request), form, optional_id(form.value("owner_id")))
    return render(request, "sales/order_form.html", status=status, form=form, **choices)


@get(f"{BASE}/new", opt=perm(CRM_ORDER_WRITE))
async def order_new(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    values = await prefill(db, principal(request), request)
    values["order_date"] = tenant_today().isoformat()
    return await _new_form(request, db, FormState(values))


@post(BASE, opt=perm(CRM_ORDER_WRITE))
async def order_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    try:
        order = await orders.create_order(db, principal(request), form)
    except DomainError as exc:
        await db.rollback()
        return await _new_form(request, db, FormState(form, exc), status=422)
    flash(
        request,
        "success",
        i18n.gettext("Sales order {number} is created. Add its lines.", number=order.number),
    )
    return redirect(f"{BASE}/{order.id}", request)


# --- the order's page ------------------------------------------------------------------------


def _details_state(order: SalesOrder) -> FormState:
    return FormState(
        {
            "requested_delivery_date": order.requested_delivery_date.isoformat()
            if order.requested_delivery_date
            else "",
            "customer_reference": order.customer_reference or "",
            "shipping_address": order.shipping_address or "",
            "contact_id": order.contact_id or "",
            "notes": order.notes,
        }
    )


async def _detail(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    order: SalesOrder,
    *,
    add_form: FormState | None = None,
    line_forms: dict[int, FormState] | None = None,
    header_form: FormState | None = None,
    cancel_form: FormState | None = None,
    invoice_form: FormState | None = None,
    action_error: str | None = None,
    status: int = 200,
) -> Response[Any]:
    p = principal(request)
    lines = await orders.order_lines(db, order.id)
    editable = order.status == "draft" and can_write(order, p, CRM_ORDER_WRITE)
    quote = await db.get(Quote, order.quote_id) if order.quote_id else None
    return render(
        request,
        "sales/order_detail.html",
        status=status,
        order=order,
        lines=lines,
        line_forms={ln.id: line_state(ln) for ln in lines} | (line_forms or {}),
        add_form=add_form or FormState({"quantity": "1"}),
        header_form=header_form or _details_state(order),
        cancel_form=cancel_form or FormState(),
        invoice_form=invoice_form or FormState(),
        contact_options=await documents.contact_options(db, p, order.account_id) if editable else [],
        product_choices=await documents.product_options(db) if editable else [],
        editable=editable,
        can_confirm=can_write(order, p, CRM_ORDER_CONFIRM),
        can_invoice=p.can(FIN_RECEIVABLE_WRITE) and order.status in ("confirmed", "fulfilled"),
        # Finance issues invoices itself (it listens to order steps): offer its "Issue the
        # invoice" instead of recording a number from outside, which would bypass the books.
        books_invoice=crm_interface.invoicing_in_books(),
        can_contract=p.can("crm.contract.write") and order.status != "cancelled",
        steps=order_status.timeline(order),
        quote=quote,
        labels=orders.STATUS_LABELS,
        action_error=action_error,
        tz=viewer_tz(request),
        **(await document_context(db, order)),
    )


@get(f"{BASE}/{{order_id:int}}", opt=perm(CRM_ORDER_READ, resource="crm_sales_orders"))
async def order_detail(
    request: Request[Any, Any, Any], db: DbSession, order_id: FromPath[int]
) -> Response[Any]:
    return await _detail(request, db, await orders.get_order(db, principal(request), order_id))


@get(f"{BASE}/{{order_id:int}}/print", opt=perm(CRM_ORDER_READ, resource="crm_sales_orders"))
async def order_print(
    request: Request[Any, Any, Any], db: DbSession, order_id: FromPath[int]
) -> Response[Any]:
    order = await orders.get_order(db, principal(request), order_id)
    return render(
        request,
        "sales/order_print.html",
        doc=order,
        lines=await orders.order_lines(db, order.id),
        kind=i18n.gettext("Order confirmation"),
        tz=viewer_tz(request),
        labels=orders.STATUS_LABELS,
        back_url=f"{BASE}/{order.id}",
        **(await document_context(db, order)),
    )


async def _refused(
    request: Request[Any, Any, Any], db: AsyncSession, order_id: int, exc: DomainError, **forms: Any
) -> Response[Any]:
    await db.rollback()
    order = await orders.get_order(db, principal(request), order_id)
    if forms and exc.errors:
        return await _detail(request, db, order, status=422, **forms)
    return await _detail(request, db, order, status=422, action_error=i18n.gettext(exc.message, **exc.params))


@post(f"{BASE}/{{order_id:int}}", opt=perm(CRM_ORDER_WRITE, resource="crm_sales_orders"))
async def order_save(
    request: Request[Any, Any, Any], db: DbSession, order_id: FromPath[int]
) -> Response[Any]:
    order = await orders.get_order(db, principal(request), order_id)
    form = await form_data(request)
    try:
        await orders.update_order(db, principal(request), order.id, form)
    except DomainError as exc:
        return await _refused(request, db, order_id, exc, header_form=FormState(form, exc))
    flash(request, "success", i18n.gettext("Sales order {number} is saved.", number=order.number))
    return redirect(f"{BASE}/{order.id}", request)


@post(f"{BASE}/{{order_id:int}}/lines", opt=perm(CRM_ORDER_WRITE, resource="crm_sales_orders"))
async def order_line_add(
    request: Request[Any, Any, Any], db: DbSession, order_id: FromPath[int]
) -> Response[Any]:
    order = await orders.get_order(db, principal(request), order_id)
    form = await form_data(request)
    try:
        await orders.add_order_line(db, principal(request), order.id, form)
    except DomainError as exc:
        return await _refused(request, db, order_id, exc, add_form=FormState(form, exc))
    return redirect(f"{BASE}/{order.id}#lines", request)


@post("/sales/order-lines/{line_id:int}", opt=perm(CRM_ORDER_WRITE, resource="crm_sales_order_lines"))
async def order_line_save(
    request: Request[Any, Any, Any], db: DbSession, line_id: FromPath[int]
) -> Response[Any]:
    order, line = await orders.get_order_line(db, principal(request), line_id)
    form = await form_data(request)
    try:
        await orders.update_order_line(db, principal(request), order.id, line.id, form)
    except DomainError as exc:
        return await _refused(request, db, order.id, exc, line_forms={line_id: FormState(form, exc)})
    return redirect(f"{BASE}/{order.id}#lines", request)


@post("/sales/order-lines/{line_id:int}/delete", opt=perm(CRM_ORDER_WRITE, resource="crm_sales_order_lines"))
async def order_line_remove(
    request: Request[Any, Any, Any], db: DbSession, line_id: FromPath[int]
) -> Response[Any]:
    order, line = await orders.get_order_line(db, principal(request), line_id)
    try:
        await orders.remove_order_line(db, principal(request), order.id, line.id)
    except DomainError as exc:
        return await _refused(request, db, order.id, exc)
    return redirect(f"{BASE}/{order.id}#lines", request)


# --- status ----------------------------------------------------------------------------------


@post(f"{BASE}/{{order_id:int}}/confirm", opt=perm(CRM_ORDER_CONFIRM, resource="crm_sales_orders"))
async def order_confirm(
    request: Request[Any, Any, Any], db: DbSession, order_id: FromPath[int]
) -> Response[Any]:
    order = await orders.get_order(db, principal(request), order_id)
    try:
        await order_status.confirm_order(db, principal(request), order.id)
    except DomainError as exc:
        return await _refused(request, db, order_id, exc)
    flash(request, "success", i18n.gettext("Sales order {number} is confirmed.", number=order.number))
    return redirect(f"{BASE}/{order.id}", request)


@post(f"{BASE}/{{order_id:int}}/fulfil", opt=perm(CRM_ORDER_CONFIRM, resource="crm_sales_orders"))
async def order_fulfil(
    request: Request[Any, Any, Any], db: DbSession, order_id: FromPath[int]
) -> Response[Any]:
    order = await orders.get_order(db, principal(request), order_id)
    try:
        await order_status.fulfil_order(db, principal(request), order.id)
    except DomainError as exc:
        return await _refused(request, db, order_id, exc)
    flash(
        request, "success", i18n.gettext("Sales order {number} is marked as delivered.", number=order.number)
    )
    return redirect(f"{BASE}/{order.id}", request)


@post(f"{BASE}/{{order_id:int}}/cancel", opt=perm(CRM_ORDER_CONFIRM, resource="crm_sales_orders"))
async def order_cancel(
    request: Request[Any, Any, Any], db: DbSession, order_id: FromPath[int]
) -> Response[Any]:
    order = await orders.get_order(db, principal(request), order_id)
    form = await form_data(request)
    try:
        await order_status.cancel_order(db, principal(request), order.id, form.get("reason"))
    except DomainError as exc:
        return await _refused(request, db, order_id, exc, cancel_form=FormState(form, exc))
    flash(request, "success", i18n.gettext("Sales order {number} is cancelled.", number=order.number))
    return redirect(f"{BASE}/{order.id}", request)


@post(f"{BASE}/{{order_id:int}}/invoiced", opt=perm(FIN_RECEIVABLE_WRITE, resource="crm_sales_orders"))
async def order_invoiced(
    request: Request[Any, Any, Any], db: DbSession, order_id: FromPath[int]
) -> Response[Any]:
    order = await orders.get_order(db, principal(request), order_id)  # record rules first
    form = await form_data(request)
    try:
        await order_status.mark_invoiced(db, order.id, str(form.get("invoice_ref") or ""))
    except DomainError as exc:
        return await _refused(request, db, order_id, exc, invoice_form=FormState(form, exc))
    flash(request, "success", i18n.gettext("Sales order {number} is invoiced.", number=order.number))
    return redirect(f"{BASE}/{order.id}", request)


ROUTES = [
    order_list,
    order_export,
    order_new,
    order_create,
    order_detail,
    order_print,
    order_save,
    order_line_add,
    order_line_save,
    order_line_remove,
    order_confirm,
    order_fulfil,
    order_cancel,
    order_invoiced,
]
