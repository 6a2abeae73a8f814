"""Staff side: invite a contact to the customer portal (CRM-12).

The contact page shows the contact's portal access with the fragment
``customer/_portal_access.html`` (context: ``contact`` and ``portal_status`` from
``portal_access.portal_status``); its button posts here. An htmx post gets the fragment back;
a plain post is redirected to ``next`` (the contact page) with a message.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from app.crm.services import portal_access
from app.crm.services.contacts import get_contact
from app.kernel import i18n
from app.kernel.errors import DomainError
from app.kernel.web import DbSession
from app.security.permissions import ADMIN_USERS_MANAGE
from portals.forms import wants_fragment
from portals.web import flash, form_data, perm, principal, redirect, render, safe_next


@post(
    "/crm/contacts/{contact_id:int}/portal-invitation", opt=perm(ADMIN_USERS_MANAGE, resource="crm_contacts")
)
async def invite_to_portal(
    request: Request[Any, Any, Any], db: DbSession, contact_id: FromPath[int]
) -> Response[Any]:
    p = principal(request)
    contact = await get_contact(db, p, contact_id)  # not visible to the inviter: 404
    back = safe_next((await form_data(request)).get("next"), default=f"/crm/contacts/{contact.id}")
    email = contact.email
    try:
        invitation = await portal_access.invite_contact(db, p, contact.id)
    except DomainError as exc:
        await db.rollback()
        message = i18n.gettext(exc.message, **exc.params)
        contact = await get_contact(db, p, contact_id)
        if wants_fragment(request):
            status = await portal_access.portal_status(db, contact)
            return render(
                request,
                "customer/_portal_access.html",
                contact=contact,
                portal_status=status,
                error=message,
                back=back,
                status=exc.status,
            )
        return render(request, "customer/invite_refused.html", message=message, back=back, status=exc.status)
    if invitation is None:
        message = i18n.gettext(
            "{email} already had a customer sign-in; it is now linked to this contact.", email=email
        )
    else:
        message = i18n.gettext(
            "Invitation sent to {email}. Once they accept it, they can use the customer portal.", email=email
        )
    if wants_fragment(request):
        status = await portal_access.portal_status(db, contact)
        return render(
            request, "customer/_portal_access.html", contact=contact, portal_status=status, notice=message
        )
    flash(request, "success", message)
    return redirect(back, request)


ROUTES: list[HTTPRouteHandler] = [invite_to_portal]
