"""The outermost request edge: request id, client address, access log, Prometheus metrics."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any, cast

import structlog
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Histogram
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel import context
from app.kernel.db import get_database
from app.kernel.logging import get_logger

log = get_logger("tessera.http")

REQUESTS = Counter("tessera_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "tessera_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

# Sent with every response. Scripts only from our own origin (htmx and app.js are vendored, no
# inline handlers); inline styles are allowed for htmx's indicator styles and small layout tweaks.
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        b"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
    ),
]


def header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", ()):
        if k == name:
            return v.decode("latin-1")
    return None


def is_api_path(path: str) -> bool:
    return path.startswith(("/api/", "/oauth/")) or path == "/api"


def wants_json(scope: Scope) -> bool:
    if is_api_path(scope.get("path", "")):
        return True
    accept = header(scope, b"accept") or ""
    return "application/json" in accept or "application/problem+json" in accept


def is_htmx(scope: Scope) -> bool:
    return header(scope, b"hx-request") == "true"


def client_ip(scope: Scope) -> str | None:
    """The client address. Behind the reverse proxy (infra/), uvicorn's --proxy-headers has
    already replaced it with the X-Forwarded-For client it trusts."""
    client = scope.get("client")
    return client[0] if client else None


def route_template(scope: Scope) -> str:
    handler: Any = scope.get("route_handler")
    paths = getattr(handler, "paths", None)
    return next(iter(paths)) if paths else "unmatched"


def _status_of(exc: BaseException) -> int:
    """The status the app-level exception handler will answer for an error raised in middleware."""
    for attr in ("status_code", "status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    return 303 if type(exc).__name__ == "LoginRequired" else 500


async def add_response_headers(message: Message, scope: Scope) -> None:
    """``before_send`` hook: runs for every response, including errors the app-level exception
    handler answers for middleware (unknown host, suspended tenant, bad token)."""
    if message["type"] != "http.response.start":
        return
    headers = cast("list[tuple[bytes, bytes]]", message.setdefault("headers", []))
    present = {k.lower() for k, _ in headers}
    request_id = context.current().request_id
    if request_id and b"x-request-id" not in present:
        headers.append((b"x-request-id", request_id.encode()))
    headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)


class RequestContextMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        incoming = header(scope, b"x-request-id")
        request_id = incoming if incoming and _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        ip = client_ip(scope)
        context.set_context(
            context.RequestContext(request_id=request_id, ip=ip, user_agent=header(scope, b"user-agent"))
        )
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status_holder = [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await next_app(scope, receive, send_wrapper)
        except Exception as exc:
            status_holder[0] = _status_of(exc)
            raise
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            method = scope.get("method", "GET")
            REQUESTS.labels(method, route, str(status_holder[0])).inc()
            LATENCY.labels(method, route).observe(elapsed)
            if route not in ("/health", "/metrics"):
                log.info(
                    "request",
                    method=method,
                    path=scope.get("path"),
                    status=status_holder[0],
                    duration_ms=round(elapsed * 1000, 2),
                    ip=ip,
                )


def request_session(scope: Scope) -> Any:
    """The request's one database session (created on first use, closed by AuthMiddleware).

    Bound to the request's tenant schema when there is one, else to the shared schema only.
    """
    state = scope["state"]
    session = state.get("db")
    if session is None:
        tenant = state.get("tenant")
        db = get_database()
        session = db.tenant_session(tenant.schema) if tenant is not None else db.shared_session()
        state["db"] = session
    return session


# Handler parameter type for the request's unit of work (provided as "db" by create_app).
DbSession = NamedDependency[AsyncSession]
