"""The signed-in user's own pages: start page, profile, notifications (any role)."""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from litestar import Request, Response, get, post
from litestar.params import FromPath

from app.kernel import i18n
from app.kernel.errors import DomainError
from app.kernel.web import DbSession
from app.notifications import service as notifications
from app.notifications.kinds import KINDS
from app.security.permissions import AUTHENTICATED
from app.security.services import users
from app.security.services.roles import role_names
from portals.nav import NavItem, register
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

ANY_USER = perm(AUTHENTICATED)
TIMEZONES = sorted(available_timezones())

# Customers (external users) have their own start page and navigation: the customer portal.
register(
    NavItem("Workspace", "Home", "/", AUTHENTICATED, icon="home", order=1),
    NavItem("Workspace", "Notifications", "/notifications", AUTHENTICATED, icon="bell", order=2),
)
CUSTOMER_HOME = "/portal"


@get("/", opt=ANY_USER, name="home")
async def home(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    p = principal(request)
    if p.is_external:
        return redirect(CUSTOMER_HOME)
    names = await role_names(db, p.role_keys)
    return render(
        request,
        "home/index.html",
        role_names=[names[k] for k in p.role_keys],
        unread=await notifications.unread_count(db, p.id),
        recent=await notifications.recent(db, p.id, limit=5),
    )


@get("/profile", opt=ANY_USER)
async def profile(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    user = await users.get_user(db, principal(request).id)
    form = FormState(
        {
            "full_name": user.full_name,
            "locale": user.locale or i18n.get_locale(),
            "timezone": user.timezone or "",
        }
    )
    return render(
        request, "home/profile.html", user=user, form=form, timezones=TIMEZONES, password_form=FormState()
    )


@post("/profile", opt=ANY_USER)
async def profile_save(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    try:
        await users.update_profile(
            db,
            principal(request),
            full_name=form.get("full_name"),
            locale=form.get("locale"),
            timezone=form.get("timezone"),
        )
    except DomainError as exc:
        user = await users.get_user(db, principal(request).id)
        return render(
            request,
            "home/profile.html",
            user=user,
            form=FormState(form, exc),
            timezones=TIMEZONES,
            password_form=FormState(),
            status=422,
        )
    request.scope["state"]["session"].locale = None  # the profile's language wins from now on
    request.scope["state"]["session"].dirty = True
    flash(request, "success", i18n.gettext("Your profile is saved."))
    return redirect("/profile", request)


@post("/profile/password", opt=ANY_USER)
async def password_save(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    try:
        await users.change_password(
            db,
            principal(request),
            current=str(form.get("current", "")),
            new=str(form.get("new", "")),
            confirm=str(form.get("confirm", "")),
        )
    except DomainError as exc:
        user = await users.get_user(db, principal(request).id)
        profile_form = FormState(
            {"full_name": user.full_name, "locale": user.locale, "timezone": user.timezone}
        )
        return render(
            request,
            "home/profile.html",
            user=user,
            form=profile_form,
            timezones=TIMEZONES,
            password_form=FormState({}, exc),
            status=422,
        )
    flash(request, "success", i18n.gettext("Your password is changed."))
    return redirect("/profile", request)


@get("/notifications", opt=ANY_USER)
async def notification_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    p = principal(request)
    return render(
        request,
        "home/notifications.html",
        items=await notifications.recent(db, p.id, limit=100),
        prefs=await notifications.preferences(db, p.id),
        kinds=KINDS,
    )


@get("/notifications/badge", opt=ANY_USER)
async def notification_badge(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    """The live badge in the top bar: htmx polls this fragment."""
    return render(
        request, "home/_badge.html", unread=await notifications.unread_count(db, principal(request).id)
    )


@post("/notifications/{notification_id:int}/read", opt=perm(AUTHENTICATED, resource="notifications"))
async def notification_read(
    request: Request[Any, Any, Any], db: DbSession, notification_id: FromPath[int]
) -> Response[Any]:
    p = principal(request)
    await notifications.mark_read(db, p.id, notification_id)
    return redirect("/notifications", request)


@post("/notifications/read-all", opt=ANY_USER)
async def notification_read_all(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    await notifications.mark_read(db, principal(request).id)
    flash(request, "success", i18n.gettext("All notifications are marked as read."))
    return redirect("/notifications", request)


@post("/notifications/preferences", opt=ANY_USER)
async def notification_preferences(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    raw = form.get("pref", [])
    chosen = {(k, c) for v in ([raw] if isinstance(raw, str) else raw) for k, _, c in [v.partition(":")] if c}
    await notifications.save_preferences(db, principal(request).id, chosen)
    flash(request, "success", i18n.gettext("Your notification settings are saved."))
    return redirect("/notifications", request)


ROUTES = [
    home,
    profile,
    profile_save,
    password_save,
    notification_list,
    notification_badge,
    notification_read,
    notification_read_all,
    notification_preferences,
]
