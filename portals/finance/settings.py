"""Finance › Settings: the chart, base currency, when orders are invoiced, payment terms, and the
posting rules (docs/finance-settings.md). Everyone with ``fin.ledger.read`` sees them; holders of
``fin.settings.manage`` change them. Showing the page never installs the chart, so it can still be
chosen here before finance is first used."""

from __future__ import annotations

from typing import Any

from babel import numbers
from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.services import finance_settings, posting_rules
from app.kernel import i18n
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import FIN_LEDGER_READ, FIN_SETTINGS_MANAGE
from portals.finance.settings_common import SETTINGS, settings_ctx
from portals.nav import NavItem, register
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

RULES = f"{SETTINGS}/posting-rules"
register(
    NavItem(
        lazy("Finance"), lazy("Finance settings"), SETTINGS, FIN_SETTINGS_MANAGE, icon="settings", order=90
    )
)


def _currencies() -> list[tuple[str, str]]:
    loc = i18n.babel_locale()
    return [
        (c, f"{c} – {numbers.get_currency_name(c, locale=loc)}")
        for c in sorted(finance_settings.currency_codes())
    ]


async def _settings_page(
    request: Request[Any, Any, Any], db: AsyncSession, form: FormState | None = None, status: int = 200
) -> Response[Any]:
    view = await finance_settings.settings_view(db)
    if form is None:
        form = FormState(
            {
                "chart_template": view.chart_template or view.suggested_template,
                "base_currency": view.base_currency,
                "invoice_on": view.invoice_on,
                "payment_terms_days": str(view.payment_terms_days),
            }
        )
    return render(
        request,
        "finance/settings.html",
        status=status,
        form=form,
        view=view,
        templates=[(k, i18n.gettext(v)) for k, v in finance_settings.TEMPLATE_LABELS.items()],
        template_labels=finance_settings.TEMPLATE_LABELS,
        invoice_options=[(k, i18n.gettext(v)) for k, v in finance_settings.INVOICE_ON.items()],
        invoice_labels=finance_settings.INVOICE_ON,
        currencies=_currencies(),
        **settings_ctx(request),
    )


@get(SETTINGS, opt=perm(FIN_LEDGER_READ))
async def settings_page(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    return await _settings_page(request, db)


@post(SETTINGS, opt=perm(FIN_SETTINGS_MANAGE))
async def settings_save(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    fields = ("chart_template", "base_currency", "invoice_on", "payment_terms_days")
    try:
        await finance_settings.update_settings(
            db, principal(request), {k: form[k] for k in fields if k in form}
        )
    except DomainError as exc:
        await db.rollback()
        return await _settings_page(request, db, FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("The finance settings are saved."))
    return redirect(SETTINGS, request)


async def _rules_page(
    request: Request[Any, Any, Any], db: AsyncSession, form: FormState | None = None, status: int = 200
) -> Response[Any]:
    views = await posting_rules.rule_views(db)
    if form is None:
        form = FormState({f"rules.{v.role}": v.account.code if v.chosen else "" for v in views})
    return render(
        request,
        "finance/posting_rules.html",
        status=status,
        form=form,
        rules=views,
        candidates=await posting_rules.candidates(db),
        **settings_ctx(request),
    )


@get(RULES, opt=perm(FIN_LEDGER_READ))
async def rules_page(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    return await _rules_page(request, db)


@post(RULES, opt=perm(FIN_SETTINGS_MANAGE))
async def rules_save(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    changes = {k.removeprefix("rules."): str(v or "") for k, v in form.items() if k.startswith("rules.")}
    try:
        await posting_rules.choose_accounts(db, principal(request), changes)
    except DomainError as exc:
        await db.rollback()
        return await _rules_page(request, db, FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("The posting rules are saved."))
    return redirect(RULES, request)


ROUTES: list[HTTPRouteHandler] = [settings_page, settings_save, rules_page, rules_save]
