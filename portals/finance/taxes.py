"""Finance › Settings › Tax rates (VAT rates and the rate each product category uses) and
Finance › VAT summary (page and CSV). Rules: app/finance/services/tax_rates.py, vat_report.py."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm import interface as crm
from app.finance.models import Account
from app.finance.services import tax_rates, vat_report
from app.finance.services.setup import ensure_finance
from app.kernel import i18n
from app.kernel.csvfile import csv_bytes
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import FIN_LEDGER_READ, FIN_SETTINGS_MANAGE
from portals.exports import csv_download
from portals.finance.settings_common import SETTINGS, percent, report_range, settings_ctx
from portals.nav import NavItem, register
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

RATES = f"{SETTINGS}/tax-rates"
VAT = "/finance/vat"
register(NavItem(lazy("Finance"), lazy("VAT summary"), VAT, FIN_LEDGER_READ, icon="file", order=50))
RATE_FIELDS = ("code", "name", "rate", "output_account", "input_account")


async def _account_options(db: AsyncSession) -> dict[str, list[tuple[str, str]]]:
    rows = (
        await db.execute(
            select(Account).where(Account.postable.is_(True), Account.active.is_(True)).order_by(Account.code)
        )
    ).scalars()
    options: dict[str, list[tuple[str, str]]] = {side: [] for side in tax_rates.SIDE_TYPES}
    for a in rows:
        for side, types in tax_rates.SIDE_TYPES.items():
            if a.type in types:
                options[side].append((a.code, f"{a.code} {a.name}"))
    return options


async def _rates_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    form: FormState | None = None,
    category_form: FormState | None = None,
    status: int = 200,
) -> Response[Any]:
    rates = await tax_rates.list_tax_rates(db)
    categories = await tax_rates.category_rates(db)
    mapped = {c for c, _ in categories}
    return render(
        request,
        "finance/tax_rates.html",
        status=status,
        form=form or FormState({"active": "1"}),
        category_form=category_form or FormState(),
        rates=rates,
        categories=categories,
        catalogue=[c for c in await crm.product_categories(db) if c not in mapped],
        rate_options=[(str(r.id), f"{r.code} · {percent(r.rate)} %") for r, _, _ in rates if r.active],
        account_options=await _account_options(db),
        **settings_ctx(request),
    )


@get(RATES, opt=perm(FIN_LEDGER_READ))
async def rate_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    return await _rates_page(request, db)


@post(RATES, opt=perm(FIN_SETTINGS_MANAGE))
async def rate_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    try:
        rate = await tax_rates.create_tax_rate(
            db,
            principal(request),
            {k: form.get(k) for k in RATE_FIELDS} | {"active": bool(form.get("active"))},
        )
    except DomainError as exc:
        await db.rollback()
        return await _rates_page(request, db, FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("The tax rate {code} is added.", code=rate.code))
    return redirect(RATES, request)


async def _rate_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    rate_id: int,
    form: FormState | None = None,
    status: int = 200,
) -> Response[Any]:
    rate = await tax_rates.get_tax_rate(db, rate_id)
    output_code, input_code = await tax_rates.account_codes(db, rate)
    if form is None:
        form = FormState(
            {
                "name": rate.name,
                "rate": percent(rate.rate),
                "output_account": output_code,
                "input_account": input_code,
                "active": "1" if rate.active else "",
            }
        )
    return render(
        request,
        "finance/tax_rate.html",
        status=status,
        form=form,
        rate=rate,
        used=await tax_rates.rate_used(db, rate.id),
        categories=await tax_rates.categories_of(db, rate.id),
        account_options=await _account_options(db),
        **settings_ctx(request),
    )


@get(f"{RATES}/{{rate_id:int}}", opt=perm(FIN_LEDGER_READ, resource="fin_tax_rates"))
async def rate_detail(
    request: Request[Any, Any, Any], db: DbSession, rate_id: FromPath[int]
) -> Response[Any]:
    return await _rate_page(request, db, rate_id)


@post(f"{RATES}/{{rate_id:int}}", opt=perm(FIN_SETTINGS_MANAGE, resource="fin_tax_rates"))
async def rate_save(request: Request[Any, Any, Any], db: DbSession, rate_id: FromPath[int]) -> Response[Any]:
    await tax_rates.get_tax_rate(db, rate_id)  # a missing rate is a 404 whatever the form says
    form = await form_data(request)
    values = {k: form.get(k) for k in RATE_FIELDS[1:]} | {"active": bool(form.get("active"))}
    try:
        rate = await tax_rates.update_tax_rate(db, principal(request), rate_id, values)
    except DomainError as exc:
        await db.rollback()
        return await _rate_page(request, db, rate_id, FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("The tax rate {code} is saved.", code=rate.code))
    return redirect(RATES, request)


@post(f"{RATES}/categories", opt=perm(FIN_SETTINGS_MANAGE))
async def category_set(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    try:
        await tax_rates.set_category_rate(
            db, principal(request), form.get("category"), form.get("tax_rate_id")
        )
    except DomainError as exc:
        await db.rollback()
        return await _rates_page(request, db, category_form=FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("The category's VAT rate is saved."))
    return redirect(RATES, request)


@post(f"{RATES}/categories/remove", opt=perm(FIN_SETTINGS_MANAGE))
async def category_remove(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    try:
        await tax_rates.remove_category_rate(db, principal(request), form.get("category"))
    except DomainError as exc:
        await db.rollback()
        flash(request, "error", i18n.gettext(exc.message, **exc.params))
        return redirect(RATES, request)
    flash(request, "success", i18n.gettext("The category no longer has a VAT rate of its own."))
    return redirect(RATES, request)


# --- the VAT summary -----------------------------------------------------------------------------


@get(VAT, opt=perm(FIN_LEDGER_READ))
async def vat_page(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    typed, span, error = report_range(request)
    summary = None
    if span is not None:
        await ensure_finance(db)
        summary = await vat_report.vat_summary(db, *span)
    return render(
        request,
        "finance/vat_summary.html",
        status=422 if error else 200,
        form=FormState(typed, error),
        summary=summary,
        **settings_ctx(request),
    )


@get(f"{VAT}/export.csv", opt=perm(FIN_LEDGER_READ))
async def vat_export(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    _typed, span, error = report_range(request)
    if span is None:
        assert error is not None
        raise error
    await ensure_finance(db)
    s = await vat_report.vat_summary(db, *span)
    _ = i18n.gettext
    rows: list[list[Any]] = []
    for side, label in ((s.output, _("Output VAT")), (s.input, _("Input VAT"))):
        rows += [[label, r.code, r.name, str(r.rate), str(r.net), str(r.tax)] for r in side]
    rows += [
        [_("Output VAT"), "", _("Total"), "", str(s.output_net), str(s.output_tax)],
        [_("Input VAT"), "", _("Total"), "", str(s.input_net), str(s.input_tax)],
        [_("VAT payable"), "", "", "", "", str(s.payable)],
        [_("Ledger: output VAT accounts"), " ".join(s.output_accounts), "", "", "", str(s.ledger_output)],
        [_("Ledger: input VAT accounts"), " ".join(s.input_accounts), "", "", "", str(s.ledger_input)],
    ]
    header = [_("Section"), _("Rate code"), _("Name"), _("Rate (%)"), _("Net amount"), _("VAT")]
    return csv_download(csv_bytes(header, rows), f"vat-{s.date_from.isoformat()}-{s.date_to.isoformat()}.csv")


ROUTES: list[HTTPRouteHandler] = [
    rate_list,
    rate_create,
    rate_detail,
    rate_save,
    category_set,
    category_remove,
    vat_page,
    vat_export,
]
