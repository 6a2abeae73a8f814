"""Finance › Ageing and statements of account (FIN-2), each with its CSV.

The ageing is as of a date (today by default): per customer, what was open that day in buckets of
days past due, and the prepayments not yet allocated. A statement of account lists one customer's
invoices, credit notes and payments between two dates with the running balance.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from app.crm import interface as crm
from app.finance.services import ar_reports, invoices, receivables
from app.kernel import i18n
from app.kernel.csvfile import csv_bytes
from app.kernel.errors import FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy, lazy_p
from app.kernel.web import DbSession
from app.security.permissions import FIN_RECEIVABLE_READ
from portals.exports import csv_download
from portals.finance.payables_format import money
from portals.nav import NavItem, register
from portals.web import FormState, perm, render

AGEING = "/finance/receivables/ageing"
STATEMENTS = "/finance/statements"
SECTION = lazy("Finance")

register(
    NavItem(SECTION, lazy("Ageing of receivables"), AGEING, FIN_RECEIVABLE_READ, icon="clock", order=57),
    NavItem(SECTION, lazy("Statements of account"), STATEMENTS, FIN_RECEIVABLE_READ, icon="list", order=58),
)
KIND_LABELS = {**invoices.KIND_LABELS, "payment": lazy("Payment")}


def _dates(values: dict[str, str], *fields: str) -> dict[str, date]:
    """The ISO dates of ``fields`` (all required); ``ValidationFailed`` naming the bad ones."""
    out, problems = {}, []
    for field in fields:
        try:
            out[field] = date.fromisoformat(values[field])
        except ValueError:
            problems.append(FieldError(field, lazy("Enter a date as YYYY-MM-DD.")))
    if problems:
        raise ValidationFailed(problems)
    return out


def _ageing_values(request: Request[Any, Any, Any]) -> dict[str, str]:
    raw = str(request.query_params.get("as_of") or "").strip()
    return {"as_of": raw or receivables.tenant_today().isoformat()}


@get(AGEING, opt=perm(FIN_RECEIVABLE_READ))
async def ageing_page(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    values = _ageing_values(request)
    try:
        as_of = _dates(values, "as_of")["as_of"]
    except ValidationFailed as exc:
        return render(request, "finance/ageing.html", status=422, form=FormState(values, exc), report=None)
    return render(
        request,
        "finance/ageing.html",
        form=FormState(values),
        report=await ar_reports.ageing(db, as_of),
        buckets=ar_reports.BUCKETS,
        currency=(await receivables.finance_settings(db)).base_currency,
        money=money,
    )


@get(f"{AGEING}.csv", opt=perm(FIN_RECEIVABLE_READ))
async def ageing_export(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    as_of = _dates(_ageing_values(request), "as_of")["as_of"]
    report = await ar_reports.ageing(db, as_of)
    headers = [
        lazy("Customer"),
        *(label for _key, label, _first, _last in ar_reports.BUCKETS),
        lazy_p("amount still owed", "Open"),
        lazy("Not allocated"),
        lazy("Balance"),
    ]

    def row(r: ar_reports.AgeingRow, name: str) -> list[Any]:
        amounts = [*(r.buckets[k] for k in ar_reports.BUCKET_KEYS), r.open_total, r.unallocated, r.balance]
        return [name, *(f"{a:.2f}" for a in amounts)]

    rows = [row(r, r.name) for r in report.rows] + [row(report.totals, i18n.gettext("Total"))]
    body = csv_bytes([i18n.gettext(h) for h in headers], rows)
    return csv_download(body, f"ageing-{as_of.isoformat()}.csv")


# --- statements of account ---------------------------------------------------------------------


@get(STATEMENTS, opt=perm(FIN_RECEIVABLE_READ))
async def statement_picker(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    q = str(request.query_params.get("q") or "")
    return render(
        request, "finance/statement_picker.html", q=q, customers=await crm.find_accounts(db, q, limit=50)
    )


def _period(request: Request[Any, Any, Any]) -> dict[str, str]:
    today = receivables.tenant_today()
    return {
        "from": str(request.query_params.get("from") or "").strip()
        or today.replace(month=1, day=1).isoformat(),
        "to": str(request.query_params.get("to") or "").strip() or today.isoformat(),
    }


@get("/finance/customers/{account_id:int}/statement", opt=perm(FIN_RECEIVABLE_READ, resource="crm_accounts"))
async def statement_page(
    request: Request[Any, Any, Any], db: DbSession, account_id: FromPath[int]
) -> Response[Any]:
    values = _period(request)
    names = await crm.account_names(db, {account_id})
    if account_id not in names:
        raise NotFound(lazy("customer"))
    try:
        period = _dates(values, "from", "to")
        st = await ar_reports.statement(db, account_id, period["from"], period["to"])
    except ValidationFailed as exc:
        return render(
            request,
            "finance/statement.html",
            status=422,
            form=FormState(values, exc),
            st=None,
            account_id=account_id,
            name=names[account_id],
        )
    return render(
        request,
        "finance/statement.html",
        form=FormState(values),
        st=st,
        account_id=account_id,
        name=st.name,
        kinds=KIND_LABELS,
    )


@get(
    "/finance/customers/{account_id:int}/statement.csv",
    opt=perm(FIN_RECEIVABLE_READ, resource="crm_accounts"),
)
async def statement_export(
    request: Request[Any, Any, Any], db: DbSession, account_id: FromPath[int]
) -> Response[Any]:
    period = _dates(_period(request), "from", "to")
    st = await ar_reports.statement(db, account_id, period["from"], period["to"])
    headers = [lazy("Date"), lazy("Type"), lazy("Number"), lazy("Description"), lazy("Due"), lazy("Debit"),
               lazy("Credit"), lazy("Balance")]  # fmt: skip
    rows: list[list[Any]] = [["", "", "", i18n.gettext("Opening balance"), "", "", "", f"{st.opening:.2f}"]]
    rows += [
        [
            ln.on.isoformat(),
            i18n.gettext(KIND_LABELS[ln.kind]),
            ln.number,
            ln.description,
            ln.due_on.isoformat() if ln.due_on else "",
            f"{ln.debit:.2f}" if ln.debit else "",
            f"{ln.credit:.2f}" if ln.credit else "",
            f"{ln.balance:.2f}",
        ]
        for ln in st.lines
    ]
    rows.append(["", "", "", i18n.gettext("Closing balance"), "", f"{st.debits:.2f}", f"{st.credits:.2f}",
                 f"{st.closing:.2f}"])  # fmt: skip
    body = csv_bytes([i18n.gettext(h) for h in headers], rows)
    return csv_download(
        body, f"statement-{account_id}-{st.date_from.isoformat()}-{st.date_to.isoformat()}.csv"
    )


ROUTES: list[HTTPRouteHandler] = [
    ageing_page,
    ageing_export,
    statement_picker,
    statement_page,
    statement_export,
]
