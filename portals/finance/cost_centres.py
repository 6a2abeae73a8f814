"""Finance › Settings › Cost centres and Split rules, and Finance › By cost centre, the report of
income and expenses per cost centre (page and CSV). Rules: app/finance/services/cost_centres.py,
split_rules.py, cost_centre_report.py."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.services import cost_centre_report, cost_centres, split_rules
from app.kernel import i18n
from app.kernel.csvfile import csv_bytes
from app.kernel.errors import DomainError, FieldError
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import FIN_LEDGER_READ, FIN_SETTINGS_MANAGE
from portals.exports import csv_download
from portals.finance.settings_common import SETTINGS, percent, report_range, settings_ctx
from portals.nav import NavItem, register
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

CENTRES = f"{SETTINGS}/cost-centres"
RULES = f"{SETTINGS}/split-rules"
REPORT = "/finance/cost-centre-report"
SHARE_ROWS = 6
register(NavItem(lazy("Finance"), lazy("By cost centre"), REPORT, FIN_LEDGER_READ, icon="chart", order=55))


def _centre_values(form: dict[str, Any]) -> dict[str, Any]:
    return {"code": form.get("code"), "name": form.get("name"), "active": bool(form.get("active"))}


async def _centres_page(
    request: Request[Any, Any, Any], db: AsyncSession, form: FormState | None = None, status: int = 200
) -> Response[Any]:
    return render(
        request,
        "finance/cost_centres.html",
        status=status,
        form=form or FormState({"active": "1"}),
        centres=await cost_centres.list_cost_centres(db),
        **settings_ctx(request),
    )


@get(CENTRES, opt=perm(FIN_LEDGER_READ))
async def centre_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    return await _centres_page(request, db)


@post(CENTRES, opt=perm(FIN_SETTINGS_MANAGE))
async def centre_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    try:
        centre = await cost_centres.create_cost_centre(db, principal(request), _centre_values(form))
    except DomainError as exc:
        await db.rollback()
        return await _centres_page(request, db, FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("The cost centre {code} is added.", code=centre.code))
    return redirect(CENTRES, request)


async def _centre_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    centre_id: int,
    form: FormState | None = None,
    status: int = 200,
) -> Response[Any]:
    centre = await cost_centres.get_cost_centre(db, centre_id)
    values = {"code": centre.code, "name": centre.name, "active": "1" if centre.active else ""}
    return render(
        request,
        "finance/cost_centre.html",
        status=status,
        form=form or FormState(values),
        centre=centre,
        used=await cost_centres.cost_centre_used(db, centre.code),
        **settings_ctx(request),
    )


@get(f"{CENTRES}/{{centre_id:int}}", opt=perm(FIN_LEDGER_READ, resource="fin_cost_centres"))
async def centre_detail(
    request: Request[Any, Any, Any], db: DbSession, centre_id: FromPath[int]
) -> Response[Any]:
    return await _centre_page(request, db, centre_id)


@post(f"{CENTRES}/{{centre_id:int}}", opt=perm(FIN_SETTINGS_MANAGE, resource="fin_cost_centres"))
async def centre_save(
    request: Request[Any, Any, Any], db: DbSession, centre_id: FromPath[int]
) -> Response[Any]:
    await cost_centres.get_cost_centre(db, centre_id)  # a missing one is a 404 whatever the form says
    form = await form_data(request)
    try:
        centre = await cost_centres.update_cost_centre(
            db, principal(request), centre_id, _centre_values(form)
        )
    except DomainError as exc:
        await db.rollback()
        return await _centre_page(request, db, centre_id, FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("The cost centre {code} is saved.", code=centre.code))
    return redirect(CENTRES, request)


# --- split rules ---------------------------------------------------------------------------------


def _share_rows(form: dict[str, Any], rows: int) -> tuple[list[dict[str, Any]], list[int]]:
    """The filled share rows of the form, in order, and the row each came from."""
    filled = [
        k
        for k in range(rows)
        if str(form.get(f"shares.{k}.cost_centre") or "").strip()
        or str(form.get(f"shares.{k}.percent") or "").strip()
    ]
    shares = [
        {"cost_centre": form.get(f"shares.{k}.cost_centre"), "percent": form.get(f"shares.{k}.percent")}
        for k in filled
    ]
    return shares, filled


def _renumbered(exc: DomainError, rows: list[int]) -> DomainError:
    """Field errors name the n-th filled share; the form shows them beside the row it came from."""
    fixed = []
    for e in exc.errors:
        parts = e.field.split(".")
        if len(parts) == 3 and parts[0] == "shares" and int(parts[1]) < len(rows):
            fixed.append(FieldError(f"shares.{rows[int(parts[1])]}.{parts[2]}", e.message, e.params))
        else:
            fixed.append(e)
    exc.errors = fixed
    return exc


def _rule_values(form: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
    raw = str(form.get("rows") or "")
    shares, rows = _share_rows(form, min(int(raw), split_rules.MAX_SHARES) if raw.isdigit() else SHARE_ROWS)
    values = {
        "code": form.get("code"),
        "name": form.get("name"),
        "active": bool(form.get("active")),
        "shares": shares,
    }
    return values, rows


async def _rules_page(
    request: Request[Any, Any, Any], db: AsyncSession, form: FormState | None = None, status: int = 200
) -> Response[Any]:
    rules = await split_rules.list_split_rules(db)
    shares = await split_rules.rule_shares(db, [r.id for r in rules])
    return render(
        request,
        "finance/split_rules.html",
        status=status,
        form=form or FormState({"active": "1"}),
        rules=[(r, shares[r.id], split_rules.example_split(shares[r.id])) for r in rules],
        rows=range(SHARE_ROWS),
        centre_options=await cost_centres.cost_centre_options(db),
        **settings_ctx(request),
    )


@get(RULES, opt=perm(FIN_LEDGER_READ))
async def rule_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    return await _rules_page(request, db)


@post(RULES, opt=perm(FIN_SETTINGS_MANAGE))
async def rule_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    values, rows = _rule_values(form)
    try:
        rule = await split_rules.create_split_rule(db, principal(request), values)
    except DomainError as exc:
        await db.rollback()
        return await _rules_page(request, db, FormState(form, _renumbered(exc, rows)), status=422)
    flash(request, "success", i18n.gettext("The split rule {code} is added.", code=rule.code))
    return redirect(f"{RULES}/{rule.id}", request)


async def _rule_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    rule_id: int,
    form: FormState | None = None,
    status: int = 200,
) -> Response[Any]:
    rule = await split_rules.get_split_rule(db, rule_id)
    shares = (await split_rules.rule_shares(db, [rule.id]))[rule.id]
    rows = max(SHARE_ROWS, len(shares) + 2)
    if form is None:
        values: dict[str, Any] = {"code": rule.code, "name": rule.name, "active": "1" if rule.active else ""}
        for k, (code, share) in enumerate(shares):
            values |= {f"shares.{k}.cost_centre": code, f"shares.{k}.percent": percent(share)}
        form = FormState(values)
    return render(
        request,
        "finance/split_rule.html",
        status=status,
        form=form,
        rule=rule,
        example=[
            (code, share, part)
            for (code, share), (_code, part) in zip(shares, split_rules.example_split(shares), strict=True)
        ],
        rows=range(rows),
        centre_options=await cost_centres.cost_centre_options(db),
        **settings_ctx(request),
    )


@get(f"{RULES}/{{rule_id:int}}", opt=perm(FIN_LEDGER_READ, resource="fin_split_rules"))
async def rule_detail(
    request: Request[Any, Any, Any], db: DbSession, rule_id: FromPath[int]
) -> Response[Any]:
    return await _rule_page(request, db, rule_id)


@post(f"{RULES}/{{rule_id:int}}", opt=perm(FIN_SETTINGS_MANAGE, resource="fin_split_rules"))
async def rule_save(request: Request[Any, Any, Any], db: DbSession, rule_id: FromPath[int]) -> Response[Any]:
    await split_rules.get_split_rule(db, rule_id)  # a missing rule is a 404 whatever the form says
    form = await form_data(request)
    values, rows = _rule_values(form)
    try:
        rule = await split_rules.update_split_rule(db, principal(request), rule_id, values)
    except DomainError as exc:
        await db.rollback()
        return await _rule_page(request, db, rule_id, FormState(form, _renumbered(exc, rows)), status=422)
    flash(request, "success", i18n.gettext("The split rule {code} is saved.", code=rule.code))
    return redirect(f"{RULES}/{rule.id}", request)


# --- income and expenses by cost centre ----------------------------------------------------------


@get(REPORT, opt=perm(FIN_LEDGER_READ))
async def report_page(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    typed, span, error = report_range(request)
    report = await cost_centre_report.cost_centre_report(db, *span) if span else None
    return render(
        request,
        "finance/cost_centre_report.html",
        status=422 if error else 200,
        form=FormState(typed, error),
        report=report,
        **settings_ctx(request),
    )


@get(f"{REPORT}/export.csv", opt=perm(FIN_LEDGER_READ))
async def report_export(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    _typed, span, error = report_range(request)
    if span is None:
        assert error is not None
        raise error
    report = await cost_centre_report.cost_centre_report(db, *span)
    _ = i18n.gettext
    rows = [
        [
            c.code or "",
            c.name if c.code else _("No cost centre"),
            a.code,
            a.name,
            str(a.amount) if a.type == "income" else "",
            str(a.amount) if a.type == "expense" else "",
        ]
        for c in report.centres
        for a in c.accounts
    ]
    header = [
        _("Cost centre"),
        _("Cost centre name"),
        i18n.pgettext("ledger account", "Account"),
        _("Account name"),
        _("Income"),
        _("Expenses"),
    ]
    name = f"cost-centres-{report.date_from.isoformat()}-{report.date_to.isoformat()}.csv"
    return csv_download(csv_bytes(header, rows), name)


ROUTES: list[HTTPRouteHandler] = [
    centre_list,
    centre_create,
    centre_detail,
    centre_save,
    rule_list,
    rule_create,
    rule_detail,
    rule_save,
    report_page,
    report_export,
]
