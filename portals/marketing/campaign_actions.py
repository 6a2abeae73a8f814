"""The campaign's life-cycle buttons: send now, schedule, unschedule, cancel, complete; recording a
response by hand; and the live e-mail preview of the editor.

Every action answers with a redirect and a flash, or re-renders the campaign page with the error
(status 422) — the database unchanged, the request's transaction rolled back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response, post
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.services import campaign_sending, campaigns
from app.kernel import i18n
from app.kernel.errors import DomainError, ValidationFailed
from app.kernel.web import DbSession
from app.security.permissions import CRM_CAMPAIGN_SEND, CRM_CAMPAIGN_WRITE
from portals.forms import optional_id, viewer_tz
from portals.marketing.campaign_view import BASE, campaign_page, mail_preview
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

RESOURCE = "crm_campaigns"


async def _act(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    campaign_id: int,
    action: Callable[[dict[str, Any]], Awaitable[str]],
) -> Response[Any]:
    """Run ``action`` (returns the success message); on a refusal, show the page with the error."""
    campaign = await campaigns.get_campaign(db, campaign_id)  # another tenant's id: 404 first
    form = await form_data(request)
    try:
        message = await action(form)
    except DomainError as exc:
        await db.rollback()
        campaign = await campaigns.get_campaign(db, campaign_id)
        if isinstance(exc, ValidationFailed):
            return await campaign_page(request, db, campaign, form=FormState(form, exc), status=422)
        return await campaign_page(
            request, db, campaign, action_error=i18n.gettext(exc.message, **exc.params), status=422
        )
    flash(request, "success", message)
    return redirect(f"{BASE}/{campaign.id}", request)


@post(f"{BASE}/{{campaign_id:int}}/send", opt=perm(CRM_CAMPAIGN_SEND, resource=RESOURCE))
async def campaign_send(
    request: Request[Any, Any, Any], db: DbSession, campaign_id: FromPath[int]
) -> Response[Any]:
    async def send(form: dict[str, Any]) -> str:
        count = await campaign_sending.start_sending(db, campaign_id)
        return i18n.ngettext(
            "Sending to {n} recipient has started.", "Sending to {n} recipients has started.", count
        )

    return await _act(request, db, campaign_id, send)


@post(f"{BASE}/{{campaign_id:int}}/schedule", opt=perm(CRM_CAMPAIGN_SEND, resource=RESOURCE))
async def campaign_schedule(
    request: Request[Any, Any, Any], db: DbSession, campaign_id: FromPath[int]
) -> Response[Any]:
    tz = viewer_tz(request)

    async def schedule(form: dict[str, Any]) -> str:
        campaign = await campaigns.schedule_campaign(db, campaign_id, str(form.get("scheduled_at") or ""), tz)
        assert campaign.scheduled_at is not None
        return i18n.gettext(
            "The campaign is scheduled for {when}.", when=i18n.format_datetime(campaign.scheduled_at, tz)
        )

    return await _act(request, db, campaign_id, schedule)


@post(f"{BASE}/{{campaign_id:int}}/unschedule", opt=perm(CRM_CAMPAIGN_SEND, resource=RESOURCE))
async def campaign_unschedule(
    request: Request[Any, Any, Any], db: DbSession, campaign_id: FromPath[int]
) -> Response[Any]:
    async def unschedule(form: dict[str, Any]) -> str:
        await campaigns.unschedule_campaign(db, campaign_id)
        return i18n.gettext("The campaign is no longer scheduled; it is planned again.")

    return await _act(request, db, campaign_id, unschedule)


@post(f"{BASE}/{{campaign_id:int}}/cancel", opt=perm(CRM_CAMPAIGN_SEND, resource=RESOURCE))
async def campaign_cancel(
    request: Request[Any, Any, Any], db: DbSession, campaign_id: FromPath[int]
) -> Response[Any]:
    async def cancel(form: dict[str, Any]) -> str:
        await campaigns.cancel_campaign(db, campaign_id)
        return i18n.gettext("The campaign is cancelled. Recipients not yet mailed will not be.")

    return await _act(request, db, campaign_id, cancel)


@post(f"{BASE}/{{campaign_id:int}}/complete", opt=perm(CRM_CAMPAIGN_WRITE, resource=RESOURCE))
async def campaign_complete(
    request: Request[Any, Any, Any], db: DbSession, campaign_id: FromPath[int]
) -> Response[Any]:
    async def complete(form: dict[str, Any]) -> str:
        await campaigns.complete_campaign(db, campaign_id)
        return i18n.gettext("The campaign is completed.")

    return await _act(request, db, campaign_id, complete)


@post(f"{BASE}/{{campaign_id:int}}/responses", opt=perm(CRM_CAMPAIGN_WRITE, resource=RESOURCE))
async def campaign_response(
    request: Request[Any, Any, Any], db: DbSession, campaign_id: FromPath[int]
) -> Response[Any]:
    async def respond(form: dict[str, Any]) -> str:
        recipient = await campaigns.mark_responded(db, campaign_id, form.get("email"))
        return i18n.gettext("{email} is counted as a response.", email=recipient.email)

    return await _act(request, db, campaign_id, respond)


@post(f"{BASE}/preview", opt=perm(CRM_CAMPAIGN_WRITE))
async def campaign_preview(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    """The editor's live preview (htmx): the e-mail as a member of the chosen segment reads it."""
    form = await form_data(request)
    segment_id = optional_id(form.get("segment_id"))
    preview = await mail_preview(
        db, principal(request), str(form.get("subject") or ""), str(form.get("body") or ""),
        segment_id if segment_id and segment_id > 0 else None,
    )  # fmt: skip
    return render(request, "marketing/_campaign_preview.html", preview=preview)


ROUTES = [
    campaign_preview,
    campaign_send,
    campaign_schedule,
    campaign_unschedule,
    campaign_cancel,
    campaign_complete,
    campaign_response,
]
