"""Sales › Leads: the list (filters, sort, search, CSV export), capture, the lead page with its
timeline, editing and qualification. Conversion and CSV import have their own modules."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Campaign, Lead
from app.crm.models.leads import SOURCE_LABELS, STATUS_LABELS
from app.crm.services import lead_activities, leads
from app.kernel import i18n
from app.kernel.errors import DomainError, NotFound
from app.kernel.i18n import lazy, lazy_p
from app.kernel.web import DbSession
from app.security.permissions import CRM_LEAD_READ, CRM_LEAD_WRITE
from app.security.principal import Principal
from portals.exports import ExportColumn, csv_export
from portals.forms import viewer_tz, wants_fragment
from portals.nav import NavItem, register
from portals.sales import lead_conversion, lead_import
from portals.sales.lead_list import fetch_leads, leads_table, owner_choices
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

BASE = "/sales/leads"
EDIT_FIELDS = ("full_name", "company", "title", "email", "phone", "region", "country", "industry", "source",
               "source_detail", "campaign_id", "owner_id", "score", "message")  # fmt: skip
ACTIVITY_LABELS = {
    "call": lazy("Call"),
    "email": lazy_p("channel", "E-mail"),
    "meeting": lazy("Meeting"),
    "note": lazy("Note"),
}

register(NavItem(lazy("Sales"), lazy("Leads"), BASE, CRM_LEAD_READ, icon="funnel", order=10))


# --- the list --------------------------------------------------------------------------------


@get(BASE, opt=perm(CRM_LEAD_READ))
async def lead_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    p = principal(request)
    spec = leads_table(p, await owner_choices(db, p))
    page = await fetch_leads(db, leads.visible_leads(p), spec, request.query_params)
    ctx: dict[str, Any] = {
        "page": page,
        "base": BASE,
        "owners": await leads.names_of(db, (r.owner_id for r in page.rows)),
        "status_labels": STATUS_LABELS,
        "source_labels": SOURCE_LABELS,
        "tz": viewer_tz(request),
        "export_query": request.url.query,
    }
    if wants_fragment(request):
        return render(request, "sales/_leads_table.html", **ctx)
    return render(request, "sales/leads.html", **ctx)


@get(f"{BASE}/export.csv", opt=perm(CRM_LEAD_READ))
async def lead_export(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    """Exactly the rows the list shows with these filters, sort and search (record rules included)."""
    p = principal(request)
    spec = leads_table(p, await owner_choices(db, p))
    staff = await leads.names_of(db, (u.id for u in await leads.assignable_owners(db, p)))

    def owner_name(lead: Lead) -> str:
        return staff.get(lead.owner_id, "") if lead.owner_id else ""

    columns = [
        ExportColumn(lazy("Name"), lambda r: r.full_name),
        ExportColumn(lazy("Company"), lambda r: r.company),
        ExportColumn(lazy("Job title"), lambda r: r.title),
        ExportColumn(lazy("E-mail"), lambda r: r.email),
        ExportColumn(lazy("Phone"), lambda r: r.phone),
        ExportColumn(lazy("Region"), lambda r: r.region),
        ExportColumn(lazy("Country"), lambda r: r.country),
        ExportColumn(lazy("Source"), lambda r: i18n.gettext(SOURCE_LABELS.get(r.source, r.source))),
        ExportColumn(lazy("Source detail"), lambda r: r.source_detail),
        ExportColumn(lazy("Status"), lambda r: i18n.gettext(STATUS_LABELS.get(r.status, r.status))),
        ExportColumn(lazy("Score"), lambda r: r.score),
        ExportColumn(lazy("Owner"), owner_name),
        ExportColumn(lazy("Disqualified because"), lambda r: r.disqualified_reason),
        ExportColumn(lazy("Created"), lambda r: r.created_at.isoformat(timespec="seconds")),
    ]
    return await csv_export(request, db, leads.visible_leads(p), spec, columns, "leads")


# --- capture and edit ------------------------------------------------------------------------


async def _form_context(db: AsyncSession, p: Principal) -> dict[str, Any]:
    campaigns = (
        await db.execute(select(Campaign.id, Campaign.name).order_by(Campaign.id.desc()).limit(200))
    ).all()
    return {
        "owner_options": [(u.id, u.full_name) for u in await leads.assignable_owners(db, p)],
        "source_options": [(k, i18n.gettext(v)) for k, v in SOURCE_LABELS.items()],
        "campaign_options": [(c.id, c.name) for c in campaigns],
    }


@get(f"{BASE}/new", opt=perm(CRM_LEAD_WRITE))
async def lead_new(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    p = principal(request)
    form = FormState({"owner_id": p.id, "source": "manual", "score": 0})
    return render(request, "sales/lead_form.html", form=form, lead=None, **await _form_context(db, p))


@post(BASE, opt=perm(CRM_LEAD_WRITE))
async def lead_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    p = principal(request)
    form = await form_data(request)
    try:
        lead = await leads.create_lead(db, p, form)
    except DomainError as exc:
        await db.rollback()
        ctx = await _form_context(db, p)
        return render(
            request, "sales/lead_form.html", status=422, form=FormState(form, exc), lead=None, **ctx
        )
    if lead.owner_id is None:
        flash(request, "warning", i18n.gettext("Lead {name} is saved. No rule matched: it is unassigned.",
                                               name=lead.full_name))  # fmt: skip
    elif lead.owner_id != p.id:
        owner = (await leads.names_of(db, [lead.owner_id])).get(lead.owner_id, "")
        flash(request, "success", i18n.gettext("Lead {name} is saved and assigned to {owner}.",
                                               name=lead.full_name, owner=owner))  # fmt: skip
    else:
        flash(request, "success", i18n.gettext("Lead {name} is saved.", name=lead.full_name))
    try:  # the rules may give it to someone the capturer cannot see: then back to the list
        await leads.get_lead(db, p, lead.id)
    except NotFound:
        return redirect(BASE, request)
    return redirect(f"{BASE}/{lead.id}", request)


def _stored(lead: Lead) -> FormState:
    return FormState({k: getattr(lead, k) for k in EDIT_FIELDS})


@get(f"{BASE}/{{lead_id:int}}/edit", opt=perm(CRM_LEAD_WRITE, resource="crm_leads"))
async def lead_edit(request: Request[Any, Any, Any], db: DbSession, lead_id: FromPath[int]) -> Response[Any]:
    p = principal(request)
    lead = await leads.get_writable_lead(db, p, lead_id)
    return render(
        request, "sales/lead_form.html", form=_stored(lead), lead=lead, **await _form_context(db, p)
    )


@post(f"{BASE}/{{lead_id:int}}", opt=perm(CRM_LEAD_WRITE, resource="crm_leads"))
async def lead_save(request: Request[Any, Any, Any], db: DbSession, lead_id: FromPath[int]) -> Response[Any]:
    p = principal(request)
    lead = await leads.get_writable_lead(db, p, lead_id)  # first: a hidden id is a 404 whatever the form
    form = await form_data(request)
    fields = {k: form.get(k) for k in EDIT_FIELDS}
    try:
        await leads.update_lead(db, p, lead.id, fields)
    except DomainError as exc:
        await db.rollback()
        lead = await leads.get_lead(db, p, lead_id)
        ctx = await _form_context(db, p)
        return render(
            request, "sales/lead_form.html", status=422, form=FormState(form, exc), lead=lead, **ctx
        )
    flash(request, "success", i18n.gettext("The changes to {name} are saved.", name=lead.full_name))
    return redirect(f"{BASE}/{lead.id}", request)


# --- the lead page ---------------------------------------------------------------------------


async def _detail(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    lead: Lead,
    *,
    status: int = 200,
    activity_form: FormState | None = None,
    qualify_form: FormState | None = None,
    action_error: str | None = None,
) -> Response[Any]:
    p = principal(request)
    timeline = await lead_activities.lead_activities(db, lead)
    dup_leads, dup_contacts = await leads.possible_duplicates(db, p, lead)
    names = await leads.names_of(db, [lead.owner_id, *(a.user_id for a in timeline)])
    campaign = await db.get(Campaign, lead.campaign_id) if lead.campaign_id else None
    return render(
        request,
        "sales/lead_detail.html",
        status=status,
        lead=lead,
        names=names,
        campaign=campaign,
        timeline=timeline,
        dup_leads=dup_leads,
        dup_contacts=dup_contacts,
        can_write=leads.may_write(lead, p) and p.can(CRM_LEAD_WRITE),
        status_labels=STATUS_LABELS,
        source_labels=SOURCE_LABELS,
        activity_labels=ACTIVITY_LABELS,
        activity_form=activity_form or FormState({"kind": "call", "direction": "out"}),
        qualify_form=qualify_form or FormState({"score": lead.score}),
        action_error=action_error,
        tz=viewer_tz(request),
    )


@get(f"{BASE}/{{lead_id:int}}", opt=perm(CRM_LEAD_READ, resource="crm_leads"))
async def lead_detail(
    request: Request[Any, Any, Any], db: DbSession, lead_id: FromPath[int]
) -> Response[Any]:
    return await _detail(request, db, await leads.get_lead(db, principal(request), lead_id))


async def _action(request: Request[Any, Any, Any], db: AsyncSession, lead_id: int, form_key: str, action: Any,
                  done: str) -> Response[Any]:  # fmt: skip
    """Run a lead action from the lead page; refused → the page again with the message, 422."""
    p = principal(request)
    lead = await leads.get_lead(db, p, lead_id)
    form = await form_data(request)
    try:
        await action(p, lead, form)
    except DomainError as exc:
        await db.rollback()
        lead = await leads.get_lead(db, p, lead_id)
        state = FormState(form, exc)
        message = None if exc.errors else state.message
        return await _detail(request, db, lead, status=422, action_error=message, **{form_key: state})
    flash(request, "success", i18n.gettext(done, name=lead.full_name))
    return redirect(f"{BASE}/{lead_id}", request)


@post(f"{BASE}/{{lead_id:int}}/status", opt=perm(CRM_LEAD_WRITE, resource="crm_leads"))
async def lead_status(
    request: Request[Any, Any, Any], db: DbSession, lead_id: FromPath[int]
) -> Response[Any]:
    async def act(p: Principal, lead: Lead, form: dict[str, Any]) -> None:
        data = {"status": form.get("status")}
        if str(form.get("score") or "").strip():
            data["score"] = form["score"]
        await leads.update_lead(db, p, lead.id, data)

    return await _action(request, db, lead_id, "qualify_form", act, lazy("The status of {name} is saved."))


@post(f"{BASE}/{{lead_id:int}}/disqualify", opt=perm(CRM_LEAD_WRITE, resource="crm_leads"))
async def lead_disqualify(
    request: Request[Any, Any, Any], db: DbSession, lead_id: FromPath[int]
) -> Response[Any]:
    async def act(p: Principal, lead: Lead, form: dict[str, Any]) -> None:
        await leads.disqualify_lead(db, p, lead.id, reason=form.get("reason"))

    return await _action(request, db, lead_id, "qualify_form", act, lazy("{name} is disqualified."))


@post(f"{BASE}/{{lead_id:int}}/activities", opt=perm(CRM_LEAD_WRITE, resource="crm_leads"))
async def lead_log_activity(
    request: Request[Any, Any, Any], db: DbSession, lead_id: FromPath[int]
) -> Response[Any]:
    async def act(p: Principal, lead: Lead, form: dict[str, Any]) -> None:
        await lead_activities.log_activity(db, p, lead.id, form)

    return await _action(request, db, lead_id, "activity_form", act, lazy("Logged on {name}'s timeline."))


ROUTES = [
    lead_list,
    lead_export,
    lead_new,
    lead_create,
    *lead_import.ROUTES,
    lead_detail,
    lead_edit,
    lead_save,
    lead_status,
    lead_disqualify,
    lead_log_activity,
    *lead_conversion.ROUTES,
]
