"""Sales › Leads › Convert: account (new, or an existing one the page proposes), contact and an
optional opportunity, in one step (app/crm/services/lead_conversion.py)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Lead
from app.crm.services import lead_conversion, leads
from app.crm.services.opportunities import active_stages
from app.kernel import i18n
from app.kernel.errors import DomainError
from app.kernel.web import DbSession
from app.security.permissions import CRM_LEAD_WRITE
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

BASE = "/sales/leads"


def _defaults(lead: Lead, suggested: list[Any]) -> FormState:
    return FormState(
        {
            "account_mode": "existing" if suggested else "new",
            "account_id": suggested[0].id if suggested else "",
            "account_name": lead.company or lead.full_name,
            "create_opportunity": "1",
            "opportunity_name": lead.company or lead.full_name,
        }
    )


async def _page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    lead: Lead,
    form: FormState | None = None,
    *,
    status: int = 200,
    action_error: str | None = None,
) -> Response[Any]:
    p = principal(request)
    suggested = await lead_conversion.likely_accounts(db, p, lead) if lead.status != "converted" else []
    chosen = str((form.value("account_id") if form else "") or "")
    found = []
    if chosen.isdigit() and len(chosen) < 18 and all(str(a.id) != chosen for a in suggested):
        account = await lead_conversion.visible_account(db, p, int(chosen))
        found = [account] if account is not None else []
    stages = [s for s in await active_stages(db) if not (s.is_won or s.is_lost)]
    return render(
        request,
        "sales/lead_convert.html",
        status=status,
        lead=lead,
        form=form or _defaults(lead, suggested),
        accounts=[*suggested, *found],
        suggested_ids={a.id for a in suggested},
        q="",
        stage_options=[(s.id, i18n.gettext(s.name)) for s in stages],
        action_error=action_error,
        currency=(
            request.scope["state"]["tenant"].currency if request.scope["state"].get("tenant") else "CNY"
        ),
    )


@get(f"{BASE}/{{lead_id:int}}/convert", opt=perm(CRM_LEAD_WRITE, resource="crm_leads"))
async def convert_page(
    request: Request[Any, Any, Any], db: DbSession, lead_id: FromPath[int]
) -> Response[Any]:
    return await _page(request, db, await leads.get_writable_lead(db, principal(request), lead_id))


@get(f"{BASE}/{{lead_id:int}}/convert/accounts", opt=perm(CRM_LEAD_WRITE, resource="crm_leads"))
async def convert_account_search(
    request: Request[Any, Any, Any], db: DbSession, lead_id: FromPath[int]
) -> Response[Any]:
    """The account picker's search (htmx): visible accounts whose name contains ``q``."""
    p = principal(request)
    await leads.get_writable_lead(db, p, lead_id)
    q = str(request.query_params.get("q") or "")
    found = await lead_conversion.find_accounts(db, p, q)
    return render(
        request, "sales/_lead_convert_accounts.html", accounts=found, q=q, chosen="", suggested_ids=set()
    )


@post(f"{BASE}/{{lead_id:int}}/convert", opt=perm(CRM_LEAD_WRITE, resource="crm_leads"))
async def convert(request: Request[Any, Any, Any], db: DbSession, lead_id: FromPath[int]) -> Response[Any]:
    p = principal(request)
    lead = await leads.get_writable_lead(db, p, lead_id)  # first: a hidden id is a 404 whatever the form
    form = await form_data(request)
    try:
        done = await lead_conversion.convert_lead(db, p, lead.id, form)
    except DomainError as exc:
        await db.rollback()
        lead = await leads.get_lead(db, p, lead_id)
        state = FormState(form, exc)
        status = 422 if exc.errors else exc.status
        return await _page(
            request, db, lead, state, status=status, action_error=None if exc.errors else state.message
        )
    if done.opportunity is not None:
        message = i18n.gettext(
            "{name} is converted: account {account}, contact {contact} and opportunity {deal}.",
            name=lead.full_name, account=done.account.name, contact=done.contact.full_name,
            deal=done.opportunity.name,
        )  # fmt: skip
    else:
        message = i18n.gettext(
            "{name} is converted: account {account} and contact {contact}.",
            name=lead.full_name, account=done.account.name, contact=done.contact.full_name,
        )  # fmt: skip
    flash(request, "success", message)
    return redirect(f"{BASE}/{lead.id}", request)


ROUTES = [convert_page, convert_account_search, convert]
