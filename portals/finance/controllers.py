"""The finance portal (FIN-1): chart of accounts, the journal, manual entries, trial balance.

Controllers parse, call a service in app/finance/services and render; the posting door judges
every entry (a refused one re-renders the form with the errors, status 422, nothing written).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from babel import numbers
from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.errors import InvalidPeriod, PostingRefused
from app.finance.models import Account, Entry
from app.finance.services import periods, posting, queries, reports, sources
from app.finance.services.cost_centres import cost_centre_options
from app.finance.services.movements import month_end
from app.finance.services.setup import ensure_finance
from app.kernel import i18n
from app.kernel.db import utcnow
from app.kernel.errors import DomainError, FieldError
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import FIN_JOURNAL_POST, FIN_LEDGER_READ
from portals.finance import chart as chart_pages
from portals.finance import cost_centres as cost_centre_pages
from portals.finance import invoices as invoice_pages
from portals.finance import payables
from portals.finance import payments as payment_pages
from portals.finance import periods as period_pages
from portals.finance import receivable_reports as receivable_report_pages
from portals.finance import settings as settings_pages
from portals.finance import statements as statement_pages
from portals.finance import taxes as tax_pages
from portals.nav import NavItem, register
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

SECTION = lazy("Finance")
register(
    NavItem(SECTION, lazy("Journal"), "/finance/entries", FIN_LEDGER_READ, icon="list", order=10),
    NavItem(
        SECTION, lazy("New journal entry"), "/finance/entries/new", FIN_JOURNAL_POST, icon="file", order=20
    ),
    NavItem(
        SECTION, lazy("Trial balance"), "/finance/trial-balance", FIN_LEDGER_READ, icon="chart", order=30
    ),
    NavItem(SECTION, lazy("Chart of accounts"), "/finance/accounts", FIN_LEDGER_READ, icon="coins", order=40),
)

TYPE_LABELS = {
    "asset": lazy("Asset"),
    "liability": lazy("Liability"),
    "equity": lazy("Equity"),
    "income": lazy("Income"),
    "expense": lazy("Expense"),
}
JOURNAL_LABELS = {
    "general": lazy("General (记)"),
    "receipts": lazy("Receipts (收)"),
    "payments": lazy("Payments (付)"),
}
LINE_ROWS = 6
JOURNAL_ROWS = 200  # entries the journal page lists; a period narrows it
LINE_FIELDS = ("account", "debit", "credit", "cost_centre", "memo")


def amount(value: Decimal | int | None) -> str:
    """A ledger amount with two decimals in the reader's notation; blank for zero."""
    if not value:
        return ""
    return numbers.format_decimal(value, format="#,##0.00", locale=i18n.babel_locale())


def _this_month() -> str:
    return f"{utcnow():%Y-%m}"


@get("/finance/entries", opt=perm(FIN_LEDGER_READ))
async def entry_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    period = (request.query_params.get("period") or "").strip()
    error = None
    try:
        stmt = queries.entries_stmt(period=period or None)
    except InvalidPeriod as exc:
        error, stmt = exc, queries.entries_stmt()
    # newest first by date (the index on entry_date, id); documents post in batches, so ids are not dates
    stmt = stmt.order_by(Entry.entry_date.desc(), Entry.id.desc()).limit(JOURNAL_ROWS + 1)
    rows = list((await db.execute(stmt)).scalars())
    more = len(rows) > JOURNAL_ROWS
    rows = rows[:JOURNAL_ROWS]
    totals = await queries.entry_totals(db, [e.id for e in rows])
    codes = await queries.period_codes(db, {e.period_id for e in rows})
    return render(
        request,
        "finance/entries.html",
        status=422 if error else 200,
        form=FormState({"period": period}, error),
        entries=rows,
        totals=totals,
        period_codes=codes,
        journal_labels=JOURNAL_LABELS,
        amount=amount,
        more=more,
        shown=JOURNAL_ROWS,
    )


@get("/finance/entries/{entry_id:int}", opt=perm(FIN_LEDGER_READ, resource="fin_entries"))
async def entry_detail(
    request: Request[Any, Any, Any], db: DbSession, entry_id: FromPath[int]
) -> Response[Any]:
    entry = await queries.get_entry(db, entry_id)
    lines = await queries.entry_lines(db, entry.id)
    reversed_by = (await db.execute(select(Entry).where(Entry.reversal_of == entry.id))).scalar_one_or_none()
    original = await db.get(Entry, entry.reversal_of) if entry.reversal_of else None
    return render(
        request,
        "finance/entry_detail.html",
        entry=entry,
        lines=lines,
        period=(await queries.period_codes(db, {entry.period_id}))[entry.period_id],
        reversed_by=reversed_by,
        of_document=entry.source_type in posting.DOCUMENT_SOURCES,  # corrected through its document
        original=original,
        source_url=sources.source_url(entry.source_type, entry.source_id),
        source_label=sources.source_label(entry.source_type),
        journal_labels=JOURNAL_LABELS,
        amount=amount,
        total=sum((line.debit for line, _ in lines), Decimal(0)),
    )


@post("/finance/entries/{entry_id:int}/reverse", opt=perm(FIN_JOURNAL_POST, resource="fin_entries"))
async def entry_reverse(
    request: Request[Any, Any, Any], db: DbSession, entry_id: FromPath[int]
) -> Response[Any]:
    entry = await queries.get_entry(db, entry_id)
    try:
        undo = await posting.reverse(db, principal(request), entry.id)
    except DomainError as exc:
        await db.rollback()
        flash(request, "error", i18n.gettext(exc.message, **exc.params))
        return redirect(f"/finance/entries/{entry_id}", request)
    flash(request, "success", i18n.gettext("The entry is reversed by {number}.", number=undo.number))
    return redirect(f"/finance/entries/{undo.id}", request)


async def _form(
    request: Request[Any, Any, Any], db: AsyncSession, form: FormState, status: int = 200
) -> Response[Any]:
    await ensure_finance(db)
    accounts = (
        await db.execute(select(Account).where(Account.postable, Account.active).order_by(Account.code))
    ).scalars()
    return render(
        request,
        "finance/entry_form.html",
        status=status,
        form=form,
        rows=range(LINE_ROWS),
        account_options=[(a.code, f"{a.code} {a.name}") for a in accounts],
        cost_centre_options=await cost_centre_options(db),
        journal_options=[(k, i18n.gettext(v)) for k, v in JOURNAL_LABELS.items()],
    )


@get("/finance/entries/new", opt=perm(FIN_JOURNAL_POST))
async def entry_new(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    return await _form(request, db, FormState({"date": utcnow().date().isoformat(), "journal": "general"}))


def _posted_rows(form: dict[str, Any]) -> list[int]:
    return [
        k for k in range(LINE_ROWS) if any(str(form.get(f"lines.{k}.{f}") or "").strip() for f in LINE_FIELDS)
    ]


def _renumbered(exc: DomainError, rows: list[int]) -> DomainError:
    """Field errors name the n-th *filled* line; the form shows them beside the row it came from."""
    fixed = []
    for e in exc.errors:
        parts = e.field.split(".")
        if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit() and int(parts[1]) < len(rows):
            fixed.append(FieldError(f"lines.{rows[int(parts[1])]}.{parts[2]}", e.message, e.params))
        else:
            fixed.append(e)
    exc.errors = fixed
    return exc


@post("/finance/entries", opt=perm(FIN_JOURNAL_POST))
async def entry_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    rows = _posted_rows(form)
    try:
        try:
            on = date.fromisoformat(str(form.get("date") or ""))
        except ValueError:
            raise PostingRefused("invalid_date", lazy("Enter a date."), field="date") from None
        lines = posting.manual_lines([{f: form.get(f"lines.{k}.{f}") for f in LINE_FIELDS} for k in rows])
        entry = await posting.post(
            db,
            principal(request),
            posting.PostingRequest(
                date=on,
                journal=str(form.get("journal") or "general"),
                memo=str(form.get("memo") or "").strip()[:1000],
                lines=lines,
                source_type="manual",
            ),
        )
    except DomainError as exc:
        await db.rollback()
        return await _form(request, db, FormState(form, _renumbered(exc, rows)), status=422)
    flash(request, "success", i18n.gettext("The entry {number} is posted.", number=entry.number))
    return redirect(f"/finance/entries/{entry.id}", request)


@get("/finance/trial-balance", opt=perm(FIN_LEDGER_READ))
async def trial_balance(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    period = (request.query_params.get("period") or "").strip() or _this_month()
    await ensure_finance(db)
    try:
        year, month = periods.parse_period(period)
    except InvalidPeriod as exc:
        return render(
            request,
            "finance/trial_balance.html",
            status=422,
            form=FormState({"period": period}, exc),
            tb=None,
            amount=amount,
        )
    tb = await reports.trial_balance(db, year, month)
    return render(
        request,
        "finance/trial_balance.html",
        form=FormState({"period": period}),
        tb=tb,
        period_end=month_end(date(year, month, 1)).isoformat(),
        amount=amount,
        type_labels=TYPE_LABELS,
    )


ROUTES: list[HTTPRouteHandler] = [
    *period_pages.ROUTES,
    *chart_pages.ROUTES,
    *settings_pages.ROUTES,
    *tax_pages.ROUTES,
    *cost_centre_pages.ROUTES,
    *payables.ROUTES,
    *statement_pages.ROUTES,
    *invoice_pages.ROUTES,
    *payment_pages.ROUTES,
    *receivable_report_pages.ROUTES,
    entry_list,
    entry_new,
    entry_create,
    entry_detail,
    entry_reverse,
    trial_balance,
]
