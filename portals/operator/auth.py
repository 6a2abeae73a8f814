"""Operators sign in and out of the console (PLAT-3 rules, platform flavour).

Same rules as a tenant user's sign-in (tenants/operators.py throttles and checks the password);
here the session id is rotated at sign-in (no fixation), and CSRF protects every form.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import QueryParameter

from app.kernel import i18n
from app.kernel.db import utcnow
from app.kernel.errors import DomainError
from app.kernel.web import DbSession, client_ip
from app.security import sessions
from portals.operator.web import CONSOLE_PUBLIC
from portals.web import FormState, flash, form_data, redirect, render, safe_next, session
from tenants.models import Operator
from tenants.operators import sign_in_operator


async def start_operator_session(request: Request[Any, Any, Any], op: Operator) -> None:
    fresh = await sessions.rotate(session(request))
    fresh.operator_id = op.id
    fresh.data["operator_email"] = op.email
    fresh.authenticated_at = utcnow().timestamp()
    fresh.dirty = True
    request.scope["state"]["session"] = fresh


@get("/operator/login", opt=CONSOLE_PUBLIC)
async def login_page(
    request: Request[Any, Any, Any], next_: Annotated[str | None, QueryParameter(name="next")] = None
) -> Response[Any]:
    if request.scope["state"].get("operator") is not None:
        return redirect(safe_next(next_, "/operator"))
    return render(request, "operator/login.html", next=safe_next(next_, "/operator"))


@post("/operator/login", opt=CONSOLE_PUBLIC)
async def login_submit(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    target = safe_next(form.get("next"), "/operator")
    try:
        op = await sign_in_operator(
            db, str(form.get("email", "")), str(form.get("password", "")), client_ip(request.scope)
        )
    except DomainError as exc:
        page = render(
            request, "operator/login.html", form=FormState(form, exc), status=exc.status, next=target
        )
        if hasattr(exc, "retry_after"):
            page.headers["Retry-After"] = str(exc.retry_after)
        return page
    await start_operator_session(request, op)
    return redirect(target if target.startswith("/operator") else "/operator", request)


@post("/operator/logout", opt=CONSOLE_PUBLIC)
async def logout(request: Request[Any, Any, Any]) -> Response[Any]:
    old = session(request)
    request.scope["state"]["ended_session"] = old
    fresh = sessions.new_session(old.host, None)
    fresh.locale = old.locale
    request.scope["state"]["session"] = fresh
    flash(request, "info", i18n.gettext("You are signed out."))
    return redirect("/operator/login", request)


ROUTES = [login_page, login_submit, logout]
