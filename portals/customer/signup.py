"""Sign-up against a known account: a person whose e-mail address is one of our contacts' gets a
sign-up link by e-mail (the platform's invitation: signed, expiring, single-use).

The page answers the same whether or not the address is known (no account enumeration) and is
rate-limited per address and per IP address. Linking happens when the invitation is accepted
(app/crm/services/portal_access.py).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler

from app.crm.services import portal_access
from app.kernel import i18n
from app.kernel.errors import DomainError
from app.kernel.web import DbSession, client_ip
from app.security.permissions import PUBLIC
from portals.customer.support import BASE
from portals.web import FormState, form_data, perm, redirect, render

SIGNUP = f"{BASE}/signup"


@get(SIGNUP, opt=perm(PUBLIC))
async def signup_page(request: Request[Any, Any, Any]) -> Response[Any]:
    if request.scope["state"].get("principal") is not None:
        return redirect("/")
    return render(request, "customer/signup.html")


@post(SIGNUP, opt=perm(PUBLIC))
async def signup_submit(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    email = str(form.get("email", ""))[:254]
    try:
        await portal_access.check_signup_rate(email, client_ip(request.scope))
        await portal_access.request_signup(db, email, locale=i18n.get_locale())
    except DomainError as exc:
        await db.rollback()
        response = render(request, "customer/signup.html", form=FormState(form, exc), status=exc.status)
        if isinstance(exc, portal_access.SignupThrottled):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    return render(
        request,
        "customer/signup_sent.html",
        message=i18n.gettext(
            "If {email} belongs to one of our customer contacts, we have sent it a link to create "
            "your sign-in. The link works once and for 7 days.",
            email=email.strip().lower(),
        ),
    )


ROUTES: list[HTTPRouteHandler] = [signup_page, signup_submit]
