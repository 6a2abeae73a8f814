"""Finance › Suppliers: the list (search, active filter), a supplier's page (what is owed, open
bills, payments), create / edit, deactivate / reactivate, delete (only one without documents)
and the statement for a date range."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.models import Payment, Supplier
from app.finance.services import payables_reports, supplier_payments, suppliers
from app.finance.services.payables_input import tenant_today
from app.kernel import i18n
from app.kernel.errors import DomainError, FieldError, ValidationFailed
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import FIN_PAYABLE_READ, FIN_PAYABLE_WRITE
from portals.finance.payables_format import CSS, KIND_LABELS, money, parse_day
from portals.forms import wants_fragment
from portals.tables import Column, Filter, TableSpec, fetch_page, parse_query
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

BASE = "/finance/suppliers"
FIELDS = suppliers.FIELDS


def _active(stmt: Select[Any], value: str) -> Select[Any]:
    return stmt.where(Supplier.active.is_(value == "yes"))


TABLE = TableSpec(
    columns=[
        Column("code", lazy("Code"), sort=Supplier.code),
        Column("name", lazy("Name"), sort=Supplier.name),
        Column("tax_id", lazy("Tax ID")),
        Column("terms", lazy("Terms (days)"), sort=Supplier.payment_terms_days, align="right"),
        Column("balance", lazy("Owed"), align="right"),
        Column("status", lazy("Status"), sort=Supplier.active),
    ],
    default_sort="name",
    filters=[
        Filter("active", lazy("Status"), _active, [("yes", lazy("Active")), ("no", lazy("Deactivated"))])
    ],
    search=suppliers.search_suppliers,
    tiebreak=Supplier.id,
)


@get(BASE, opt=perm(FIN_PAYABLE_READ))
async def supplier_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    page = await fetch_page(db, select(Supplier), TABLE, parse_query(request.query_params, TABLE))
    ctx: dict[str, Any] = {
        "page": page,
        "base": BASE,
        "balances": await payables_reports.supplier_balances(db, [s.id for s in page.rows]),
        "money": money,
    }
    if wants_fragment(request):
        return render(request, "finance/_suppliers_table.html", **ctx)
    return render(request, "finance/suppliers.html", **ctx)


@get(f"{BASE}/{{supplier_id:int}}", opt=perm(FIN_PAYABLE_READ, resource="fin_suppliers"))
async def supplier_detail(
    request: Request[Any, Any, Any], db: DbSession, supplier_id: FromPath[int]
) -> Response[Any]:
    supplier = await suppliers.get_supplier(db, supplier_id)
    open_bills, advances = (await payables_reports.supplier_balances(db, [supplier.id]))[supplier.id]
    payments = (
        await db.execute(
            select(Payment)
            .where(Payment.supplier_id == supplier.id, Payment.direction == "out")
            .order_by(Payment.payment_date.desc(), Payment.id.desc())
            .limit(20)
        )
    ).scalars()
    return render(
        request,
        "finance/supplier.html",
        supplier=supplier,
        open_bills=await supplier_payments.open_bills(db, supplier.id),
        payments=list(payments),
        owed=open_bills,
        advances=advances,
        can_delete=not await suppliers.has_documents(db, supplier.id),
        today=tenant_today(),
        money=money,
        css=CSS,
    )


async def _form(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    form: FormState,
    *,
    supplier: Supplier | None = None,
    status: int = 200,
) -> Response[Any]:
    return render(
        request,
        "finance/supplier_form.html",
        status=status,
        form=form,
        supplier=supplier,
        base_currency=await suppliers.base_currency(db),
    )


def _input(form: dict[str, Any]) -> dict[str, Any]:
    return {k: form.get(k) for k in FIELDS}


@get(f"{BASE}/new", opt=perm(FIN_PAYABLE_WRITE))
async def supplier_new(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    defaults = {
        "currency": await suppliers.base_currency(db),
        "payment_terms_days": await suppliers.default_terms(db),
    }
    return await _form(request, db, FormState(defaults))


@post(BASE, opt=perm(FIN_PAYABLE_WRITE))
async def supplier_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    try:
        supplier = await suppliers.create_supplier(db, principal(request), _input(form))
    except DomainError as exc:
        await db.rollback()
        return await _form(request, db, FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("The supplier {name} is created.", name=supplier.name))
    return redirect(f"{BASE}/{supplier.id}", request)


@get(f"{BASE}/{{supplier_id:int}}/edit", opt=perm(FIN_PAYABLE_WRITE, resource="fin_suppliers"))
async def supplier_edit(
    request: Request[Any, Any, Any], db: DbSession, supplier_id: FromPath[int]
) -> Response[Any]:
    supplier = await suppliers.get_supplier(db, supplier_id)
    values = {k: getattr(supplier, k) if getattr(supplier, k) is not None else "" for k in FIELDS}
    return await _form(request, db, FormState(values), supplier=supplier)


@post(f"{BASE}/{{supplier_id:int}}", opt=perm(FIN_PAYABLE_WRITE, resource="fin_suppliers"))
async def supplier_update(
    request: Request[Any, Any, Any], db: DbSession, supplier_id: FromPath[int]
) -> Response[Any]:
    supplier = await suppliers.get_supplier(db, supplier_id)  # 404 before the form is judged
    form = await form_data(request)
    try:
        await suppliers.update_supplier(db, principal(request), supplier.id, _input(form))
    except DomainError as exc:
        await db.rollback()
        supplier = await suppliers.get_supplier(db, supplier_id)
        return await _form(request, db, FormState(form, exc), supplier=supplier, status=422)
    flash(request, "success", i18n.gettext("The changes to {name} are saved.", name=supplier.name))
    return redirect(f"{BASE}/{supplier.id}", request)


async def _set_active(
    request: Request[Any, Any, Any], db: AsyncSession, supplier_id: int, active: bool
) -> Response[Any]:
    supplier = await suppliers.set_supplier_active(db, principal(request), supplier_id, active)
    message = "{name} is active again." if active else "{name} is deactivated: no new bills can be entered."
    flash(request, "success", i18n.gettext(message, name=supplier.name))
    return redirect(f"{BASE}/{supplier.id}", request)


@post(f"{BASE}/{{supplier_id:int}}/deactivate", opt=perm(FIN_PAYABLE_WRITE, resource="fin_suppliers"))
async def supplier_deactivate(
    request: Request[Any, Any, Any], db: DbSession, supplier_id: FromPath[int]
) -> Response[Any]:
    return await _set_active(request, db, supplier_id, False)


@post(f"{BASE}/{{supplier_id:int}}/activate", opt=perm(FIN_PAYABLE_WRITE, resource="fin_suppliers"))
async def supplier_activate(
    request: Request[Any, Any, Any], db: DbSession, supplier_id: FromPath[int]
) -> Response[Any]:
    return await _set_active(request, db, supplier_id, True)


@post(f"{BASE}/{{supplier_id:int}}/delete", opt=perm(FIN_PAYABLE_WRITE, resource="fin_suppliers"))
async def supplier_delete(
    request: Request[Any, Any, Any], db: DbSession, supplier_id: FromPath[int]
) -> Response[Any]:
    supplier = await suppliers.get_supplier(db, supplier_id)
    name = supplier.name
    try:
        await suppliers.delete_supplier(db, principal(request), supplier.id)
    except DomainError as exc:
        await db.rollback()
        flash(request, "error", i18n.gettext(exc.message, **exc.params))
        return redirect(f"{BASE}/{supplier_id}", request)
    flash(request, "success", i18n.gettext("The supplier {name} is deleted.", name=name))
    return redirect(BASE, request)


@get(f"{BASE}/{{supplier_id:int}}/statement", opt=perm(FIN_PAYABLE_READ, resource="fin_suppliers"))
async def supplier_statement(
    request: Request[Any, Any, Any], db: DbSession, supplier_id: FromPath[int]
) -> Response[Any]:
    supplier = await suppliers.get_supplier(db, supplier_id)
    today = tenant_today()
    raw_from, raw_to = request.query_params.get("from"), request.query_params.get("to")
    date_to = parse_day(raw_to) or today
    date_from = parse_day(raw_from) or (date_to - timedelta(days=89))
    errors = {}
    if raw_from and parse_day(raw_from) is None:
        errors["from"] = lazy("Enter a date as YYYY-MM-DD.")
    if raw_to and parse_day(raw_to) is None:
        errors["to"] = lazy("Enter a date as YYYY-MM-DD.")
    if date_from > date_to:
        errors["from"] = lazy("The start date is after the end date.")
    form = FormState({"from": raw_from or date_from.isoformat(), "to": raw_to or date_to.isoformat()})
    statement = None
    if errors:
        form = FormState(form.values, ValidationFailed([FieldError(k, v) for k, v in errors.items()]))
    else:
        statement = await payables_reports.statement(db, supplier, date_from, date_to)
    return render(
        request,
        "finance/supplier_statement.html",
        status=422 if errors else 200,
        form=form,
        supplier=supplier,
        statement=statement,
        kind_labels=KIND_LABELS,
        money=money,
        css=CSS,
    )


ROUTES = [
    supplier_list,
    supplier_new,
    supplier_create,
    supplier_detail,
    supplier_edit,
    supplier_update,
    supplier_deactivate,
    supplier_activate,
    supplier_delete,
    supplier_statement,
]
