"""Signing in and out, password reset, accepting an invitation, choosing the language."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import FromQuery, QueryParameter

from app.kernel import context, i18n
from app.kernel.db import utcnow
from app.kernel.errors import DomainError
from app.kernel.web import DbSession, client_ip
from app.security import sessions
from app.security.permissions import PUBLIC
from app.security.services import auth, invitations, users
from app.security.services.sso import sso_button
from portals.web import FormState, flash, form_data, perm, redirect, render, safe_next, session

# Sign-in pages must work for a suspended tenant's users to see *why* they cannot sign in:
# the tenant middleware answers them with the suspension page, so nothing special here.
PUBLIC_PAGE = perm(PUBLIC)


async def start_user_session(request: Request[Any, Any, Any], user_id: int, epoch: int) -> None:
    """Rotate the session id at privilege change (no fixation) and bind the user to it."""
    fresh = await sessions.rotate(session(request))
    fresh.user_id = user_id
    fresh.epoch = epoch
    fresh.authenticated_at = utcnow().timestamp()
    fresh.dirty = True
    request.scope["state"]["session"] = fresh


@get("/login", opt=PUBLIC_PAGE, name="login")
async def login_page(
    request: Request[Any, Any, Any],
    db: DbSession,
    next_: Annotated[str | None, QueryParameter(name="next")] = None,
) -> Response[Any]:
    if request.scope["state"].get("principal") is not None:
        return redirect(safe_next(next_))
    return render(request, "auth/login.html", next=safe_next(next_), sso=await sso_button(db))


@post("/login", opt=PUBLIC_PAGE)
async def login_submit(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    tenant = context.current_tenant()
    assert tenant is not None
    try:
        user = await auth.authenticate(
            db, tenant, str(form.get("email", "")), str(form.get("password", "")), client_ip(request.scope)
        )
    except DomainError as exc:
        headers = {"Retry-After": str(exc.retry_after)} if hasattr(exc, "retry_after") else None
        page = render(
            request,
            "auth/login.html",
            form=FormState(form, exc),
            status=exc.status,
            next=safe_next(form.get("next")),
            sso=await sso_button(db),
        )
        if headers:
            page.headers.update(headers)
        return page
    await start_user_session(request, user.id, user.session_epoch)
    return redirect(safe_next(form.get("next")), request)


@post("/logout", opt=PUBLIC_PAGE)
async def logout(request: Request[Any, Any, Any]) -> Response[Any]:
    old = session(request)
    request.scope["state"]["ended_session"] = old
    fresh = sessions.new_session(old.host, old.tenant_id)
    fresh.locale = old.locale
    request.scope["state"]["session"] = fresh
    flash(request, "info", i18n.gettext("You are signed out."))
    return redirect("/login", request)


@post("/i18n/locale", opt=perm(PUBLIC, host="any"))
async def set_locale(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    """Language switch: remembered in the session and, for a signed-in user, in their profile."""
    form = await form_data(request)
    locale = str(form.get("locale", ""))
    if locale in i18n.LOCALES:
        session(request).locale = locale
        session(request).dirty = True
        p = request.scope["state"].get("principal")
        if p is not None and p.kind == "user":
            await users.set_own_locale(db, p, locale)
    return redirect(safe_next(form.get("next")), request)


@get("/password/forgot", opt=PUBLIC_PAGE)
async def forgot_page(request: Request[Any, Any, Any]) -> Response[Any]:
    return render(request, "auth/forgot.html")


@post("/password/forgot", opt=PUBLIC_PAGE)
async def forgot_submit(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    await auth.request_password_reset(db, str(form.get("email", ""))[:254])
    flash(
        request,
        "info",
        i18n.gettext(
            "If an account exists for that address, we have sent it a link to choose a new password."
        ),
    )
    return redirect("/login", request)


@get("/password/reset", opt=PUBLIC_PAGE)
async def reset_page(
    request: Request[Any, Any, Any], db: DbSession, token: FromQuery[str] = ""
) -> Response[Any]:
    try:
        user = await auth.check_reset_token(db, token)
    except DomainError as exc:
        return render(request, "auth/link_invalid.html", message=i18n.gettext(exc.message), status=400)
    return render(request, "auth/reset.html", token=token, email=user.email)


@post("/password/reset", opt=PUBLIC_PAGE)
async def reset_submit(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    token = str(form.get("token", ""))
    try:
        user = await auth.reset_password(
            db, token, str(form.get("password", "")), str(form.get("confirm", ""))
        )
    except DomainError as exc:
        if exc.code == "link_invalid":
            return render(request, "auth/link_invalid.html", message=i18n.gettext(exc.message), status=400)
        return render(
            request, "auth/reset.html", token=token, email="", form=FormState(form, exc), status=422
        )
    await start_user_session(request, user.id, user.session_epoch)
    flash(request, "success", i18n.gettext("Your new password is set."))
    return redirect("/", request)


@get("/invitation", opt=PUBLIC_PAGE)
async def invitation_page(
    request: Request[Any, Any, Any], db: DbSession, token: FromQuery[str] = ""
) -> Response[Any]:
    try:
        invitation = await invitations.check_invitation(db, token)
    except DomainError as exc:
        return render(request, "auth/link_invalid.html", message=i18n.gettext(exc.message), status=400)
    return render(
        request,
        "auth/accept.html",
        token=token,
        invitation=invitation,
        form=FormState({"full_name": invitation.full_name}),
    )


@post("/invitation", opt=PUBLIC_PAGE)
async def invitation_submit(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    token = str(form.get("token", ""))
    try:
        user = await invitations.accept_invitation(
            db,
            token,
            full_name=str(form.get("full_name", "")),
            password=str(form.get("password", "")),
            confirm=str(form.get("confirm", "")),
        )
    except DomainError as exc:
        if exc.code == "link_invalid":
            return render(request, "auth/link_invalid.html", message=i18n.gettext(exc.message), status=400)
        invitation = await invitations.check_invitation(db, token)
        return render(
            request,
            "auth/accept.html",
            token=token,
            invitation=invitation,
            form=FormState(form, exc),
            status=422,
        )
    await start_user_session(request, user.id, user.session_epoch)
    flash(request, "success", i18n.gettext("Welcome to {name}!", name=context.current_tenant().name))  # type: ignore[union-attr]
    return redirect("/", request)


ROUTES = [
    login_page,
    login_submit,
    logout,
    set_locale,
    forgot_page,
    forgot_submit,
    reset_page,
    reset_submit,
    invitation_page,
    invitation_submit,
]
