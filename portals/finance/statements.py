"""Statement pages (FIN-5): profit and loss, balance sheet, cash report, an account's ledger —
each with its dates and comparison in the query string, every account figure a link to the
ledger behind it, and CSV / XLSX / PDF exports of what the page shows (also of the trial balance).

Controllers parse the query, call app/finance/services/statements.py or account_ledger.py and
render. A bad date or comparison re-renders the page with the error beside its field (422); an
export with bad parameters answers the error page (422).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from babel import numbers
from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from app.finance.errors import ExportTooLarge, InvalidExportFormat
from app.finance.services import account_ledger, periods, queries, reports, statements
from app.finance.services.movements import DateRange, bounds, month_end
from app.finance.services.setup import ensure_finance
from app.finance.services.sources import source_label
from app.kernel import i18n
from app.kernel.db import utcnow
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import FIN_LEDGER_READ
from portals.exports import MAX_EXPORT_ROWS
from portals.finance import statement_reports
from portals.finance.report_files import FORMATS, download
from portals.nav import NavItem, register
from portals.web import FormState, perm, render

SECTION = lazy("Finance")
register(
    NavItem(
        SECTION, lazy("Profit and loss"), "/finance/profit-and-loss", FIN_LEDGER_READ, icon="chart", order=31
    ),
    NavItem(
        SECTION, lazy("Balance sheet"), "/finance/balance-sheet", FIN_LEDGER_READ, icon="building", order=32
    ),
    NavItem(SECTION, lazy("Cash report"), "/finance/cash-report", FIN_LEDGER_READ, icon="coins", order=33),
)
LEDGER_PAGE = 100

TYPE_LABELS = {
    "asset": lazy("Asset"),
    "liability": lazy("Liability"),
    "equity": lazy("Equity"),
    "income": lazy("Income"),
    "expense": lazy("Expense"),
}


# --- formatting and links (template helpers) ---------------------------------------------------


def figure(value: Decimal | None) -> str:
    """A statement amount: two decimals in the reader's notation, "–" for nothing."""
    if value is None:
        return ""
    if not value:
        return "–"
    return numbers.format_decimal(value, format="#,##0.00", locale=i18n.babel_locale())


def percent(value: Decimal | None) -> str:
    if value is None:
        return ""
    return f"{numbers.format_decimal(value, format='#,##0.0', locale=i18n.babel_locale())}%"


def balance(value: Decimal) -> str:
    """A ledger balance with its side: "1,200.00 Dr" / "300.00 Cr" (借 / 贷)."""
    if not value:
        return "–"
    side = i18n.pgettext("balance side", "Dr") if value > 0 else i18n.pgettext("balance side", "Cr")
    return f"{figure(abs(value))} {side}"


def ledger_url(account_id: int, r: DateRange) -> str:
    start = r.start or date(r.end.year, 1, 1)
    return f"/finance/accounts/{account_id}/ledger?" + urlencode(
        {"from": start.isoformat(), "to": r.end.isoformat()}
    )


def pnl_url(r: DateRange) -> str:
    start = r.start or date(r.end.year, 1, 1)
    return "/finance/profit-and-loss?" + urlencode({"from": start.isoformat(), "to": r.end.isoformat()})


def span(r: DateRange) -> str:
    return statement_reports.span(r)


HELPERS: dict[str, Any] = {
    "figure": figure,
    "percent": percent,
    "balance": balance,
    "ledger_url": ledger_url,
    "pnl_url": pnl_url,
    "span": span,
    "compared_span": statement_reports.compared_span,
    "line_label": statement_reports.line_label,
}


# --- the query string ----------------------------------------------------------------------------


def _today() -> date:
    return utcnow().date()


def _query(request: Request[Any, Any, Any], defaults: dict[str, str]) -> dict[str, str]:
    """The page's parameters: what the query string says, else the defaults."""
    out = dict(defaults)
    for key in (*defaults, "compare_from", "compare_to", "compare_as_of"):
        raw = request.query_params.get(key)
        if raw is not None:
            out[key] = raw.strip()[:40]
    return out


def _range_defaults(start: date, end: date, compare: str) -> dict[str, str]:
    return {"from": start.isoformat(), "to": end.isoformat(), "compare": compare}


def _ranges(values: dict[str, str]) -> tuple[DateRange, DateRange | None]:
    current = statements.parse_range(values.get("from"), values.get("to"))
    compare = statements.range_comparison(
        values.get("compare"), current, values.get("compare_from"), values.get("compare_to")
    )
    return current, compare


@dataclass(frozen=True)
class Preset:
    label: str
    start: date
    end: date


def presets(today: date) -> list[Preset]:
    """Quick ranges offered above a P&L or cash report."""
    this_month = today.replace(day=1)
    last_month_end = this_month - timedelta(days=1)
    quarter = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    return [
        Preset(lazy("This month"), this_month, month_end(today)),
        Preset(lazy("Last month"), last_month_end.replace(day=1), last_month_end),
        Preset(lazy("This quarter"), quarter, month_end(date(today.year, quarter.month + 2, 1))),
        Preset(lazy("Year to date"), date(today.year, 1, 1), today),
        Preset(lazy("Last year"), date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
    ]


def _export_links(path: str, values: dict[str, str]) -> list[tuple[str, str]]:
    return [(fmt.upper(), f"{path}/export?" + urlencode({**values, "format": fmt})) for fmt in FORMATS]


def _format(request: Request[Any, Any, Any]) -> str:
    """The export's format (``InvalidExportFormat``, 422, unless csv, xlsx or pdf)."""
    fmt = (request.query_params.get("format") or "").strip().lower()
    if fmt not in FORMATS:
        raise InvalidExportFormat(fmt[:10])
    return fmt


# --- profit and loss -----------------------------------------------------------------------------

PNL = "/finance/profit-and-loss"


def _pnl_defaults() -> dict[str, str]:
    today = _today()
    return _range_defaults(date(today.year, 1, 1), today, "year")


@get(PNL, opt=perm(FIN_LEDGER_READ))
async def profit_and_loss_page(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    await ensure_finance(db)
    values = _query(request, _pnl_defaults())
    context: dict[str, Any] = {
        **HELPERS,
        "base": PNL,
        "presets": presets(_today()),
        "compare_options": statements.RANGE_COMPARISONS,
        "values": values,
        "exports": _export_links(PNL, values),
    }
    try:
        current, compare = _ranges(values)
        statement = await statements.profit_and_loss(db, *bounds(current), compare=compare)
    except DomainError as exc:
        return render(
            request,
            "finance/profit_and_loss.html",
            status=422,
            form=FormState(values, exc),
            statement=None,
            **context,
        )
    return render(
        request, "finance/profit_and_loss.html", form=FormState(values), statement=statement, **context
    )


@get(f"{PNL}/export", opt=perm(FIN_LEDGER_READ))
async def profit_and_loss_export(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    fmt = _format(request)
    current, compare = _ranges(_query(request, _pnl_defaults()))
    statement = await statements.profit_and_loss(db, *bounds(current), compare=compare)
    return download(statement_reports.statement_report(statement), fmt)


# --- balance sheet -------------------------------------------------------------------------------

BS = "/finance/balance-sheet"


def _bs_defaults() -> dict[str, str]:
    return {"as_of": _today().isoformat(), "compare": "year_start"}


def _bs_dates(values: dict[str, str]) -> tuple[date, date | None]:
    as_of = statements.parse_date(values.get("as_of"), "as_of")
    return as_of, statements.date_comparison(values.get("compare"), as_of, values.get("compare_as_of"))


@get(BS, opt=perm(FIN_LEDGER_READ))
async def balance_sheet_page(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    await ensure_finance(db)
    values = _query(request, _bs_defaults())
    context: dict[str, Any] = {
        **HELPERS,
        "base": BS,
        "compare_options": statements.DATE_COMPARISONS,
        "values": values,
        "exports": _export_links(BS, values),
    }
    try:
        as_of, compare = _bs_dates(values)
        statement = await statements.balance_sheet(db, as_of, compare=compare)
    except DomainError as exc:
        return render(
            request,
            "finance/balance_sheet.html",
            status=422,
            form=FormState(values, exc),
            statement=None,
            **context,
        )
    return render(
        request, "finance/balance_sheet.html", form=FormState(values), statement=statement, **context
    )


@get(f"{BS}/export", opt=perm(FIN_LEDGER_READ))
async def balance_sheet_export(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    fmt = _format(request)
    as_of, compare = _bs_dates(_query(request, _bs_defaults()))
    statement = await statements.balance_sheet(db, as_of, compare=compare)
    return download(statement_reports.statement_report(statement), fmt)


# --- cash report ---------------------------------------------------------------------------------

CASH = "/finance/cash-report"


def _cash_defaults() -> dict[str, str]:
    today = _today()
    return _range_defaults(today.replace(day=1), today, "previous")


@get(CASH, opt=perm(FIN_LEDGER_READ))
async def cash_report_page(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    await ensure_finance(db)
    values = _query(request, _cash_defaults())
    context: dict[str, Any] = {
        **HELPERS,
        "base": CASH,
        "presets": presets(_today()),
        "compare_options": statements.RANGE_COMPARISONS,
        "values": values,
        "exports": _export_links(CASH, values),
    }
    try:
        current, compare = _ranges(values)
        cash = await statements.cash_report(db, *bounds(current), compare=compare)
    except DomainError as exc:
        return render(
            request, "finance/cash_report.html", status=422, form=FormState(values, exc), cash=None, **context
        )
    return render(request, "finance/cash_report.html", form=FormState(values), cash=cash, **context)


@get(f"{CASH}/export", opt=perm(FIN_LEDGER_READ))
async def cash_report_export(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    fmt = _format(request)
    current, compare = _ranges(_query(request, _cash_defaults()))
    cash = await statements.cash_report(db, *bounds(current), compare=compare)
    return download(statement_reports.cash_report_file(cash), fmt)


# --- trial balance export ------------------------------------------------------------------------


@get("/finance/trial-balance/export", opt=perm(FIN_LEDGER_READ))
async def trial_balance_export(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    fmt = _format(request)
    year, month = periods.parse_period(
        (request.query_params.get("period") or "").strip() or f"{_today():%Y-%m}"
    )
    await ensure_finance(db)
    return download(statement_reports.trial_balance_report(await reports.trial_balance(db, year, month)), fmt)


# --- account ledger ------------------------------------------------------------------------------


def _ledger_defaults() -> dict[str, str]:
    today = _today()
    return {"from": date(today.year, 1, 1).isoformat(), "to": today.isoformat()}


@get("/finance/accounts/{account_id:int}/ledger", opt=perm(FIN_LEDGER_READ, resource="fin_accounts"))
async def account_ledger_page(
    request: Request[Any, Any, Any], db: DbSession, account_id: FromPath[int]
) -> Response[Any]:
    account = await queries.get_account(db, account_id)
    values = _query(request, _ledger_defaults())
    cursor = request.query_params.get("cursor") or None
    base = f"/finance/accounts/{account.id}/ledger"
    context: dict[str, Any] = {
        **HELPERS,
        "account": account,
        "values": values,
        "base": base,
        "type_labels": TYPE_LABELS,
        "source_label": source_label,
        "exports": _export_links(base, values),
        "first_page": f"{base}?" + urlencode(values),
    }
    try:
        period = statements.parse_range(values.get("from"), values.get("to"))
        ledger = await account_ledger.account_ledger(
            db, account.id, *bounds(period), cursor=cursor, limit=LEDGER_PAGE
        )
    except DomainError as exc:
        if exc.status != 422:
            raise
        return render(
            request,
            "finance/account_ledger.html",
            status=422,
            form=FormState(values, exc),
            ledger=None,
            **context,
        )
    next_page = (
        f"{base}?" + urlencode({**values, "cursor": ledger.next_cursor}) if ledger.next_cursor else None
    )
    return render(
        request,
        "finance/account_ledger.html",
        form=FormState(values),
        ledger=ledger,
        next_page=next_page,
        paged=cursor is not None,
        **context,
    )


@get("/finance/accounts/{account_id:int}/ledger/export", opt=perm(FIN_LEDGER_READ, resource="fin_accounts"))
async def account_ledger_export(
    request: Request[Any, Any, Any], db: DbSession, account_id: FromPath[int]
) -> Response[Any]:
    await queries.get_account(db, account_id)  # 404 before judging the parameters
    fmt = _format(request)
    values = _query(request, _ledger_defaults())
    period = statements.parse_range(values.get("from"), values.get("to"))
    ledger = await account_ledger.all_ledger_lines(db, account_id, *bounds(period), max_lines=MAX_EXPORT_ROWS)
    if ledger is None:
        raise ExportTooLarge(MAX_EXPORT_ROWS)
    return download(statement_reports.ledger_report(ledger), fmt)


ROUTES: list[HTTPRouteHandler] = [
    profit_and_loss_page,
    profit_and_loss_export,
    balance_sheet_page,
    balance_sheet_export,
    cash_report_page,
    cash_report_export,
    trial_balance_export,
    account_ledger_page,
    account_ledger_export,
]
