"""Finance › Bills: the list (status, supplier and period filters, search, CSV), a bill's page
(lines with their tax and cost-centre splits, payments, the entry) with *Cancel*, and the new
bill form with line rows — a refused bill re-renders with every error beside its row, status
422, nothing written."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.errors import PayableRefused
from app.finance.models import Account, Bill, CategoryTaxRate, CostCentre, Entry, SplitRule, Supplier, TaxRate
from app.finance.services import bills, rules, suppliers
from app.finance.services.bills import BillInput, BillLineInput
from app.finance.services.payables_input import tenant_today
from app.kernel import i18n
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy, lazy_p
from app.kernel.web import DbSession
from app.security.permissions import FIN_PAYABLE_READ, FIN_PAYABLE_WRITE
from portals.exports import ExportColumn, csv_export
from portals.finance.payables_format import (
    CSS,
    STATUS_LABELS,
    STATUS_TONES,
    filled_rows,
    money,
    renumbered,
    row_count,
)
from portals.forms import wants_fragment
from portals.tables import Column, Filter, TableSpec, fetch_page, parse_query
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

BASE = "/finance/bills"
LINE_FIELDS = ("description", "net_amount", "account", "category", "tax_rate", "cost_centre", "split_rule")
MIN_ROWS, MAX_ROWS = 6, 60
PERIODS = {
    "this_month": lazy("This month"),
    "last_month": lazy("Last month"),
    "this_quarter": lazy("This quarter"),
    "this_year": lazy("This year"),
}


def _period(stmt: Select[Any], key: str) -> Select[Any]:
    today = tenant_today()
    start, end = today.replace(day=1), today
    if key == "last_month":
        end = start - timedelta(days=1)
        start = end.replace(day=1)
    elif key == "this_quarter":
        start = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    elif key == "this_year":
        start = today.replace(month=1, day=1)
    return stmt.where(Bill.bill_date >= start, Bill.bill_date <= end)


def _search(stmt: Select[Any], q: str) -> Select[Any]:
    like = f"%{q.strip()}%"
    return stmt.where(
        or_(Bill.number.ilike(like), Bill.supplier_reference.ilike(like), Supplier.name.ilike(like))
    )


def _supplier(stmt: Select[Any], value: str) -> Select[Any]:
    return stmt.where(Bill.supplier_id == int(value)) if value.isdigit() else stmt.where(Bill.id < 0)


def _status(stmt: Select[Any], value: str) -> Select[Any]:
    return bills.filter_bills(stmt, status=value, today=tenant_today())


def table(supplier_choices: list[tuple[str, str]] | None = None) -> TableSpec:
    """With ``supplier_choices`` None (fragments, exports) any supplier id is accepted."""
    return TableSpec(
        columns=[
            Column("number", lazy("Bill"), sort=Bill.number),
            Column("date", lazy("Bill date"), sort=Bill.bill_date),
            Column("supplier", lazy("Supplier"), sort=Supplier.name),
            Column("reference", lazy("Supplier's invoice")),
            Column("due", lazy("Due"), sort=Bill.due_date),
            Column("total", lazy("Total"), sort=Bill.total, align="right"),
            Column("open", lazy_p("amount still owed", "Open"), sort=Bill.total - Bill.paid, align="right"),
            Column("status", lazy("Status")),
        ],
        default_sort="date",
        default_direction="desc",
        filters=[
            Filter("status", lazy("Status"), _status, list(STATUS_LABELS.items())),
            Filter("supplier", lazy("Supplier"), _supplier, supplier_choices or []),
            Filter("period", lazy("Period"), _period, list(PERIODS.items())),
        ],
        search=_search,
        tiebreak=Bill.id.desc(),
    )


def _listed() -> Select[Any]:
    return bills.bills_stmt()


def _status_text(b: Bill) -> str:
    return i18n.gettext(STATUS_LABELS[bills.bill_status(b, tenant_today())])


EXPORT = [
    ExportColumn(lazy("Bill"), lambda r: r[0].number),
    ExportColumn(lazy("Bill date"), lambda r: r[0].bill_date.isoformat()),
    ExportColumn(lazy("Supplier code"), lambda r: r[1].code),
    ExportColumn(lazy("Supplier"), lambda r: r[1].name),
    ExportColumn(lazy("Supplier's invoice"), lambda r: r[0].supplier_reference),
    ExportColumn(lazy("Due"), lambda r: r[0].due_date.isoformat()),
    ExportColumn(lazy("Currency"), lambda r: r[0].currency),
    ExportColumn(lazy("Net"), lambda r: str(r[0].subtotal)),
    ExportColumn(lazy("VAT"), lambda r: str(r[0].tax_total)),
    ExportColumn(lazy("Total"), lambda r: str(r[0].total)),
    ExportColumn(lazy("Paid"), lambda r: str(r[0].paid)),
    ExportColumn(
        lazy_p("amount still owed", "Open"),
        lambda r: str(r[0].total - r[0].paid) if r[0].cancelled_on is None else "0.00",
    ),
    ExportColumn(lazy("Status"), lambda r: _status_text(r[0])),
    ExportColumn(lazy("Cancelled on"), lambda r: r[0].cancelled_on.isoformat() if r[0].cancelled_on else ""),
]


async def _supplier_choices(db: AsyncSession, *, active_only: bool = False) -> list[tuple[str, str]]:
    return [
        (str(s.id), f"{s.name} ({s.code})")
        for s in await suppliers.supplier_choices(db, active_only=active_only)
    ]


@get(BASE, opt=perm(FIN_PAYABLE_READ))
async def bill_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    fragment = wants_fragment(request)
    spec = table(None if fragment else await _supplier_choices(db))
    page = await fetch_page(db, _listed(), spec, parse_query(request.query_params, spec), scalars=False)
    ctx: dict[str, Any] = {
        "page": page,
        "base": BASE,
        "today": tenant_today(),
        "status_of": bills.bill_status,
        "labels": STATUS_LABELS,
        "tones": STATUS_TONES,
        "money": money,
    }
    return render(request, "finance/_bills_table.html" if fragment else "finance/bills.html", **ctx)


@get(f"{BASE}/export.csv", opt=perm(FIN_PAYABLE_READ))
async def bill_export(request: Request[Any, Any, Any], db: DbSession) -> Response[bytes]:
    return await csv_export(request, db, _listed(), table(), EXPORT, "bills", scalars=False)


async def _detail(
    request: Request[Any, Any, Any], db: AsyncSession, bill_id: int, *, cancel_form: FormState | None = None
) -> Response[Any]:
    detail = await bills.bill_detail(db, bill_id)
    bill = detail.bill
    entry = await db.get(Entry, bill.entry_id) if bill.entry_id else None
    reversal = (
        (await db.execute(select(Entry).where(Entry.reversal_of == bill.entry_id))).scalar_one_or_none()
        if bill.cancelled_on
        else None
    )
    status = bills.bill_status(bill, tenant_today())
    return render(
        request,
        "finance/bill.html",
        status=422 if cancel_form and cancel_form.error else 200,
        d=detail,
        bill=bill,
        entry=entry,
        reversal=reversal,
        bill_status=status,
        labels=STATUS_LABELS,
        tones=STATUS_TONES,
        cancel_form=cancel_form or FormState({"on": bill.bill_date.isoformat()}),
        money=money,
        css=CSS,
    )


@get(f"{BASE}/{{bill_id:int}}", opt=perm(FIN_PAYABLE_READ, resource="fin_bills"))
async def bill_detail(
    request: Request[Any, Any, Any], db: DbSession, bill_id: FromPath[int]
) -> Response[Any]:
    return await _detail(request, db, bill_id)


@post(f"{BASE}/{{bill_id:int}}/cancel", opt=perm(FIN_PAYABLE_WRITE, resource="fin_bills"))
async def bill_cancel(
    request: Request[Any, Any, Any], db: DbSession, bill_id: FromPath[int]
) -> Response[Any]:
    bill = await bills.get_bill(db, bill_id)  # 404 before the form is judged
    form = await form_data(request)
    raw = str(form.get("on") or "").strip()
    try:
        on = date.fromisoformat(raw) if raw else None
    except ValueError:
        on = None
        error: DomainError | None = PayableRefused(
            "invalid_date", lazy("Enter a date as YYYY-MM-DD."), field="on"
        )
    else:
        error = None
    if error is None:
        try:
            bill = await bills.cancel_bill(db, principal(request), bill.id, on=on)
        except DomainError as exc:
            error = exc
    if error is not None:
        await db.rollback()
        return await _detail(request, db, bill_id, cancel_form=FormState(form, error))
    flash(request, "success", i18n.gettext("The bill {number} is cancelled.", number=bill.number))
    return redirect(f"{BASE}/{bill.id}", request)


# --- new bill ----------------------------------------------------------------------------------


async def _choices(db: AsyncSession) -> dict[str, Any]:
    accounts = (
        await db.execute(
            select(Account)
            .where(Account.postable, Account.active, Account.type.in_(bills.BILL_ACCOUNT_TYPES))
            .order_by(Account.code)
        )
    ).scalars()
    rates = (
        await db.execute(select(TaxRate).where(TaxRate.active).order_by(TaxRate.rate.desc(), TaxRate.code))
    ).scalars()
    centres = (
        await db.execute(select(CostCentre).where(CostCentre.active).order_by(CostCentre.code))
    ).scalars()
    split_rules = (
        await db.execute(select(SplitRule).where(SplitRule.active).order_by(SplitRule.code))
    ).scalars()
    categories = (
        await db.execute(select(CategoryTaxRate.category).order_by(CategoryTaxRate.category))
    ).scalars()
    return {
        "supplier_options": await _supplier_choices(db, active_only=True),
        "account_options": [(a.code, f"{a.code} {a.name}") for a in accounts],
        "default_account": await rules.account_code(db, "admin_expense"),
        "rate_options": [(r.code, f"{r.code} · {r.name}") for r in rates],
        "centre_options": [(c.code, f"{c.code} {c.name}") for c in centres],
        "rule_options": [(r.code, f"{r.code} {r.name}") for r in split_rules],
        "categories": list(categories),
        "base_currency": await suppliers.base_currency(db),
    }


async def _form(
    request: Request[Any, Any, Any], db: AsyncSession, form: FormState, status: int = 200
) -> Response[Any]:
    return render(
        request,
        "finance/bill_form.html",
        status=status,
        form=form,
        rows=range(row_count(dict(form.values), "lines", MIN_ROWS, MAX_ROWS)),
        css=CSS,
        **await _choices(db),
    )


@get(f"{BASE}/new", opt=perm(FIN_PAYABLE_WRITE))
async def bill_new(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    values: dict[str, Any] = {"bill_date": tenant_today().isoformat()}
    supplier_id = request.query_params.get("supplier_id") or ""
    if supplier_id.isdigit():
        values["supplier_id"] = supplier_id
    return await _form(request, db, FormState(values))


@post(BASE, opt=perm(FIN_PAYABLE_WRITE))
async def bill_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    rows = filled_rows(form, "lines", LINE_FIELDS, MAX_ROWS)
    data = BillInput(
        supplier_id=form.get("supplier_id"),
        supplier_reference=str(form.get("supplier_reference") or ""),
        bill_date=form.get("bill_date"),
        due_date=form.get("due_date"),
        currency=form.get("currency"),
        memo=str(form.get("memo") or ""),
        lines=[
            BillLineInput(
                description=str(form.get(f"lines.{k}.description") or ""),
                net_amount=str(form.get(f"lines.{k}.net_amount") or ""),
                account=form.get(f"lines.{k}.account"),
                category=form.get(f"lines.{k}.category"),
                tax_rate=form.get(f"lines.{k}.tax_rate"),
                cost_centre=form.get(f"lines.{k}.cost_centre"),
                split_rule=form.get(f"lines.{k}.split_rule"),
            )
            for k in rows
        ],
    )
    try:
        bill = await bills.enter_bill(db, principal(request), data)
    except DomainError as exc:
        await db.rollback()
        return await _form(request, db, FormState(form, renumbered(exc, "lines", rows)), status=422)
    flash(request, "success", i18n.gettext("The bill {number} is entered and posted.", number=bill.number))
    return redirect(f"{BASE}/{bill.id}", request)


ROUTES = [bill_list, bill_export, bill_new, bill_create, bill_detail, bill_cancel]
