"""Sales › Opportunities: the filterable list (and its CSV), a deal's page, create and edit forms,
and the no-JavaScript stage change (CRM-3).

Every read starts from ``visible()`` — the record rules — so the list, the export, the pickers and
the detail page show exactly the deals the reader may see.
"""

from __future__ import annotations

from typing import Any, cast

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, Contact, Opportunity, PipelineStage
from app.crm.services import opportunities, opportunity_history, reps, stages
from app.crm.services.forecast import add_months
from app.crm.services.visibility import account_choices, visible_accounts
from app.kernel import i18n
from app.kernel.csvfile import csv_bytes
from app.kernel.db import utcnow
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.models import User
from app.security.permissions import CRM_OPPORTUNITY_READ, CRM_OPPORTUNITY_WRITE, CRM_ORDER_READ, Scope
from app.security.principal import Principal
from app.security.record_rules import can_write, restrict
from portals.exports import csv_download, export_rows, order_for
from portals.forms import optional_id, viewer_tz, wants_fragment
from portals.nav import NavItem, register
from portals.sales import opportunity_table as table
from portals.tables import TableSpec, apply_query, fetch_page, parse_query
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

BASE = "/sales/opportunities"
ACCOUNT_CHOICES = 50

register(NavItem(lazy("Sales"), lazy("Opportunities"), BASE, CRM_OPPORTUNITY_READ, icon="target", order=20))


def visible(p: Principal) -> Select[Any]:
    """Deals the principal may see, with what a row shows next to them (account, owner)."""
    stmt = cast(
        Select[Any],
        (
            select(Opportunity, Account.name.label("account_name"), User.full_name.label("owner_name"))
            .join(Account, Account.id == Opportunity.account_id)
            .join(PipelineStage, PipelineStage.id == Opportunity.stage_id)
            .outerjoin(User, User.id == Opportunity.owner_id)
        ),
    )
    return restrict(stmt, Opportunity, p, CRM_OPPORTUNITY_READ)


async def _spec(db: AsyncSession, p: Principal) -> tuple[TableSpec, list[PipelineStage]]:
    stage_list = await stages.list_stages(db)
    people = await reps.staff_in_scope(db, p, CRM_OPPORTUNITY_READ)
    team_list = await reps.teams_in_scope(db, p, CRM_OPPORTUNITY_READ)
    today = utcnow().date()
    return table.spec(stage_list, people, team_list, today), stage_list


@get(BASE, opt=perm(CRM_OPPORTUNITY_READ))
async def opportunity_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    p = principal(request)
    spec, stage_list = await _spec(db, p)
    page = await fetch_page(db, visible(p), spec, parse_query(request.query_params, spec), scalars=False)
    ctx: dict[str, Any] = {
        "page": page,
        "base": BASE,
        "stage_by_id": {s.id: s for s in stage_list},
        "today_date": utcnow().date(),
        "can_create": p.can(CRM_OPPORTUNITY_WRITE),
    }
    if wants_fragment(request):
        return render(request, "sales/_opportunities_table.html", **ctx)
    return render(request, "sales/opportunities.html", **ctx)


@get(f"{BASE}/export.csv", opt=perm(CRM_OPPORTUNITY_READ))
async def opportunity_export(request: Request[Any, Any, Any], db: DbSession) -> Response[bytes]:
    """The list as CSV: the same record rules, filters, search and sort as the table."""
    p = principal(request)
    spec, stage_list = await _spec(db, p)
    stmt = apply_query(visible(p), spec, parse_query(request.query_params, spec))
    stmt = stmt.add_columns(Opportunity.team_id).order_by(*order_for(spec, request.query_params))
    rows = await export_rows(db, stmt, scalars=False)
    teams = await reps.team_names(db, (r[0].team_id for r in rows))
    by_id = {s.id: s for s in stage_list}
    body = csv_bytes(
        [i18n.gettext(h) for h in table.EXPORT_HEADERS],
        (table.export_row(r[0], r.account_name, r.owner_name, teams, by_id[r[0].stage_id]) for r in rows),
    )
    return csv_download(body, f"opportunities-{utcnow().date().isoformat()}.csv")


# --- pickers for the form (htmx) ---------------------------------------------------------------


async def account_options(
    db: AsyncSession, p: Principal, q: str = "", selected: int | None = None
) -> list[Account]:
    return await account_choices(db, p, q=q, selected=selected, limit=ACCOUNT_CHOICES)


async def contact_options(db: AsyncSession, p: Principal, account_id: int | None) -> list[Contact]:
    if account_id is None:
        return []
    stmt = (
        select(Contact)
        .where(Contact.account_id == account_id, Contact.archived_at.is_(None))
        .where(Contact.account_id.in_(visible_accounts(p).with_only_columns(Account.id)))
        .order_by(Contact.full_name)
    )
    return list((await db.execute(stmt.limit(200))).scalars())


@get(f"{BASE}/account-options", opt=perm(CRM_OPPORTUNITY_WRITE))
async def account_picker(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    q = str(request.query_params.get("account_q") or "").strip()[:100]
    accounts = await account_options(db, principal(request), q)
    options = [(a.id, a.name) for a in accounts]
    blank = None if accounts else i18n.gettext("No account matches")
    return render(request, "sales/_opportunity_options.html", options=options, blank=blank)


@get(f"{BASE}/contact-options", opt=perm(CRM_OPPORTUNITY_WRITE))
async def contact_picker(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    account_id = optional_id(request.query_params.get("account_id"))
    people = await contact_options(db, principal(request), account_id)
    options = [(c.id, c.full_name) for c in people]
    return render(
        request, "sales/_opportunity_options.html", options=options, blank=i18n.gettext("No contact")
    )


async def _form(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    form: FormState,
    *,
    opp: Opportunity | None = None,
    status: int = 200,
) -> Response[Any]:
    p = principal(request)
    account_id = optional_id(form.value("account_id")) or (opp.account_id if opp else None)
    owners = await reps.staff_in_scope(db, p, CRM_OPPORTUNITY_WRITE)
    if opp is not None and opp.owner_id and all(u.id != opp.owner_id for u in owners):
        current = await db.get(User, opp.owner_id)
        if current is not None:
            owners.insert(0, current)  # keep today's owner choosable
    # The lost stage needs a reason: deals are closed as lost from their page or the board.
    open_or_won = [s for s in await stages.list_stages(db, active_only=True) if not s.is_lost]
    return render(
        request,
        "sales/opportunity_form.html",
        status=status,
        form=form,
        opp=opp,
        accounts=await account_options(db, p, selected=account_id),
        contact_options=[(c.id, c.full_name) for c in await contact_options(db, p, account_id)],
        stage_options=[(s.id, i18n.gettext(s.name)) for s in open_or_won],
        owner_options=[(u.id, u.full_name) for u in owners],
        allow_unassigned=p.scope_for(CRM_OPPORTUNITY_WRITE) == Scope.ALL,
        source_options=[(k, i18n.gettext(v)) for k, v in table.SOURCES],
        currency=opportunities.base_currency(),
    )


def _with_ids(form: dict[str, Any]) -> dict[str, Any]:
    """The form's <select>s of records as ids: anything that is not a number names no record, so
    the service answers "choose an existing …" rather than "enter a whole number"."""
    return {k: optional_id(v) if k in table.ID_FIELDS else v for k, v in form.items()}


@get(f"{BASE}/new", opt=perm(CRM_OPPORTUNITY_WRITE))
async def opportunity_new(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    p = principal(request)
    values = {
        "account_id": request.query_params.get("account_id", ""),
        "owner_id": p.id if p.kind == "user" else "",
        "currency": opportunities.base_currency(),
        "expected_close_date": add_months(utcnow().date().replace(day=1), 2).isoformat(),
    }
    return await _form(request, db, FormState(values))


@post(BASE, opt=perm(CRM_OPPORTUNITY_WRITE))
async def opportunity_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    try:
        opp = await opportunities.create_opportunity(db, principal(request), _with_ids(form))
    except DomainError as exc:
        await db.rollback()
        return await _form(request, db, FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("The opportunity {name} is created.", name=opp.name))
    return redirect(f"{BASE}/{opp.id}", request)


async def _detail(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    opp: Opportunity,
    *,
    stage_form: FormState | None = None,
    status: int = 200,
) -> Response[Any]:
    p = principal(request)
    stage_list = await stages.list_stages(db)
    account = await db.get(Account, opp.account_id)
    activities = await opportunity_history.activities_for(db, p, opp)
    quotes, orders = await opportunity_history.documents_for(db, p, opp)
    names = await reps.user_names(db, [opp.owner_id])
    contact = await db.get(Contact, opp.contact_id) if opp.contact_id else None
    return render(
        request,
        "sales/opportunity_detail.html",
        status=status,
        opp=opp,
        stage=next(s for s in stage_list if s.id == opp.stage_id),
        stage_list=stage_list,
        account=account,
        contact=contact,
        owner_name=names.get(opp.owner_id or 0),
        team_name=(await reps.team_names(db, [opp.team_id])).get(opp.team_id or 0),
        history=await opportunity_history.stage_history(db, opp.id),
        activities=activities,
        authors=await opportunity_history.author_names(db, activities),
        quotes=quotes,
        orders=orders,
        show_documents=p.can(CRM_ORDER_READ),
        can_edit=can_write(opp, p, CRM_OPPORTUNITY_WRITE),
        stage_form=stage_form or FormState({"stage_id": opp.stage_id}),
        activity_kinds=table.ACTIVITY_KINDS,
        source_labels=dict(table.SOURCES),
        document_statuses=table.DOCUMENT_STATUSES,
        tz=viewer_tz(request),
        today=utcnow().date(),
    )


@get(f"{BASE}/{{opportunity_id:int}}", opt=perm(CRM_OPPORTUNITY_READ, resource="crm_opportunities"))
async def opportunity_detail(
    request: Request[Any, Any, Any], db: DbSession, opportunity_id: FromPath[int]
) -> Response[Any]:
    return await _detail(
        request, db, await opportunities.get_opportunity(db, principal(request), opportunity_id)
    )


@get(f"{BASE}/{{opportunity_id:int}}/edit", opt=perm(CRM_OPPORTUNITY_WRITE, resource="crm_opportunities"))
async def opportunity_edit(
    request: Request[Any, Any, Any], db: DbSession, opportunity_id: FromPath[int]
) -> Response[Any]:
    opp = await opportunities.get_writable_opportunity(db, principal(request), opportunity_id)
    return await _form(request, db, FormState(table.form_values(opp)), opp=opp)


@post(f"{BASE}/{{opportunity_id:int}}", opt=perm(CRM_OPPORTUNITY_WRITE, resource="crm_opportunities"))
async def opportunity_save(
    request: Request[Any, Any, Any], db: DbSession, opportunity_id: FromPath[int]
) -> Response[Any]:
    p = principal(request)
    opp = await opportunities.get_writable_opportunity(db, p, opportunity_id)
    form = await form_data(request)
    changes = _with_ids({k: form.get(k, "") for k in table.EDIT_FIELDS})
    try:
        await opportunities.update_opportunity(db, p, opp.id, changes)
    except DomainError as exc:
        await db.rollback()
        opp = await opportunities.get_writable_opportunity(db, p, opportunity_id)
        return await _form(request, db, FormState(form, exc), opp=opp, status=422)
    flash(request, "success", i18n.gettext("The changes to {name} are saved.", name=opp.name))
    return redirect(f"{BASE}/{opp.id}", request)


@post(f"{BASE}/{{opportunity_id:int}}/stage", opt=perm(CRM_OPPORTUNITY_WRITE, resource="crm_opportunities"))
async def opportunity_stage(
    request: Request[Any, Any, Any], db: DbSession, opportunity_id: FromPath[int]
) -> Response[Any]:
    """The stage <select> on the deal's page: the board's drag-and-drop without JavaScript."""
    p = principal(request)
    opp = await opportunities.get_writable_opportunity(db, p, opportunity_id)
    form = await form_data(request)
    try:
        await opportunities.move_to_stage(
            db,
            p,
            opp.id,
            optional_id(form.get("stage_id")),
            probability=form.get("probability") or None,
            lost_reason=form.get("lost_reason"),
        )
    except DomainError as exc:
        await db.rollback()
        opp = await opportunities.get_opportunity(db, p, opportunity_id)
        return await _detail(request, db, opp, stage_form=FormState(form, exc), status=422)
    stage = await stages.get_stage(db, opp.stage_id)
    flash(
        request,
        "success",
        i18n.gettext("{name} is now in {stage}.", name=opp.name, stage=i18n.gettext(stage.name)),
    )
    return redirect(safe_back(form.get("next"), f"{BASE}/{opp.id}"), request)


def safe_back(target: object, default: str) -> str:
    text = str(target or "")
    return text if text.startswith("/sales/") and "//" not in text and "\\" not in text else default


ROUTES = [
    opportunity_list,
    opportunity_export,
    account_picker,
    contact_picker,
    opportunity_new,
    opportunity_create,
    opportunity_detail,
    opportunity_edit,
    opportunity_save,
    opportunity_stage,
]
