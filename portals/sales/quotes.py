"""Sales › Quotes (CRM-4): the list (and its CSV), a quote built line by line, its status
(send, accept, reject, back to draft), "Create sales order" and a printable page.

Every read starts from the record rules (``quotes.visible_quotes``): a rep sees their own quotes,
a manager the team's. Line forms post to ``/sales/quote-lines/{id}`` so each line is addressed by
its own id.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, Contact, Opportunity, PriceList, Quote, SalesOrder
from app.crm.services import orders, quotes, reps
from app.crm.services.calendar import tenant_today
from app.crm.services.opportunities import base_currency
from app.kernel import i18n
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.models import User
from app.security.permissions import CRM_ORDER_READ, CRM_ORDER_WRITE
from app.security.principal import Principal
from app.security.record_rules import can_write, restrict
from portals.exports import ExportColumn
from portals.forms import optional_id, viewer_tz, wants_fragment
from portals.nav import NavItem, register
from portals.sales import documents
from portals.tables import Column, Filter, TableSpec, fetch_page, parse_query
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

BASE = "/sales/quotes"

register(NavItem(lazy("Sales"), lazy("Quotes"), BASE, CRM_ORDER_READ, icon="file", order=50))


def listed(p: Principal) -> Select[Any]:
    stmt: Any = (
        select(Quote, Account.name.label("account_name"), User.full_name.label("owner_name"))
        .join(Account, Account.id == Quote.account_id)
        .outerjoin(User, User.id == Quote.owner_id)
    )
    return restrict(stmt, Quote, p, CRM_ORDER_READ)


def _search(stmt: Select[Any], q: str) -> Select[Any]:
    like = f"%{q.lower()}%"
    return stmt.where(or_(func.lower(Quote.number).like(like), func.lower(Account.name).like(like)))


def _owner(stmt: Select[Any], value: str) -> Select[Any]:
    return stmt.where(Quote.owner_id == int(value)) if value.isdigit() else stmt.where(Quote.id < 0)


def table(owners: list[tuple[int, str]] | None = None) -> TableSpec:
    return TableSpec(
        columns=[
            Column("number", lazy("Quote"), sort=Quote.number),
            Column("account", lazy("Account"), sort=Account.name),
            Column("status", lazy("Status"), sort=Quote.status),
            Column("valid_until", lazy("Valid until"), sort=Quote.valid_until),
            Column("total", lazy("Total"), sort=Quote.total, align="right"),
            Column("owner", lazy("Owner"), sort=User.full_name),
            Column("updated", lazy("Updated"), sort=Quote.updated_at),
        ],
        default_sort="updated",
        default_direction="desc",
        filters=[
            Filter(
                "status",
                lazy("Status"),
                lambda s, v: s.where(Quote.status == v),
                list(quotes.STATUS_LABELS.items()),
            ),
            Filter(
                "owner", lazy("Owner"), _owner, [(str(i), n) for i, n in owners] if owners is not None else []
            ),
        ],
        search=_search,
        tiebreak=Quote.id.desc(),
    )


EXPORT = [
    ExportColumn(lazy("Quote"), lambda r: r[0].number),
    ExportColumn(lazy("Account"), lambda r: r.account_name),
    ExportColumn(lazy("Status"), lambda r: i18n.gettext(quotes.STATUS_LABELS[r[0].status])),
    ExportColumn(lazy("Valid until"), lambda r: r[0].valid_until.isoformat() if r[0].valid_until else ""),
    ExportColumn(lazy("Currency"), lambda r: r[0].currency),
    ExportColumn(lazy("Net"), lambda r: str(r[0].subtotal)),
    ExportColumn(lazy("VAT"), lambda r: str(r[0].tax_total)),
    ExportColumn(lazy("Total"), lambda r: str(r[0].total)),
    ExportColumn(lazy("Owner"), lambda r: r.owner_name or ""),
]


@get(BASE, opt=perm(CRM_ORDER_READ))
async def quote_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    p = principal(request)
    fragment = wants_fragment(request)
    spec = table(None if fragment else await documents.owner_options(db, p, CRM_ORDER_READ))
    page = await fetch_page(db, listed(p), spec, parse_query(request.query_params, spec), scalars=False)
    ctx: dict[str, Any] = {
        "page": page,
        "base": BASE,
        "labels": quotes.STATUS_LABELS,
        "tz": viewer_tz(request),
    }
    ctx.update(documents.formatters())
    if fragment:
        return render(request, "sales/_quotes_table.html", **ctx)
    return render(request, "sales/quotes.html", **ctx)


@get(f"{BASE}/export.csv", opt=perm(CRM_ORDER_READ))
async def quote_export(request: Request[Any, Any, Any], db: DbSession) -> Response[bytes]:
    return await documents.csv_of_rows(request, db, listed(principal(request)), table(), EXPORT, "quotes")


# --- pickers (also used by the order form) ---------------------------------------------------


@get(f"{BASE}/account-options", opt=perm(CRM_ORDER_WRITE))
async def account_picker(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    q = str(request.query_params.get("account_q") or "").strip()[:100]
    options = await documents.account_options(db, principal(request), q)
    blank = None if options else i18n.gettext("No account matches")
    return render(request, "sales/_order_options.html", options=options, blank=blank)


@get(f"{BASE}/contact-options", opt=perm(CRM_ORDER_WRITE))
async def contact_picker(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    account_id = optional_id(request.query_params.get("account_id"))
    options = await documents.contact_options(db, principal(request), account_id)
    return render(request, "sales/_order_options.html", options=options, blank=i18n.gettext("No contact"))


# --- create ----------------------------------------------------------------------------------


async def form_choices(
    db: AsyncSession, p: Principal, form: FormState, owner_id: int | None
) -> dict[str, Any]:
    """The choices a new quote's or order's form offers (accounts, contacts, price lists, owners)."""
    account_id = optional_id(form.value("account_id"))
    return {
        "accounts": await documents.account_options(db, p, selected=account_id),
        "contact_options": await documents.contact_options(db, p, account_id),
        "opportunity_options": await documents.opportunity_options(db, p, account_id),
        "price_list_options": await documents.price_list_options(db, tenant_today()),
        "owner_choices": await documents.owner_options(db, p, CRM_ORDER_WRITE, owner_id),
        "currency": base_currency(),
    }


async def _new_form(
    request: Request[Any, Any, Any], db: AsyncSession, form: FormState, status: int = 200
) -> Response[Any]:
    p = principal(request)
    choices = await form_choices(db, p, form, optional_id(form.value("owner_id")))
    return render(request, "sales/quote_form.html", status=status, form=form, **choices)


async def prefill(db: AsyncSession, p: Principal, request: Request[Any, Any, Any]) -> dict[str, Any]:
    """?account_id= or ?opportunity_id= from an account or deal page; the default price list."""
    values: dict[str, Any] = {"owner_id": p.id if p.kind == "user" else ""}
    opp_id = optional_id(request.query_params.get("opportunity_id"))
    opp = await db.get(Opportunity, opp_id) if opp_id else None
    if opp is not None:
        values.update(opportunity_id=opp.id, account_id=opp.account_id, currency=opp.currency)
    else:
        values["account_id"] = request.query_params.get("account_id", "")
    default = await db.scalar(
        select(PriceList.id).where(PriceList.is_default.is_(True), PriceList.currency == base_currency())
    )
    values["price_list_id"] = default or ""
    return values


@get(f"{BASE}/new", opt=perm(CRM_ORDER_WRITE))
async def quote_new(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    return await _new_form(request, db, FormState(await prefill(db, principal(request), request)))


@post(BASE, opt=perm(CRM_ORDER_WRITE))
async def quote_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    try:
        quote = await quotes.create_quote(db, principal(request), form)
    except DomainError as exc:
        await db.rollback()
        return await _new_form(request, db, FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("Quote {number} is created. Add its lines.", number=quote.number))
    return redirect(f"{BASE}/{quote.id}", request)


# --- the quote's page ------------------------------------------------------------------------


async def document_context(db: AsyncSession, doc: Any) -> dict[str, Any]:
    """What a quote's or order's page shows besides the document: account, contact, names."""
    account = await db.get(Account, doc.account_id)
    contact = await db.get(Contact, doc.contact_id) if doc.contact_id else None
    plist = await db.get(PriceList, doc.price_list_id) if doc.price_list_id else None
    owner = (await reps.user_names(db, [doc.owner_id])).get(doc.owner_id) if doc.owner_id else None
    return {
        "account": account,
        "contact": contact,
        "plist": plist,
        "owner_name": owner,
        **documents.formatters(),
    }


def line_state(line: Any) -> FormState:
    return FormState(
        {
            "quantity": documents.plain(line.quantity, 0),
            "unit_price": documents.plain(line.unit_price),
            "discount_percent": documents.plain(line.discount_percent, 0),
        }
    )


async def _detail(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    quote: Quote,
    *,
    add_form: FormState | None = None,
    line_forms: dict[int, FormState] | None = None,
    header_form: FormState | None = None,
    action_error: str | None = None,
    status: int = 200,
) -> Response[Any]:
    p = principal(request)
    lines = await quotes.quote_lines(db, quote.id)
    order_id = await db.scalar(
        orders.visible_orders(p)
        .with_only_columns(func.min(SalesOrder.id))
        .where(SalesOrder.quote_id == quote.id)
    )
    editable = quote.status == "draft" and can_write(quote, p, CRM_ORDER_WRITE)
    forms = {ln.id: line_state(ln) for ln in lines} | (line_forms or {})
    return render(
        request,
        "sales/quote_detail.html",
        status=status,
        quote=quote,
        lines=lines,
        line_forms=forms,
        add_form=add_form or FormState({"quantity": "1"}),
        header_form=header_form
        or FormState(
            {
                "valid_until": quote.valid_until.isoformat() if quote.valid_until else "",
                "contact_id": quote.contact_id or "",
                "notes": quote.notes,
            }
        ),
        contact_options=await documents.contact_options(db, p, quote.account_id),
        product_choices=await documents.product_options(db) if editable else [],
        editable=editable,
        can_act=can_write(quote, p, CRM_ORDER_WRITE),
        order_id=order_id,
        labels=quotes.STATUS_LABELS,
        action_error=action_error,
        today=tenant_today(),
        tz=viewer_tz(request),
        **(await document_context(db, quote)),
    )


@get(f"{BASE}/{{quote_id:int}}", opt=perm(CRM_ORDER_READ, resource="crm_quotes"))
async def quote_detail(
    request: Request[Any, Any, Any], db: DbSession, quote_id: FromPath[int]
) -> Response[Any]:
    return await _detail(request, db, await quotes.get_quote(db, principal(request), quote_id))


@get(f"{BASE}/{{quote_id:int}}/print", opt=perm(CRM_ORDER_READ, resource="crm_quotes"))
async def quote_print(
    request: Request[Any, Any, Any], db: DbSession, quote_id: FromPath[int]
) -> Response[Any]:
    quote = await quotes.get_quote(db, principal(request), quote_id)
    return render(
        request,
        "sales/quote_print.html",
        doc=quote,
        lines=await quotes.quote_lines(db, quote.id),
        kind=i18n.gettext("Quotation"),
        tz=viewer_tz(request),
        labels=quotes.STATUS_LABELS,
        **(await document_context(db, quote)),
    )


async def _refused(
    request: Request[Any, Any, Any], db: AsyncSession, quote_id: int, exc: DomainError, **forms: Any
) -> Response[Any]:
    await db.rollback()
    quote = await quotes.get_quote(db, principal(request), quote_id)
    if forms:
        return await _detail(request, db, quote, status=422, **forms)
    return await _detail(request, db, quote, status=422, action_error=i18n.gettext(exc.message, **exc.params))


@post(f"{BASE}/{{quote_id:int}}", opt=perm(CRM_ORDER_WRITE, resource="crm_quotes"))
async def quote_save(
    request: Request[Any, Any, Any], db: DbSession, quote_id: FromPath[int]
) -> Response[Any]:
    quote = await quotes.get_quote(db, principal(request), quote_id)
    form = await form_data(request)
    try:
        await quotes.update_quote(db, principal(request), quote.id, form)
    except DomainError as exc:
        if exc.errors:
            return await _refused(request, db, quote_id, exc, header_form=FormState(form, exc))
        return await _refused(request, db, quote_id, exc)
    flash(request, "success", i18n.gettext("Quote {number} is saved.", number=quote.number))
    return redirect(f"{BASE}/{quote.id}", request)


@post(f"{BASE}/{{quote_id:int}}/lines", opt=perm(CRM_ORDER_WRITE, resource="crm_quotes"))
async def quote_line_add(
    request: Request[Any, Any, Any], db: DbSession, quote_id: FromPath[int]
) -> Response[Any]:
    quote = await quotes.get_quote(db, principal(request), quote_id)
    form = await form_data(request)
    try:
        await quotes.add_quote_line(db, principal(request), quote.id, form)
    except DomainError as exc:
        if exc.errors:
            return await _refused(request, db, quote_id, exc, add_form=FormState(form, exc))
        return await _refused(request, db, quote_id, exc)
    return redirect(f"{BASE}/{quote.id}#lines", request)


@post("/sales/quote-lines/{line_id:int}", opt=perm(CRM_ORDER_WRITE, resource="crm_quote_lines"))
async def quote_line_save(
    request: Request[Any, Any, Any], db: DbSession, line_id: FromPath[int]
) -> Response[Any]:
    quote, line = await quotes.get_quote_line(db, principal(request), line_id)
    form = await form_data(request)
    try:
        await quotes.update_quote_line(db, principal(request), quote.id, line.id, form)
    except DomainError as exc:
        if exc.errors:
            return await _refused(request, db, quote.id, exc, line_forms={line_id: FormState(form, exc)})
        return await _refused(request, db, quote.id, exc)
    return redirect(f"{BASE}/{quote.id}#lines", request)


@post("/sales/quote-lines/{line_id:int}/delete", opt=perm(CRM_ORDER_WRITE, resource="crm_quote_lines"))
async def quote_line_remove(
    request: Request[Any, Any, Any], db: DbSession, line_id: FromPath[int]
) -> Response[Any]:
    quote, line = await quotes.get_quote_line(db, principal(request), line_id)
    try:
        await quotes.remove_quote_line(db, principal(request), quote.id, line.id)
    except DomainError as exc:
        return await _refused(request, db, quote.id, exc)
    return redirect(f"{BASE}/{quote.id}#lines", request)


DONE = {
    "send": lazy("Quote {number} is marked as sent."),
    "accept": lazy("Quote {number} is accepted. Create the sales order when you are ready."),
    "reject": lazy("Quote {number} is marked as rejected."),
    "expire": lazy("Quote {number} is marked as expired."),
    "reopen": lazy("Quote {number} is a draft again."),
}


@post(f"{BASE}/{{quote_id:int}}/status", opt=perm(CRM_ORDER_WRITE, resource="crm_quotes"))
async def quote_status(
    request: Request[Any, Any, Any], db: DbSession, quote_id: FromPath[int]
) -> Response[Any]:
    quote = await quotes.get_quote(db, principal(request), quote_id)
    action = str((await form_data(request)).get("action") or "")
    if action not in DONE:
        return await _detail(request, db, quote, status=422, action_error=i18n.gettext("Choose what to do."))
    try:
        await quotes.change_quote_status(db, principal(request), quote.id, action)
    except DomainError as exc:
        return await _refused(request, db, quote_id, exc)
    flash(request, "success", i18n.gettext(DONE[action], number=quote.number))
    return redirect(f"{BASE}/{quote.id}", request)


@post(f"{BASE}/{{quote_id:int}}/order", opt=perm(CRM_ORDER_WRITE, resource="crm_quotes"))
async def quote_to_order(
    request: Request[Any, Any, Any], db: DbSession, quote_id: FromPath[int]
) -> Response[Any]:
    quote = await quotes.get_quote(db, principal(request), quote_id)
    try:
        order = await orders.create_order_from_quote(db, principal(request), quote.id)
    except DomainError as exc:
        return await _refused(request, db, quote_id, exc)
    flash(
        request,
        "success",
        i18n.gettext(
            "Sales order {number} is created from quote {quote}.", number=order.number, quote=quote.number
        ),
    )
    return redirect(f"/sales/orders/{order.id}", request)


ROUTES = [
    quote_list,
    quote_export,
    account_picker,
    contact_picker,
    quote_new,
    quote_create,
    quote_detail,
    quote_print,
    quote_save,
    quote_line_add,
    quote_line_save,
    quote_line_remove,
    quote_status,
    quote_to_order,
]
