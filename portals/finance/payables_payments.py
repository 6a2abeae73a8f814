"""Finance › Supplier payments and the payables ageing: the payments list, a payment's page with
its allocations (and a form to allocate what is left of an advance), the *Pay supplier* form with
one allocation row per open bill, and the ageing as of a date (with CSV and, on request, the
check that the AP subledger equals the payable control account)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.models import Bill, Payment, Supplier
from app.finance.services import payables_reports, rules, supplier_payments, suppliers
from app.finance.services.money import money_accounts
from app.finance.services.payables_input import tenant_today
from app.finance.services.supplier_payments import AllocationInput, SupplierPaymentInput
from app.kernel import i18n
from app.kernel.csvfile import csv_bytes
from app.kernel.errors import DomainError, FieldError, ValidationFailed
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import FIN_PAYABLE_READ, FIN_PAYABLE_WRITE
from portals.exports import csv_download
from portals.finance.payables_format import BUCKET_LABELS, CSS, METHOD_LABELS, money, parse_day, renumbered
from portals.forms import wants_fragment
from portals.tables import Column, Filter, TableSpec, fetch_page, parse_query
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

BASE = "/finance/supplier-payments"
AGEING = "/finance/payables/ageing"


def _supplier(stmt: Select[Any], value: str) -> Select[Any]:
    return stmt.where(Payment.supplier_id == int(value)) if value.isdigit() else stmt.where(Payment.id < 0)


def _unallocated(stmt: Select[Any], value: str) -> Select[Any]:
    return supplier_payments.filter_payments(stmt, unallocated=value == "yes")


def _search(stmt: Select[Any], q: str) -> Select[Any]:
    like = f"%{q.strip()}%"
    return stmt.where(
        or_(Payment.number.ilike(like), Payment.reference.ilike(like), Supplier.name.ilike(like))
    )


def table(supplier_choices: list[tuple[str, str]] | None = None) -> TableSpec:
    return TableSpec(
        columns=[
            Column("number", lazy("Payment"), sort=Payment.number),
            Column("date", lazy("Date"), sort=Payment.payment_date),
            Column("supplier", lazy("Supplier"), sort=Supplier.name),
            Column("method", lazy("Method")),
            Column("reference", lazy("Reference")),
            Column("amount", lazy("Amount"), sort=Payment.amount, align="right"),
            Column(
                "unallocated", lazy("Unallocated"), sort=Payment.amount - Payment.allocated, align="right"
            ),
        ],
        default_sort="date",
        default_direction="desc",
        filters=[
            Filter("supplier", lazy("Supplier"), _supplier, supplier_choices or []),
            Filter(
                "unallocated",
                lazy("Allocation"),
                _unallocated,
                [("yes", lazy("With an advance left")), ("no", lazy("Fully allocated"))],
            ),
        ],
        search=_search,
        tiebreak=Payment.id.desc(),
    )


def _listed() -> Select[Any]:
    return supplier_payments.payments_stmt()


@get(BASE, opt=perm(FIN_PAYABLE_READ))
async def payment_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    fragment = wants_fragment(request)
    choices = None
    if not fragment:
        choices = [
            (str(s.id), f"{s.name} ({s.code})")
            for s in await suppliers.supplier_choices(db, active_only=False)
        ]
    spec = table(choices)
    page = await fetch_page(db, _listed(), spec, parse_query(request.query_params, spec), scalars=False)
    ctx: dict[str, Any] = {"page": page, "base": BASE, "method_labels": METHOD_LABELS, "money": money}
    return render(
        request,
        "finance/_supplier_payments_table.html" if fragment else "finance/supplier_payments.html",
        **ctx,
    )


async def _detail(
    request: Request[Any, Any, Any], db: AsyncSession, payment_id: int, *, form: FormState | None = None
) -> Response[Any]:
    detail = await supplier_payments.payment_detail(db, payment_id)
    p = detail.payment
    form = form or FormState({"on": tenant_today().isoformat()})
    open_bills = await _rows(db, form, detail.supplier.id) if p.amount > p.allocated else []
    return render(
        request,
        "finance/supplier_payment.html",
        status=422 if form.error else 200,
        d=detail,
        payment=p,
        open_bills=open_bills,
        form=form,
        method_labels=METHOD_LABELS,
        money=money,
        css=CSS,
    )


@get(f"{BASE}/{{payment_id:int}}", opt=perm(FIN_PAYABLE_READ, resource="fin_supplier_payments"))
async def payment_detail(
    request: Request[Any, Any, Any], db: DbSession, payment_id: FromPath[int]
) -> Response[Any]:
    return await _detail(request, db, payment_id)


async def _rows(db: AsyncSession, form: FormState, supplier_id: int | None) -> list[tuple[int, Bill]]:
    """The allocation rows to show, as (row number, bill): the rows as they were posted when a
    refused form comes back (so each error stays beside its row, even for a bill paid off
    meanwhile), else one row per open bill of the supplier."""
    posted: dict[int, int] = {}
    for key, value in form.values.items():
        parts = str(key).split(".")
        wanted = len(parts) == 3 and parts[0] == "allocations" and parts[2] == "bill_id"
        if wanted and parts[1].isdigit() and str(value).strip().isdigit():
            posted[int(parts[1])] = int(str(value).strip())
    if posted:
        found = {
            b.id: b for b in (await db.execute(select(Bill).where(Bill.id.in_(posted.values())))).scalars()
        }
        return [(k, found[bid]) for k, bid in sorted(posted.items()) if bid in found]
    if supplier_id is None:
        return []
    return list(enumerate(await supplier_payments.open_bills(db, supplier_id)))


def _allocation_rows(form: dict[str, Any]) -> tuple[list[AllocationInput], list[int]]:
    """The rows with an amount typed: (allocations, their row numbers)."""
    rows, out = [], []
    for key in form:
        parts = str(key).split(".")
        if len(parts) == 3 and parts[0] == "allocations" and parts[2] == "amount" and parts[1].isdigit():
            k = int(parts[1])
            if str(form.get(key) or "").strip():
                rows.append(k)
    rows.sort()
    for k in rows:
        out.append(
            AllocationInput(form.get(f"allocations.{k}.bill_id"), str(form.get(f"allocations.{k}.amount")))
        )
    return out, rows


@post(f"{BASE}/{{payment_id:int}}/allocations", opt=perm(FIN_PAYABLE_WRITE, resource="fin_supplier_payments"))
async def payment_allocate(
    request: Request[Any, Any, Any], db: DbSession, payment_id: FromPath[int]
) -> Response[Any]:
    payment = await supplier_payments.get_payment(db, payment_id)  # 404 before the form is judged
    form = await form_data(request)
    allocations, rows = _allocation_rows(form)
    try:
        await supplier_payments.allocate_payment(
            db, principal(request), payment.id, allocations, on=form.get("on")
        )
    except DomainError as exc:
        await db.rollback()
        return await _detail(
            request, db, payment_id, form=FormState(form, renumbered(exc, "allocations", rows))
        )
    flash(
        request, "success", i18n.gettext("The allocations of {number} are recorded.", number=payment.number)
    )
    return redirect(f"{BASE}/{payment.id}", request)


# --- pay a supplier ----------------------------------------------------------------------------


async def _form(
    request: Request[Any, Any, Any], db: AsyncSession, form: FormState, status: int = 200
) -> Response[Any]:
    supplier = None
    raw = str(form.value("supplier_id") or "")
    if raw.isdigit():
        supplier = await db.get(Supplier, int(raw))
    accounts = await money_accounts(db)
    return render(
        request,
        "finance/supplier_payment_form.html",
        status=status,
        form=form,
        supplier=supplier,
        open_bills=await _rows(db, form, supplier.id if supplier else None),
        supplier_options=[
            (str(s.id), f"{s.name} ({s.code})")
            for s in await suppliers.supplier_choices(db, active_only=False)
        ],
        bank_options=[(a.code, f"{a.code} {a.name}") for a in accounts],
        method_options=[(k, i18n.gettext(v)) for k, v in METHOD_LABELS.items()],
        base_currency=await suppliers.base_currency(db),
        money=money,
        css=CSS,
    )


@get(f"{BASE}/new", opt=perm(FIN_PAYABLE_WRITE))
async def payment_new(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    values: dict[str, Any] = {
        "payment_date": tenant_today().isoformat(),
        "method": "bank_transfer",
        "bank_account": await rules.account_code(db, "bank"),
    }
    supplier_id = request.query_params.get("supplier_id") or ""
    if supplier_id.isdigit():
        values["supplier_id"] = supplier_id
    return await _form(request, db, FormState(values))


@post(BASE, opt=perm(FIN_PAYABLE_WRITE))
async def payment_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    allocations, rows = _allocation_rows(form)
    data = SupplierPaymentInput(
        supplier_id=form.get("supplier_id"),
        payment_date=form.get("payment_date"),
        amount=str(form.get("amount") or ""),
        currency=form.get("currency"),
        method=str(form.get("method") or "bank_transfer"),
        reference=form.get("reference"),
        bank_account=form.get("bank_account"),
        memo=str(form.get("memo") or ""),
        allocations=allocations,
    )
    try:
        payment = await supplier_payments.pay_supplier(db, principal(request), data)
    except DomainError as exc:
        await db.rollback()
        return await _form(request, db, FormState(form, renumbered(exc, "allocations", rows)), status=422)
    flash(
        request,
        "success",
        i18n.gettext("The payment {number} is recorded and posted.", number=payment.number),
    )
    return redirect(f"{BASE}/{payment.id}", request)


# --- ageing ------------------------------------------------------------------------------------


def _as_of(request: Request[Any, Any, Any]) -> tuple[FormState, Any]:
    raw = (request.query_params.get("as_of") or "").strip()
    day = parse_day(raw) if raw else tenant_today()
    if day is None:
        error = ValidationFailed([FieldError("as_of", lazy("Enter a date as YYYY-MM-DD."))])
        return FormState({"as_of": raw}, error), None
    return FormState({"as_of": day.isoformat()}), day


async def _ageing_page(request: Request[Any, Any, Any], db: AsyncSession) -> Response[Any]:
    form, day = _as_of(request)
    report = await payables_reports.ageing(db, day) if day else None
    problems = None
    if report is not None and request.query_params.get("check"):
        problems = await payables_reports.check_payables(db)
    return render(
        request,
        "finance/payables_ageing.html",
        status=200 if day else 422,
        form=form,
        report=report,
        problems=problems,
        payable=await rules.account_code(db, "payable"),
        bucket_labels=BUCKET_LABELS,
        money=money,
        css=CSS,
    )


@get(AGEING, opt=perm(FIN_PAYABLE_READ))
async def ageing(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    return await _ageing_page(request, db)


@get(f"{AGEING}.csv", opt=perm(FIN_PAYABLE_READ))
async def ageing_export(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    _, day = _as_of(request)
    if day is None:
        return await _ageing_page(request, db)
    report = await payables_reports.ageing(db, day)
    headers = [
        i18n.gettext(h)
        for h in (lazy("Supplier code"), lazy("Supplier"), *BUCKET_LABELS.values(), lazy("Open bills"))
    ] + [i18n.gettext(lazy("Advances")), i18n.gettext(lazy("Owed"))]
    rows = [
        [
            r.code,
            r.name,
            *(str(v) for v in r.buckets.values()),
            str(r.open_bills),
            str(r.advances),
            str(r.balance),
        ]
        for r in [*report.rows, report.totals]
    ]
    rows[-1][1] = i18n.gettext(lazy("Total"))
    return csv_download(csv_bytes(headers, rows), f"payables-ageing-{day.isoformat()}.csv")


ROUTES = [payment_list, payment_new, payment_create, payment_detail, payment_allocate, ageing, ageing_export]
