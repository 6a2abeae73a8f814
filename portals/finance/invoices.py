"""Finance › Invoices (FIN-2): the list of invoices and credit notes (filters, CSV), one invoice with
its lines, VAT, credit notes and payments (links to its journal entry and its sales order), a
printable invoice, the credit note form, and the orders waiting to be invoiced.

Every rule is the services' (app/finance/services/receivables.py, credit_notes.py); refused
input re-renders the form with the errors beside their fields, status 422, nothing written.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from babel import numbers
from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm import interface as crm
from app.finance.models import Entry, Invoice, TaxRate
from app.finance.services import credit_notes, invoices, receivables
from app.kernel import i18n
from app.kernel.errors import DomainError, FieldError, NotFound
from app.kernel.i18n import lazy, lazy_p
from app.kernel.web import DbSession
from app.security.permissions import FIN_RECEIVABLE_READ, FIN_RECEIVABLE_WRITE
from portals.exports import ExportColumn, csv_export
from portals.forms import wants_fragment
from portals.nav import NavItem, register
from portals.tables import Column, Filter, TableSpec, fetch_page, parse_query
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

BASE = "/finance/invoices"
TO_INVOICE = "/finance/orders-to-invoice"
SECTION = lazy("Finance")

register(
    NavItem(SECTION, lazy("Invoices"), BASE, FIN_RECEIVABLE_READ, icon="file", order=50),
    NavItem(SECTION, lazy("Orders to invoice"), TO_INVOICE, FIN_RECEIVABLE_READ, icon="cart", order=51),
)
TONES = {k: f"tag-{v}" if v else "" for k, v in invoices.STATUS_TONES.items()}


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _from(stmt: Select[Any], value: str) -> Select[Any]:
    day = _day(value)
    return stmt.where(Invoice.issue_date >= day) if day else stmt.where(Invoice.id < 0)


def _to(stmt: Select[Any], value: str) -> Select[Any]:
    day = _day(value)
    return stmt.where(Invoice.issue_date <= day) if day else stmt.where(Invoice.id < 0)


def _status(stmt: Select[Any], value: str) -> Select[Any]:
    return invoices.with_status(stmt, value, receivables.tenant_today())


TABLE = TableSpec(
    columns=[
        Column("number", lazy("Number"), sort=Invoice.number),
        Column("kind", lazy("Type"), sort=Invoice.kind),
        Column("customer", lazy("Customer")),
        Column("issued", lazy("Issued"), sort=Invoice.issue_date),
        Column("due", lazy("Due"), sort=Invoice.due_date),
        Column("status", lazy("Status")),
        Column("total", lazy("Total"), sort=Invoice.total, align="right"),
        Column("open", lazy_p("amount still owed", "Open"), sort=invoices.OPEN_AMOUNT, align="right"),
    ],
    default_sort="issued",
    default_direction="desc",
    filters=[
        Filter(
            "kind", lazy("Type"), lambda s, v: s.where(Invoice.kind == v), list(invoices.KIND_LABELS.items())
        ),
        Filter(
            "status",
            lazy("Status"),
            _status,
            [(k, invoices.STATUS_LABELS[k]) for k in invoices.STATUS_FILTERS],
        ),
        Filter(
            "customer",
            lazy("Customer"),
            lambda s, v: s.where(Invoice.account_id.in_(crm.account_ids_named(v))),
        ),
        Filter("from", lazy("Issued from (YYYY-MM-DD)"), _from),
        Filter("to", lazy("Issued until (YYYY-MM-DD)"), _to),
    ],
    search=lambda s, q: s.where(func.lower(Invoice.number).contains(q.lower(), autoescape=True)),
    tiebreak=Invoice.id.desc(),
)


def _listed() -> Select[Any]:
    return select(Invoice)


@get(BASE, opt=perm(FIN_RECEIVABLE_READ))
async def invoice_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    await receivables.finance_settings(db)
    page = await fetch_page(db, _listed(), TABLE, parse_query(request.query_params, TABLE))
    ctx: dict[str, Any] = {
        "page": page,
        "base": BASE,
        "names": await crm.account_names(db, {i.account_id for i in page.rows}),
        "today": receivables.tenant_today(),
        "status_of": invoices.status_of,
        "open_amount": invoices.open_amount,
        "labels": invoices.STATUS_LABELS,
        "kinds": invoices.KIND_LABELS,
        "tones": TONES,
    }
    if wants_fragment(request):
        return render(request, "finance/_invoices_table.html", **ctx)
    return render(request, "finance/invoices.html", **ctx)


@get(f"{BASE}/export.csv", opt=perm(FIN_RECEIVABLE_READ))
async def invoice_export(request: Request[Any, Any, Any], db: DbSession) -> Response[bytes]:
    """The list's invoices with its filters, search and sort."""
    today = receivables.tenant_today()
    stmt = _listed()
    ids = (await db.execute(stmt.with_only_columns(Invoice.account_id).distinct())).scalars()
    names = await crm.account_names(db, set(ids))
    columns = [
        ExportColumn(lazy("Number"), lambda i: i.number),
        ExportColumn(lazy("Type"), lambda i: i18n.gettext(invoices.KIND_LABELS[i.kind])),
        ExportColumn(lazy("Customer"), lambda i: names.get(i.account_id, "")),
        ExportColumn(lazy("Issued"), lambda i: i.issue_date.isoformat()),
        ExportColumn(lazy("Due"), lambda i: i.due_date.isoformat() if i.kind == "invoice" else ""),
        ExportColumn(
            lazy("Status"), lambda i: i18n.gettext(invoices.STATUS_LABELS[invoices.status_of(i, today)])
        ),
        ExportColumn(lazy("Currency"), lambda i: i.currency),
        ExportColumn(lazy("Net"), lambda i: f"{i.subtotal:.2f}"),
        ExportColumn(lazy("VAT"), lambda i: f"{i.tax_total:.2f}"),
        ExportColumn(lazy("Total"), lambda i: f"{i.total:.2f}"),
        ExportColumn(lazy("Paid"), lambda i: f"{i.paid:.2f}"),
        ExportColumn(lazy("Credited"), lambda i: f"{i.credited:.2f}" if i.kind == "invoice" else ""),
        ExportColumn(lazy_p("amount still owed", "Open"), lambda i: f"{invoices.open_amount(i):.2f}"),
        ExportColumn(lazy("Sales order"), lambda i: i.memo if i.kind == "invoice" else ""),
    ]
    return await csv_export(request, db, stmt, TABLE, columns, "invoices")


def unit_price(value: Decimal) -> str:
    """A unit price with two to four decimals in the reader's notation: 79.9 → 79.90, 0.0125 stays."""
    return numbers.format_decimal(Decimal(value), format="#,##0.00##", locale=i18n.babel_locale())


def vat_summary(lines: list[Any], rates: dict[int, TaxRate]) -> list[tuple[str, Decimal, Decimal]]:
    """(rate label, net, VAT) per tax rate of a document's lines."""
    out: dict[str, list[Decimal]] = {}
    for line in lines:
        rate = rates.get(line.tax_rate_id)
        label = rate.name if rate else f"{line.tax_rate.normalize():f} %"
        net_tax = out.setdefault(label, [Decimal("0.00"), Decimal("0.00")])
        net_tax[0] += line.net_amount
        net_tax[1] += line.tax_amount
    return [(label, net, tax) for label, (net, tax) in out.items()]


async def document_context(db: AsyncSession, invoice: Invoice) -> dict[str, Any]:
    """What the invoice page and its printable view show."""
    lines = await invoices.invoice_lines(db, invoice.id)
    rates = {
        r.id: r
        for r in (
            await db.execute(
                select(TaxRate).where(TaxRate.id.in_({ln.tax_rate_id for ln in lines if ln.tax_rate_id}))
            )
        ).scalars()
    }
    credited = await db.get(Invoice, invoice.credited_invoice_id) if invoice.credited_invoice_id else None
    names = await crm.account_names(db, {invoice.account_id})
    return {
        "doc": invoice,
        "lines": lines,
        "vat": vat_summary(lines, rates),
        "customer_name": names.get(invoice.account_id, ""),
        "credited": credited,
        "doc_status": invoices.status_of(invoice, receivables.tenant_today()),
        "open": invoices.open_amount(invoice),
        "labels": invoices.STATUS_LABELS,
        "kinds": invoices.KIND_LABELS,
        "tones": TONES,
        "unit_price": unit_price,
    }


@get(f"{BASE}/{{invoice_id:int}}", opt=perm(FIN_RECEIVABLE_READ, resource="fin_invoices"))
async def invoice_detail(
    request: Request[Any, Any, Any], db: DbSession, invoice_id: FromPath[int]
) -> Response[Any]:
    invoice = await invoices.get_invoice(db, invoice_id)
    entry = await db.get(Entry, invoice.entry_id) if invoice.entry_id else None
    return render(
        request,
        "finance/invoice_detail.html",
        entry=entry,
        notes=await invoices.credit_notes_of(db, invoice.id),
        allocations=await invoices.allocations_to(db, invoice.id),
        **(await document_context(db, invoice)),
    )


@get(f"{BASE}/{{invoice_id:int}}/print", opt=perm(FIN_RECEIVABLE_READ, resource="fin_invoices"))
async def invoice_print(
    request: Request[Any, Any, Any], db: DbSession, invoice_id: FromPath[int]
) -> Response[Any]:
    invoice = await invoices.get_invoice(db, invoice_id)
    return render(
        request,
        "finance/invoice_print.html",
        back_url=f"{BASE}/{invoice.id}",
        **(await document_context(db, invoice)),
    )


# --- credit notes ------------------------------------------------------------------------------


async def _credit_form(
    request: Request[Any, Any, Any], db: AsyncSession, invoice: Invoice, form: FormState, status: int = 200
) -> Response[Any]:
    return render(
        request,
        "finance/credit_note_form.html",
        status=status,
        form=form,
        left=await credit_notes.left_to_credit(db, invoice.id),
        **(await document_context(db, invoice)),
    )


@get(f"{BASE}/{{invoice_id:int}}/credit-note", opt=perm(FIN_RECEIVABLE_WRITE, resource="fin_invoices"))
async def credit_note_new(
    request: Request[Any, Any, Any], db: DbSession, invoice_id: FromPath[int]
) -> Response[Any]:
    invoice = await invoices.get_invoice(db, invoice_id, kind="invoice")
    today = receivables.tenant_today()
    return await _credit_form(request, db, invoice, FormState({"issue_date": today.isoformat()}))


@post(f"{BASE}/{{invoice_id:int}}/credit-notes", opt=perm(FIN_RECEIVABLE_WRITE, resource="fin_invoices"))
async def credit_note_create(
    request: Request[Any, Any, Any], db: DbSession, invoice_id: FromPath[int]
) -> Response[Any]:
    invoice = await invoices.get_invoice(db, invoice_id, kind="invoice")
    form = await form_data(request)
    whole = str(form.get("whole") or "") == "1"
    rows = sorted(
        int(key.split(".")[1])
        for key, value in form.items()
        if key.startswith("lines.")
        and key.endswith(".amount")
        and key.split(".")[1].isdigit()
        and str(value).strip()
    )
    lines = None if whole else [{"line_no": n, "amount": form[f"lines.{n}.amount"]} for n in rows]
    try:
        note = await credit_notes.issue_credit_note(
            db,
            principal(request),
            invoice.id,
            lines=lines,
            on=form.get("issue_date"),
            memo=form.get("memo") or "",
        )
    except DomainError as exc:
        await db.rollback()
        invoice = await invoices.get_invoice(db, invoice_id)
        return await _credit_form(
            request, db, invoice, FormState(form, by_row(exc, "lines", rows, "line_no")), 422
        )
    flash(request, "success", i18n.gettext("The credit note {number} is issued.", number=note.number))
    return redirect(f"{BASE}/{note.id}", request)


def by_row(exc: DomainError, prefix: str, rows: list[int], key_field: str) -> DomainError:
    """Field errors name the n-th submitted row (``lines.1.amount``); the form names its rows by
    the record they are for (``lines.<line_no>.amount``), so each error shows beside its row."""
    fixed = []
    for e in exc.errors:
        parts = e.field.split(".")
        if len(parts) == 3 and parts[0] == prefix and parts[1].isdigit() and int(parts[1]) < len(rows):
            field = parts[2] if parts[2] != key_field else "amount"
            fixed.append(FieldError(f"{prefix}.{rows[int(parts[1])]}.{field}", e.message, e.params))
        else:
            fixed.append(e)
    exc.errors = fixed
    return exc


# --- orders waiting for their invoice ----------------------------------------------------------


async def _to_invoice(
    request: Request[Any, Any, Any], db: AsyncSession, *, error: DomainError | None = None, status: int = 200
) -> Response[Any]:
    settings = await receivables.finance_settings(db)
    orders = await crm.orders_to_invoice(db)
    for order in orders:
        # A tenant invoicing on delivery waits for it; an order confirmed before that setting was
        # chosen can still be invoiced by hand.
        order["waits"] = settings.invoice_on == "fulfilled" and order["status"] == "confirmed"
    return render(
        request,
        "finance/orders_to_invoice.html",
        status=status,
        orders=orders,
        settings=settings,
        form=FormState({}, error),
        today=receivables.tenant_today(),
    )


@get(TO_INVOICE, opt=perm(FIN_RECEIVABLE_READ))
async def orders_to_invoice(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    return await _to_invoice(request, db)


@post("/finance/orders/{order_id:int}/invoice", opt=perm(FIN_RECEIVABLE_WRITE, resource="crm_sales_orders"))
async def order_invoice(
    request: Request[Any, Any, Any], db: DbSession, order_id: FromPath[int]
) -> Response[Any]:
    """Invoice this order now (today, or the date typed)."""
    form = await form_data(request)
    raw = str(form.get("issue_date") or "").strip()
    try:
        invoice = await receivables.invoice_order(db, principal(request), order_id, on=raw or None)
    except NotFound:
        raise
    except DomainError as exc:
        await db.rollback()
        return await _to_invoice(request, db, error=exc, status=422)
    flash(request, "success", i18n.gettext("The invoice {number} is issued.", number=invoice.number))
    return redirect(f"{BASE}/{invoice.id}", request)


ROUTES: list[HTTPRouteHandler] = [
    invoice_list,
    invoice_export,
    invoice_detail,
    invoice_print,
    credit_note_new,
    credit_note_create,
    orders_to_invoice,
    order_invoice,
]
