"""Marketing › Web forms: lead-capture forms for the organisation's web site (CRM-2) — create,
edit, switch on and off, see how many people sent each, copy the code to embed it. The public
form itself (/f/<key>) is in portals/marketing/webform_public.py."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Campaign, WebForm
from app.crm.models.leads import SOURCE_LABELS
from app.crm.services import webforms
from app.kernel import i18n
from app.kernel.csvfile import csv_bytes
from app.kernel.db import utcnow
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import CRM_CAMPAIGN_READ, CRM_CAMPAIGN_WRITE
from portals.exports import csv_download
from portals.marketing import webform_public
from portals.nav import NavItem, register
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

BASE = "/marketing/forms"
FIELDS = ("name", "source", "campaign_id", "thank_you_message", "redirect_url", "active")

register(NavItem(lazy("Marketing"), lazy("Web forms"), BASE, CRM_CAMPAIGN_READ, icon="form", order=30))


async def _options(db: AsyncSession) -> dict[str, Any]:
    campaigns = (
        await db.execute(select(Campaign.id, Campaign.name).order_by(Campaign.id.desc()).limit(200))
    ).all()
    return {
        "campaign_options": [(c.id, c.name) for c in campaigns],
        "campaign_names": {c.id: c.name for c in campaigns},
        "source_options": [(k, i18n.gettext(v)) for k, v in SOURCE_LABELS.items()],
        "source_labels": SOURCE_LABELS,
    }


def _origin(request: Request[Any, Any, Any]) -> str:
    return str(request.base_url).rstrip("/")


async def _list(
    request: Request[Any, Any, Any], db: AsyncSession, form: FormState, status: int = 200
) -> Response[Any]:
    return render(
        request,
        "marketing/webforms.html",
        status=status,
        form=form,
        forms=await webforms.list_forms(db),
        can_write=principal(request).can(CRM_CAMPAIGN_WRITE),
        **await _options(db),
    )


@get(BASE, opt=perm(CRM_CAMPAIGN_READ))
async def form_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    return await _list(request, db, FormState({"active": "1", "source": "web_form"}))


EXPORT_HEADERS = [
    "ID",  # the same in every language: not a msgid
    lazy("Form"),
    lazy("Form address"),
    lazy("Source"),
    lazy("Campaign"),
    lazy("Submissions"),
    lazy("Status"),
]


async def _campaign_names(db: AsyncSession, ids: set[int]) -> dict[int, str]:
    """The names of exactly the campaigns the forms name (the list's picker holds the latest 200)."""
    if not ids:
        return {}
    rows = await db.execute(select(Campaign.id, Campaign.name).where(Campaign.id.in_(sorted(ids))))
    return {cid: name for cid, name in rows.all()}


@get(f"{BASE}/export.csv", opt=perm(CRM_CAMPAIGN_READ))
async def form_export(request: Request[Any, Any, Any], db: DbSession) -> Response[bytes]:
    """Every form the list shows, in its order, with its public address and submissions (each
    accepted submission is one new lead)."""
    forms = await webforms.list_forms(db)  # the list's own query: it shows every form
    names = await _campaign_names(db, {f.campaign_id for f in forms if f.campaign_id is not None})
    origin = _origin(request)

    def row(f: WebForm) -> list[Any]:
        status = i18n.pgettext("on/off setting", "Active") if f.active else i18n.gettext("Off")
        source = i18n.gettext(SOURCE_LABELS.get(f.source, f.source))
        campaign = names.get(f.campaign_id, "") if f.campaign_id else ""
        return [f.id, f.name, f"{origin}/f/{f.key}", source, campaign, f.submissions, status]

    body = csv_bytes([i18n.gettext(h) for h in EXPORT_HEADERS], (row(f) for f in forms))
    return csv_download(body, f"web-forms-{utcnow().date().isoformat()}.csv")


@post(BASE, opt=perm(CRM_CAMPAIGN_WRITE))
async def form_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = {k: v for k, v in (await form_data(request)).items() if k in FIELDS}
    try:
        created = await webforms.create_form(db, form)
    except DomainError as exc:
        await db.rollback()
        return await _list(request, db, FormState(form, exc), status=422)
    flash(
        request,
        "success",
        i18n.gettext("The form {name} is created. Copy its code below.", name=created.name),
    )
    return redirect(f"{BASE}/{created.id}", request)


async def _detail(
    request: Request[Any, Any, Any], db: AsyncSession, web_form: WebForm, form: FormState, status: int = 200
) -> Response[Any]:
    origin = _origin(request)
    return render(
        request,
        "marketing/webform_detail.html",
        status=status,
        web_form=web_form,
        form=form,
        public_url=f"{origin}/f/{web_form.key}",
        iframe_code=webform_public.iframe_snippet(origin, web_form),
        html_code=webform_public.html_snippet(origin, web_form),
        can_write=principal(request).can(CRM_CAMPAIGN_WRITE),
        **await _options(db),
    )


def _stored(web_form: WebForm) -> FormState:
    values = {k: getattr(web_form, k) for k in FIELDS}
    values["active"] = "1" if web_form.active else ""
    return FormState(values)


@get(f"{BASE}/{{form_id:int}}", opt=perm(CRM_CAMPAIGN_READ, resource="crm_web_forms"))
async def form_detail(
    request: Request[Any, Any, Any], db: DbSession, form_id: FromPath[int]
) -> Response[Any]:
    web_form = await webforms.get_form(db, form_id)
    return await _detail(request, db, web_form, _stored(web_form))


@post(f"{BASE}/{{form_id:int}}", opt=perm(CRM_CAMPAIGN_WRITE, resource="crm_web_forms"))
async def form_save(request: Request[Any, Any, Any], db: DbSession, form_id: FromPath[int]) -> Response[Any]:
    web_form = await webforms.get_form(db, form_id)
    form = {k: v for k, v in (await form_data(request)).items() if k in FIELDS}
    try:
        await webforms.update_form(db, web_form.id, form)
    except DomainError as exc:
        await db.rollback()
        return await _detail(
            request, db, await webforms.get_form(db, form_id), FormState(form, exc), status=422
        )
    flash(request, "success", i18n.gettext("The form {name} is saved.", name=web_form.name))
    return redirect(f"{BASE}/{web_form.id}", request)


@post(f"{BASE}/{{form_id:int}}/active", opt=perm(CRM_CAMPAIGN_WRITE, resource="crm_web_forms"))
async def form_toggle(
    request: Request[Any, Any, Any], db: DbSession, form_id: FromPath[int]
) -> Response[Any]:
    web_form = await webforms.get_form(db, form_id)
    on = (await form_data(request)).get("active") == "1"
    await webforms.set_active(db, web_form.id, on)
    if on:
        flash(
            request, "success", i18n.gettext("The form {name} accepts submissions again.", name=web_form.name)
        )
    else:
        flash(request, "success", i18n.gettext("The form {name} is switched off.", name=web_form.name))
    return redirect(f"{BASE}/{web_form.id}", request)


ROUTES = [form_list, form_export, form_create, form_detail, form_save, form_toggle, *webform_public.ROUTES]
