"""Who is calling: session cookies for people, bearer tokens for machines — plus CSRF and locale.

Runs after TenantMiddleware. For a bearer token the *token* names the tenant (PLAT-9): a token
presented on another tenant's host is rejected, and on a neutral host it binds its own tenant.
For a cookie, the session must belong to the host's tenant. Unsafe requests that ride on a
cookie must carry the session's CSRF token (form field ``csrf_token`` or header
``X-CSRF-Token``); bearer-token requests carry no ambient credentials and need none.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any, cast

import structlog
from litestar import Request
from litestar.datastructures import Cookie
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy import text

from app.kernel import context, i18n
from app.kernel.context import TenantRef
from app.kernel.web import header, request_session
from app.security import api_tokens, sessions
from app.security.errors import OrganisationSuspended
from app.security.principal import (
    Principal,
    acting_client_principal,
    api_client_principal,
    load_user_principal,
)
from app.security.sessions import COOKIE_NAME, SessionData
from app.settings import get_settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = b"x-csrf-token"


@dataclass(frozen=True, slots=True)
class OperatorPrincipal:
    id: int
    email: str


def _cookie(scope: Scope, name: str) -> str | None:
    raw = header(scope, b"cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed cookie header is just "no cookie"
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None


def _opt(scope: Scope) -> dict[str, Any]:
    return getattr(scope.get("route_handler"), "opt", None) or {}


class TokenRejected(NotAuthorizedException):
    pass


TenantById = Callable[[int], Awaitable[TenantRef | None]]


class AuthMiddleware(ASGIMiddleware):
    """``tenant_by_id`` comes from the platform layer (tenants.routing), which sits above us."""

    scopes = (ScopeType.HTTP,)
    exclude_opt_key = "skip_auth"  # health, readiness, metrics: no session, no token

    def __init__(self, tenant_by_id: TenantById) -> None:
        self.tenant_by_id = tenant_by_id

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        state = scope["state"]
        try:
            authorization = header(scope, b"authorization")
            if authorization and authorization[:7].lower() == "bearer ":
                await self._bearer(scope, authorization[7:].strip())
                await next_app(scope, receive, send)
                return
            await self._cookie_session(scope, receive)
            await next_app(scope, receive, self._persisting_send(scope, send))
        finally:
            db = state.pop("db", None)
            if db is not None:
                await db.close()

    async def _bearer(self, scope: Scope, raw: str) -> None:
        info = await api_tokens.resolve(raw)
        if info is None:
            raise TokenRejected(
                "The access token is invalid or has expired.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        host_tenant: TenantRef | None = scope["state"].get("tenant")
        if host_tenant is not None and host_tenant.id != info.tenant_id:
            raise TokenRejected(
                "This access token belongs to another organisation.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        tenant = host_tenant or await self.tenant_by_id(info.tenant_id)
        if tenant is None or tenant.status in ("deleted", "purged"):
            raise TokenRejected(
                "The access token is invalid or has expired.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if tenant.status != "active":
            raise OrganisationSuspended()
        scope["state"]["tenant"] = tenant
        if info.user_id is None:
            principal = api_client_principal(tenant, info.client_pk, info.client_id, info.scopes)
        else:  # the client acts for a user: that user's record rules, while the user is active
            user = await load_user_principal(request_session(scope), tenant, info.user_id)
            if user is None or user.is_external:
                raise TokenRejected(
                    "The user this API client acts for is no longer active.",
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
            principal = acting_client_principal(user, info.client_pk, info.client_id, info.scopes)
        scope["state"]["principal"] = principal
        context.update_context(tenant=tenant, actor=principal.actor)
        structlog.contextvars.bind_contextvars(tenant=tenant.slug, actor=principal.key)
        i18n.set_locale(i18n.negotiate(header(scope, b"accept-language")) or "en")

    async def _cookie_session(self, scope: Scope, receive: Receive) -> None:
        state = scope["state"]
        host: str = state.get("host", "")
        tenant: TenantRef | None = state.get("tenant")
        session = await sessions.load(_cookie(scope, COOKIE_NAME), host)
        if session is not None and session.tenant_id != (tenant.id if tenant else None):
            session = None
        if session is None:
            session = sessions.new_session(host, tenant.id if tenant else None)
            session.dirty = False  # stored only if something is put in it (CSRF token, flash)
        state["session"] = session

        principal: Principal | None = None
        if session.user_id is not None and tenant is not None:
            principal = await load_user_principal(request_session(scope), tenant, session.user_id)
            if principal is None or principal.session_epoch != session.epoch:
                await sessions.destroy(session)
                session = sessions.new_session(host, tenant.id)
                session.dirty = False
                state["session"] = session
                principal = None
        if principal is not None:
            state["principal"] = principal
            context.update_context(actor=principal.actor)
            structlog.contextvars.bind_contextvars(actor=principal.key)
        elif session.operator_id is not None and tenant is None:
            # Re-checked on every console request: a deactivated operator is out at once.
            active = await request_session(scope).scalar(
                text("SELECT is_active FROM public.operators WHERE id = :id"), {"id": session.operator_id}
            )
            if active:
                state["operator"] = OperatorPrincipal(
                    session.operator_id, session.data.get("operator_email", "")
                )
                context.update_context(
                    actor=context.Actor(
                        "operator", session.operator_id, session.data.get("operator_email", "")
                    )
                )
            else:
                await sessions.destroy(session)
                session = sessions.new_session(host, None)
                session.dirty = False
                state["session"] = session

        i18n.set_locale(
            session.locale
            or (principal.locale if principal else None)
            or i18n.negotiate(header(scope, b"accept-language"))
            or (tenant.locale if tenant else None)
            or i18n.DEFAULT_LOCALE
        )

        if scope.get("method", "GET") not in SAFE_METHODS and not _opt(scope).get("csrf_exempt"):
            await _verify_csrf(scope, receive, session)

    def _persisting_send(self, scope: Scope, send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                session: SessionData | None = scope["state"].get("session")
                ended: SessionData | None = scope["state"].get("ended_session")
                headers = cast("list[tuple[bytes, bytes]]", message.setdefault("headers", []))
                if ended is not None:
                    await sessions.destroy(ended)
                if session is not None and session.dirty:
                    await sessions.save(session)
                    headers.append((b"set-cookie", _session_cookie(session.id).encode("latin-1")))
                elif session is not None and session.authenticated and not session.is_new:
                    await sessions.touch(session)
                elif ended is not None:
                    headers.append((b"set-cookie", _session_cookie("", expire=True).encode("latin-1")))
            await send(message)

        return wrapped


def _session_cookie(value: str, expire: bool = False) -> str:
    s = get_settings()
    cookie = Cookie(
        key=COOKIE_NAME,
        value=value,
        path="/",
        httponly=True,
        secure=s.session_cookie_secure,
        samesite="lax",
        max_age=0 if expire else s.session_ttl_seconds,
    )
    return cookie.to_header(header="")


async def _verify_csrf(scope: Scope, receive: Receive, session: SessionData) -> None:
    sent = header(scope, CSRF_HEADER)
    if not sent:
        request: Request[Any, Any, Any] = Request(scope, receive)
        content_type = (header(scope, b"content-type") or "").split(";")[0].strip()
        if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if session.is_new or not sent or not _equal(sent, session.csrf):
        raise PermissionDeniedException("CSRF token missing or invalid")


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def csrf_token(scope: Scope) -> str:
    """The token forms and htmx send back; asking for it makes the session worth storing."""
    session: SessionData = scope["state"]["session"]
    if session.is_new:
        session.dirty = True
    return session.csrf
