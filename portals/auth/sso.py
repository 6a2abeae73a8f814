"""Single sign-on routes (/sso/login, /sso/callback) — the protocol is app/security/oidc.py, who may
come in is app/security/services/sso_login.py.

Every failure renders auth/sso_error.html (400 for a broken or refused answer, 403 when the tenant
refuses the person, 502 when the provider is unreachable) and leaves the visitor signed out with
nothing written.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from litestar import Request, Response, get
from litestar.params import FromQuery, QueryParameter

from app.kernel import context, i18n
from app.kernel.errors import DomainError
from app.kernel.logging import get_logger
from app.kernel.web import DbSession
from app.security import oidc
from app.security.services.sso_login import load_sso, sign_in_with_sso
from app.settings import get_settings
from portals.auth.controllers import PUBLIC_PAGE, start_user_session
from portals.web import redirect, render, safe_next, session

log = get_logger("tessera.sso")


def _error_page(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    log.info("sso.failed", code=exc.code)
    message = i18n.gettext(exc.message, **exc.params)
    return render(request, "auth/sso_error.html", status=exc.status, message=message, code=exc.code)


@get("/sso/login", opt=PUBLIC_PAGE, name="sso_login")
async def sso_login(
    request: Request[Any, Any, Any],
    db: DbSession,
    next_: Annotated[str | None, QueryParameter(name="next")] = None,
) -> Response[Any]:
    target = safe_next(next_)
    if request.scope["state"].get("principal") is not None:
        return redirect(target)
    tenant = context.current_tenant()
    assert tenant is not None  # tenant-host route
    origin = get_settings().tenant_origin(tenant.slug)
    if request.scope["state"].get("host") != urlsplit(origin).hostname:
        # On a custom domain: the provider returns to the registered callback on the tenant's own
        # host, where the attempt must be stored too (sessions are per host).
        return redirect(f"{origin}/sso/login?next={quote(target, safe='/')}")
    try:
        _settings, client = await load_sso(db, tenant)
        url, pending = await oidc.begin(client, next_path=target, tenant_id=tenant.id)
    except DomainError as exc:
        return _error_page(request, exc)
    oidc.remember(session(request), pending)
    return redirect(url)


@get("/sso/callback", opt=PUBLIC_PAGE, name="sso_callback")
async def sso_callback(
    request: Request[Any, Any, Any],
    db: DbSession,
    state_: Annotated[str, QueryParameter(name="state")] = "",
    code: FromQuery[str] = "",
    error: FromQuery[str] = "",
    iss: FromQuery[str] = "",
) -> Response[Any]:
    tenant = context.current_tenant()
    assert tenant is not None
    try:
        settings, client = await load_sso(db, tenant)
        if error:
            # The provider refused; nothing is signed in, so the state need not match to say so
            # (some providers leave it out of error answers). A matching attempt is used up.
            oidc.discard(session(request), state_)
            raise oidc.SsoProviderRefused(error)
        pending = oidc.take(session(request), state_, tenant.id)
        identity = await oidc.finish(client, pending, code=code, iss=iss)
        user = await sign_in_with_sso(db, settings, identity, tenant)
    except DomainError as exc:
        await db.rollback()
        return _error_page(request, exc)
    await start_user_session(request, user.id, user.session_epoch)
    return redirect(pending.next_path)


ROUTES = [sso_login, sso_callback]
