"""Admin › Invitations: invite people by e-mail, see who accepted, resend or revoke.

The invite form posts with htmx: the answer replaces the invitations table and, out of band,
resets the form with a confirmation. Without JavaScript the same form is a plain POST followed by
a redirect; a refused invitation re-renders the form with its errors (422) either way.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel import i18n
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy, lazy_p
from app.kernel.web import DbSession
from app.security.models import Invitation
from app.security.permissions import ADMIN_USERS_MANAGE, ADMIN_USERS_READ
from app.security.services import invitations, roles, teams
from portals.admin.forms import NAV_SECTION, as_list, optional_id, viewer_tz, wants_fragment
from portals.nav import NavItem, register
from portals.tables import Column, Filter, TableSpec, fetch_page, parse_query
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

BASE = "/admin/invitations"
STATUS_LABELS = {
    "pending": lazy_p("invitation", "Pending"),
    "accepted": lazy("Accepted"),
    "expired": lazy("Expired"),
    "revoked": lazy("Revoked"),
}
TABLE = TableSpec(
    columns=[
        Column("email", lazy("Invitee"), sort=Invitation.email),
        Column("roles", lazy("Roles")),
        Column("status", lazy("Status")),
        Column("created", lazy("Invited on"), sort=Invitation.created_at),
        Column("expires", lazy("Expires"), sort=Invitation.expires_at),
        Column("actions", lazy("Actions")),
    ],
    default_sort="created",
    default_direction="desc",
    filters=[
        Filter("status", lazy("Status"), invitations.with_invitation_status, list(STATUS_LABELS.items()))
    ],
    search=invitations.search_invitations,
    tiebreak=Invitation.id,
)

register(NavItem(NAV_SECTION, lazy("Invitations"), BASE, ADMIN_USERS_READ, icon="mail", order=20))


async def _context(request: Request[Any, Any, Any], db: AsyncSession, params: Any) -> dict[str, Any]:
    all_roles = await roles.list_roles(db)
    team_list = await teams.list_teams(db)
    return {
        "page": await fetch_page(db, invitations.invitations_query(), TABLE, parse_query(params, TABLE)),
        "base": BASE,
        "status_labels": STATUS_LABELS,
        "role_names": {r.key: r.name for r in all_roles},
        "all_roles": all_roles,
        "team_options": [(t.id, t.name) for t in team_list],
        "tz": viewer_tz(request),
        "can_manage": principal(request).can(ADMIN_USERS_MANAGE),
    }


def _blank_form(request: Request[Any, Any, Any]) -> FormState:
    tenant = request.scope["state"]["tenant"]
    return FormState({"locale": tenant.locale, "roles": []})


@get(BASE, opt=perm(ADMIN_USERS_READ))
async def invitation_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    ctx = await _context(request, db, request.query_params)
    if wants_fragment(request):
        return render(request, "admin/_invitations_table.html", **ctx)
    return render(request, "admin/invitations.html", form=_blank_form(request), **ctx)


@post(BASE, opt=perm(ADMIN_USERS_MANAGE))
async def invitation_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    form["roles"] = as_list(form.get("roles"))
    try:
        inv = await invitations.invite_user(
            db,
            principal(request),
            email=form.get("email"),
            full_name=form.get("full_name"),
            role_keys=form["roles"],
            team_id=optional_id(form.get("team_id")),
            locale=form.get("locale"),
        )
    except DomainError as exc:
        await db.rollback()
        ctx = await _context(request, db, {})
        if wants_fragment(request):
            # htmx: the form with its errors goes back where it was (static/js/app.js swaps a 422
            # answer that names its target).
            response = render(
                request, "admin/_invite_form.html", form=FormState(form, exc), status=422, **ctx
            )
            response.headers.update({"HX-Retarget": "#invite-form", "HX-Reswap": "outerHTML"})
            return response
        return render(request, "admin/invitations.html", form=FormState(form, exc), status=422, **ctx)
    message = i18n.gettext("Invitation sent to {email}.", email=inv.email)
    if wants_fragment(request):
        ctx = await _context(request, db, {})
        return render(request, "admin/_invite_created.html", form=_blank_form(request), sent=message, **ctx)
    flash(request, "success", message)
    return redirect(BASE)


async def _act(
    request: Request[Any, Any, Any], db: AsyncSession, invitation_id: int, action: str
) -> Response[Any]:
    inv = await invitations.get_invitation(db, invitation_id)
    try:
        if action == "resend":
            await invitations.resend_invitation(db, inv.id)
            message = i18n.gettext("A new invitation link was sent to {email}.", email=inv.email)
        else:
            await invitations.revoke_invitation(db, inv.id)
            message = i18n.gettext("The invitation for {email} is revoked.", email=inv.email)
    except DomainError as exc:
        await db.rollback()
        ctx = await _context(request, db, {})
        error = i18n.gettext(exc.message, **exc.params)
        return render(
            request,
            "admin/invitations.html",
            form=_blank_form(request),
            action_error=error,
            status=422,
            **ctx,
        )
    flash(request, "success", message)
    return redirect(BASE, request)


@post(f"{BASE}/{{invitation_id:int}}/resend", opt=perm(ADMIN_USERS_MANAGE, resource="invitations"))
async def invitation_resend(
    request: Request[Any, Any, Any], db: DbSession, invitation_id: FromPath[int]
) -> Response[Any]:
    return await _act(request, db, invitation_id, "resend")


@post(f"{BASE}/{{invitation_id:int}}/revoke", opt=perm(ADMIN_USERS_MANAGE, resource="invitations"))
async def invitation_revoke(
    request: Request[Any, Any, Any], db: DbSession, invitation_id: FromPath[int]
) -> Response[Any]:
    return await _act(request, db, invitation_id, "revoke")


ROUTES = [invitation_list, invitation_create, invitation_resend, invitation_revoke]
