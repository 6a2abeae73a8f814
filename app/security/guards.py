"""The one guard every route passes through (PLAT-4).

Each route declares ``opt={"permission": ...}`` — a catalogue permission, or one of the markers
``PUBLIC``, ``AUTHENTICATED``, ``OPERATOR``. A route without a declaration is refused at
start-up (``check_route_permissions``) and by the route-table test, so none can forget.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler

from app.kernel.errors import Forbidden
from app.kernel.problems import LoginRequired
from app.kernel.web import is_api_path
from app.security.permissions import CATALOGUE, OPERATOR, PUBLIC, ROUTE_MARKERS
from app.security.principal import Principal


def is_auto_options(handler: BaseRouteHandler) -> bool:
    """Litestar adds an OPTIONS handler to every path (CORS pre-flight); it exposes no data."""
    fn = getattr(getattr(handler, "fn", None), "__name__", "")
    return fn == "options_handler" and set(getattr(handler, "http_methods", ())) == {"OPTIONS"}


def declared_permission(handler: BaseRouteHandler) -> str | None:
    if is_auto_options(handler):
        return PUBLIC
    return (handler.opt or {}).get("permission")


# async although it never awaits: Litestar runs a sync guard in a worker thread on every request.
async def authorize(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    permission = declared_permission(handler)
    if permission is None:  # unreachable after start-up checks; fail closed anyway
        raise PermissionDeniedException("route declares no permission")
    state = connection.scope["state"]
    opt = handler.opt or {}
    if opt.get("bearer_only"):
        # The JSON API accepts OAuth2 bearer tokens only: a forged cross-site request carries just
        # the browser's cookie and is refused here, so API routes need no CSRF token. (One guard
        # for both rules: Litestar copies the handler for every guard on every request.)
        signed_in: Principal | None = state.get("principal")
        if signed_in is not None and not signed_in.by_token:
            raise NotAuthorizedException(
                "The API accepts OAuth2 bearer tokens only.",
                headers={"WWW-Authenticate": 'Bearer realm="tessera"'},
            )
    if permission == PUBLIC:
        return
    if permission == OPERATOR:
        if state.get("operator") is None:
            raise LoginRequired("/operator/login")
        return
    principal: Principal | None = state.get("principal")
    if principal is None:
        if is_api_path(connection.scope["path"]):
            raise NotAuthorizedException(
                "A bearer access token is required.", headers={"WWW-Authenticate": 'Bearer realm="tessera"'}
            )
        raise LoginRequired()
    if not principal.can(permission):
        raise Forbidden()


def check_route_permissions(route_handlers: list[BaseRouteHandler]) -> None:
    """Refuse to start with an undeclared or unknown permission on any route."""
    problems = []
    for h in route_handlers:
        p = declared_permission(h)
        if p is None:
            problems.append(f"{h} declares no permission")
        elif p not in ROUTE_MARKERS and p not in CATALOGUE:
            problems.append(f"{h} declares unknown permission {p!r}")
    if problems:
        raise RuntimeError("route permission check failed:\n" + "\n".join(problems))
