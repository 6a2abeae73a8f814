"""Logging calls, meetings, e-mails, inquiries, complaints and notes on the timeline."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath

from app.crm.services import accounts, activities
from app.kernel import i18n
from app.kernel.errors import DomainError
from app.kernel.web import DbSession
from app.security.permissions import CRM_ACCOUNT_READ, CRM_ACCOUNT_WRITE
from portals.crm.profile import profile_page, timeline_context
from portals.forms import viewer_tz, wants_fragment
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

TARGET = "timeline-block"


@post("/crm/accounts/{account_id:int}/activities", opt=perm(CRM_ACCOUNT_WRITE, resource="crm_accounts"))
async def activity_log(
    request: Request[Any, Any, Any], db: DbSession, account_id: FromPath[int]
) -> Response[Any]:
    """Log an interaction from the profile; htmx gets the timeline block back (a fresh form and
    the new entry on top), or the block with the form's errors (422)."""
    p = principal(request)
    account = await accounts.get_writable_account(db, p, account_id)
    form = await form_data(request)
    try:
        activity = await activities.log_activity(db, p, account.id, form, tz=viewer_tz(request))
    except DomainError as exc:
        await db.rollback()
        account = await accounts.get_account(db, p, account_id)
        state = FormState(form, exc)
        if not wants_fragment(request):
            return await profile_page(request, db, account, status=422, activity_form=state)
        response = render(
            request,
            "crm/_timeline_block.html",
            status=422,
            **await timeline_context(request, db, account, activity_form=state),
        )
        response.headers["HX-Retarget"] = f"#{TARGET}"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    label = i18n.gettext(activities.KIND_LABELS[activity.kind])
    if not wants_fragment(request):
        flash(request, "success", i18n.gettext("{kind} logged.", kind=label))
        return redirect(f"/crm/accounts/{account.id}", request)
    ctx = await timeline_context(request, db, account, activity_form=FormState({"kind": activity.kind}))
    return render(request, "crm/_timeline_block.html", logged=label, **ctx)


@post("/crm/activities/{activity_id:int}/done", opt=perm(CRM_ACCOUNT_WRITE, resource="crm_activities"))
async def task_done(
    request: Request[Any, Any, Any], db: DbSession, activity_id: FromPath[int]
) -> Response[Any]:
    p = principal(request)
    activity = await activities.complete_task(db, p, activity_id)
    assert activity.account_id is not None
    account = await accounts.get_account(db, p, activity.account_id)
    if not wants_fragment(request):
        flash(request, "success", i18n.gettext("Task done: {subject}", subject=activity.subject))
        return redirect(f"/crm/accounts/{account.id}", request)
    return render(request, "crm/_timeline_block.html", **await timeline_context(request, db, account))


@get("/crm/activities/{activity_id:int}", opt=perm(CRM_ACCOUNT_READ, resource="crm_activities"))
async def activity_detail(
    request: Request[Any, Any, Any], db: DbSession, activity_id: FromPath[int]
) -> Response[Any]:
    """An activity's permanent link: its account's profile."""
    activity = await activities.get_activity(db, principal(request), activity_id)
    return redirect(f"/crm/accounts/{activity.account_id}")


ROUTES = [activity_log, task_done, activity_detail]
