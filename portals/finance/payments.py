"""Finance › Payments received (FIN-2): the list (filters, CSV), one payment with its allocations
(and the form allocating what is left of it), and the receive-payment form — pick the customer,
then the amount, the bank or cash account and an allocation row per open invoice.

Every rule is the service's (app/finance/services/payments_in.py); refused input re-renders the
form with the errors beside their rows, status 422, nothing written.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm import interface as crm
from app.finance.models import Account, Entry, Payment
from app.finance.services import invoices, payments_in, receivables
from app.finance.services.rules import account_code
from app.kernel import i18n
from app.kernel.errors import DomainError, NotFound
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import FIN_RECEIVABLE_READ, FIN_RECEIVABLE_WRITE
from portals.exports import ExportColumn, csv_export
from portals.finance.invoices import by_row
from portals.forms import optional_id, wants_fragment
from portals.nav import NavItem, register
from portals.tables import Column, Filter, TableSpec, fetch_page, parse_query
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

BASE = "/finance/payments"
SECTION = lazy("Finance")

register(
    NavItem(SECTION, lazy("Payments received"), BASE, FIN_RECEIVABLE_READ, icon="coins", order=55),
    NavItem(SECTION, lazy("Receive a payment"), f"{BASE}/new", FIN_RECEIVABLE_WRITE, icon="coins", order=56),
)
UNALLOCATED = Payment.amount - Payment.allocated

TABLE = TableSpec(
    columns=[
        Column("number", lazy("Number"), sort=Payment.number),
        Column("date", lazy("Date"), sort=Payment.payment_date),
        Column("customer", lazy("Customer")),
        Column("method", lazy("Method"), sort=Payment.method),
        Column("reference", lazy("Reference")),
        Column("amount", lazy("Amount"), sort=Payment.amount, align="right"),
        Column("unallocated", lazy("Not allocated"), sort=UNALLOCATED, align="right"),
    ],
    default_sort="date",
    default_direction="desc",
    filters=[
        Filter(
            "customer",
            lazy("Customer"),
            lambda s, v: s.where(Payment.account_id.in_(crm.account_ids_named(v))),
        ),
        Filter(
            "left",
            lazy("Allocation"),
            lambda s, v: s.where(UNALLOCATED > 0) if v == "open" else s.where(UNALLOCATED == 0),
            [("open", lazy("With a prepayment left")), ("done", lazy("Fully allocated"))],
        ),
        Filter(
            "method",
            lazy("Method"),
            lambda s, v: s.where(Payment.method == v),
            list(payments_in.METHODS.items()),
        ),
    ],
    search=lambda s, q: s.where(
        func.lower(Payment.number).contains(q.lower(), autoescape=True)
        | func.lower(Payment.reference).contains(q.lower(), autoescape=True)
    ),
    tiebreak=Payment.id.desc(),
)


def _listed() -> Select[Any]:
    return payments_in.payments_stmt()


@get(BASE, opt=perm(FIN_RECEIVABLE_READ))
async def payment_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    page = await fetch_page(db, _listed(), TABLE, parse_query(request.query_params, TABLE))
    ctx: dict[str, Any] = {
        "page": page,
        "base": BASE,
        "names": await crm.account_names(db, {p.account_id for p in page.rows if p.account_id}),
        "methods": payments_in.METHODS,
    }
    if wants_fragment(request):
        return render(request, "finance/_payments_table.html", **ctx)
    return render(request, "finance/payments.html", **ctx)


@get(f"{BASE}/export.csv", opt=perm(FIN_RECEIVABLE_READ))
async def payment_export(request: Request[Any, Any, Any], db: DbSession) -> Response[bytes]:
    ids = (await db.execute(_listed().with_only_columns(Payment.account_id).distinct())).scalars()
    names = await crm.account_names(db, {i for i in ids if i is not None})
    banks = dict((await db.execute(select(Account.id, Account.code))).all())
    columns = [
        ExportColumn(lazy("Number"), lambda p: p.number),
        ExportColumn(lazy("Date"), lambda p: p.payment_date.isoformat()),
        ExportColumn(lazy("Customer"), lambda p: names.get(p.account_id, "")),
        ExportColumn(lazy("Method"), lambda p: i18n.gettext(payments_in.METHODS.get(p.method, p.method))),
        ExportColumn(lazy("Reference"), lambda p: p.reference or ""),
        ExportColumn(lazy("Bank account"), lambda p: banks.get(p.bank_account_id, "")),
        ExportColumn(lazy("Currency"), lambda p: p.currency),
        ExportColumn(lazy("Amount"), lambda p: f"{p.amount:.2f}"),
        ExportColumn(lazy("Allocated"), lambda p: f"{p.allocated:.2f}"),
        ExportColumn(lazy("Not allocated"), lambda p: f"{p.amount - p.allocated:.2f}"),
    ]
    return await csv_export(request, db, _listed(), TABLE, columns, "payments-received")


# --- one payment, and allocating what is left of it --------------------------------------------


async def _detail(
    request: Request[Any, Any, Any], db: AsyncSession, payment: Payment, form: FormState, status: int = 200
) -> Response[Any]:
    assert payment.account_id is not None
    return render(
        request,
        "finance/payment_detail.html",
        status=status,
        form=form,
        payment=payment,
        customer_name=(await crm.account_names(db, {payment.account_id})).get(payment.account_id, ""),
        allocations=await payments_in.allocations_of(db, payment.id),
        open_invoices=await invoices.open_invoices_of(db, payment.account_id),
        left=payments_in.unallocated(payment),
        bank=await db.get(Account, payment.bank_account_id),
        entry=await db.get(Entry, payment.entry_id) if payment.entry_id else None,
        methods=payments_in.METHODS,
        open_amount=invoices.open_amount,
        today=receivables.tenant_today(),
    )


@get(f"{BASE}/{{payment_id:int}}", opt=perm(FIN_RECEIVABLE_READ, resource="fin_payments"))
async def payment_detail(
    request: Request[Any, Any, Any], db: DbSession, payment_id: FromPath[int]
) -> Response[Any]:
    payment = await payments_in.get_payment(db, payment_id)
    return await _detail(
        request, db, payment, FormState({"allocated_on": receivables.tenant_today().isoformat()})
    )


def _allocation_rows(form: dict[str, Any]) -> tuple[list[int], list[dict[str, Any]]]:
    """The invoices whose row has an amount, and the allocations the service takes."""
    rows = sorted(
        int(key.split(".")[1])
        for key, value in form.items()
        if key.startswith("allocations.")
        and key.endswith(".amount")
        and key.split(".")[1].isdigit()
        and len(key.split(".")[1]) < 18
        and str(value).strip()
    )
    return rows, [{"invoice_id": n, "amount": form[f"allocations.{n}.amount"]} for n in rows]


@post(f"{BASE}/{{payment_id:int}}/allocations", opt=perm(FIN_RECEIVABLE_WRITE, resource="fin_payments"))
async def payment_allocate(
    request: Request[Any, Any, Any], db: DbSession, payment_id: FromPath[int]
) -> Response[Any]:
    await payments_in.get_payment(db, payment_id)
    form = await form_data(request)
    rows, allocations = _allocation_rows(form)
    try:
        await payments_in.allocate(
            db, principal(request), payment_id, allocations, on=form.get("allocated_on")
        )
    except DomainError as exc:
        await db.rollback()
        payment = await payments_in.get_payment(db, payment_id)
        return await _detail(
            request, db, payment, FormState(form, by_row(exc, "allocations", rows, "invoice_id")), 422
        )
    flash(request, "success", i18n.gettext("The payment is allocated."))
    return redirect(f"{BASE}/{payment_id}", request)


# --- receiving a payment -----------------------------------------------------------------------


async def _form(
    request: Request[Any, Any, Any], db: AsyncSession, form: FormState, status: int = 200
) -> Response[Any]:
    account_id = optional_id(form.value("account_id"))
    names = await crm.account_names(db, {account_id}) if account_id and account_id > 0 else {}
    if account_id is None or account_id not in names:
        q = str(request.query_params.get("q") or "")
        return render(
            request,
            "finance/payment_customer.html",
            status=status,
            form=form,
            q=q,
            customers=await crm.find_accounts(db, q, limit=30),
        )
    settings = await receivables.finance_settings(db)
    banks = await payments_in.bank_accounts(db)
    return render(
        request,
        "finance/payment_form.html",
        status=status,
        form=form,
        account_id=account_id,
        customer_name=names[account_id],
        open_invoices=await invoices.open_invoices_of(db, account_id),
        open_amount=invoices.open_amount,
        bank_options=[(a.id, f"{a.code} {a.name}") for a in banks],
        method_options=[(k, i18n.gettext(v)) for k, v in payments_in.METHODS.items()],
        currency=settings.base_currency,
        today=receivables.tenant_today(),
    )


@get(f"{BASE}/new", opt=perm(FIN_RECEIVABLE_WRITE))
async def payment_new(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    default_bank = (
        await db.execute(select(Account.id).where(Account.code == await account_code(db, "bank")))
    ).scalar_one_or_none()
    values: dict[str, Any] = {
        "account_id": request.query_params.get("account_id") or "",
        "payment_date": receivables.tenant_today().isoformat(),
        "method": "bank_transfer",
        "bank_account_id": default_bank or "",
    }
    invoice_id = optional_id(request.query_params.get("invoice_id"))
    if invoice_id and invoice_id > 0:
        try:
            invoice = await invoices.get_invoice(db, invoice_id, kind="invoice")
        except NotFound:
            invoice = None
        if invoice is not None:
            open_amount = invoices.open_amount(invoice)
            values |= {"account_id": invoice.account_id, "amount": f"{open_amount:.2f}"}
            values[f"allocations.{invoice.id}.amount"] = f"{open_amount:.2f}"
    return await _form(request, db, FormState(values))


@post(BASE, opt=perm(FIN_RECEIVABLE_WRITE))
async def payment_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    rows, allocations = _allocation_rows(form)
    data = {k: form.get(k) for k in ("account_id", "payment_date", "amount", "method", "reference", "memo")}
    data |= {"bank_account_id": form.get("bank_account_id"), "allocations": allocations}
    try:
        payment = await payments_in.receive_payment(db, principal(request), data)
    except DomainError as exc:
        await db.rollback()
        return await _form(request, db, FormState(form, by_row(exc, "allocations", rows, "invoice_id")), 422)
    flash(request, "success", i18n.gettext("The payment {number} is recorded.", number=payment.number))
    return redirect(f"{BASE}/{payment.id}", request)


ROUTES: list[HTTPRouteHandler] = [
    payment_list,
    payment_export,
    payment_new,
    payment_create,
    payment_detail,
    payment_allocate,
]
