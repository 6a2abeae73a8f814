"""Every error becomes an RFC 9457 problem (API) or a translated error page (portals).

No exception escapes as a bare 500 text: domain errors keep their status and stable ``code``;
framework errors (malformed JSON, wrong types, unknown fields, oversize bodies, unknown routes)
map to 4xx problems; anything unexpected is logged with the request id and answered 500
without internals.
"""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy.exc import IntegrityError

from app.kernel import context, i18n
from app.kernel.errors import DomainError, problem
from app.kernel.i18n import lazy
from app.kernel.logging import get_logger
from app.kernel.web import is_htmx, wants_json

log = get_logger("tessera.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
UNIQUE_VIOLATION = "23505"  # PostgreSQL SQLSTATE


class LoginRequired(Exception):
    """Raised by the guard when a portal page needs a signed-in user (→ redirect to log-in)."""

    def __init__(self, login_path: str = "/login") -> None:
        self.login_path = login_path
        super().__init__("login required")


_TITLES = {
    400: lazy("Bad request"),
    401: lazy("Authentication required"),
    403: lazy("Forbidden"),
    404: lazy("Not found"),
    405: lazy("Method not allowed"),
    409: lazy("Conflict"),
    413: lazy("Request body too large"),
    415: lazy("Unsupported media type"),
    422: lazy("Validation failed"),
    429: lazy("Too many requests"),
    500: lazy("Internal server error"),
    503: lazy("Service unavailable"),
}
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


def _validation_errors(exc: HTTPException) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            if (item.get("key"), item.get("message")) == ("data", "'data'"):  # Litestar: no body at all
                item = {"key": "body", "message": "A JSON request body is required."}
            out.append(
                {"field": item.get("key") or item.get("source") or "", "message": item.get("message", "")}
            )
    return out


def _page(
    request: Request, status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> Response:
    tenant = context.current_tenant()
    return Template(
        template_name="errors/error.html",
        context={
            "status": status,
            "title": i18n.gettext(title),
            "detail": i18n.gettext(detail) if detail else "",
            "tenant": tenant,
            "request_id": context.current().request_id,
        },
        status_code=status,
        headers=headers,
        media_type=MediaType.HTML,
    )


def _respond(
    request: Request, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    if wants_json(request.scope):
        return Response(content=body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)
    if is_htmx(request.scope):
        # htmx shows this text in the page's error toast (portals/static/app.js)
        return Response(
            content=i18n.gettext(body.get("detail") or body["title"]),
            status_code=status,
            media_type=MediaType.TEXT,
            headers=headers,
        )
    return _page(request, status, body["title"], body.get("detail", ""), headers)


def domain_error_handler(request: Request, exc: DomainError) -> Response:
    if wants_json(request.scope):
        with_locale = exc.english
    else:  # nouns such as NotFound's lazy("user") are msgids too
        params = {k: i18n.gettext(v) if isinstance(v, str) else v for k, v in exc.params.items()}
        with_locale = i18n.gettext(exc.message, **params)
    errors = [{"field": e.field, "message": e.message.format(**e.params)} for e in exc.errors]
    headers = {"Retry-After": str(exc.retry_after)} if hasattr(exc, "retry_after") else None
    body = problem(
        exc.status,
        exc.title,
        code=exc.code,
        detail=with_locale,
        instance=request.url.path,
        errors=errors or None,
    )
    return _respond(request, exc.status, body, headers)


def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if isinstance(exc, ValidationException):
        errors = _validation_errors(exc)
        body = problem(
            400,
            lazy("Invalid request"),
            code="invalid_request",
            detail=_clean_detail(exc.detail),
            instance=request.url.path,
            errors=errors or None,
        )
        return _respond(request, 400, body)
    code = _CODES.get(status, "http_error")
    if status == 400 and "JSON" in (exc.detail or ""):
        code = "malformed_json"
    detail = _clean_detail(exc.detail)
    if isinstance(exc, NotFoundException):
        detail = lazy("The page or resource was not found.")
    elif isinstance(exc, PermissionDeniedException) and "CSRF" in (exc.detail or ""):
        code, detail = (
            "csrf_failed",
            lazy("The form expired or was not sent from this site. Reload the page and try again."),
        )
    errors = _validation_errors(exc)  # e.g. where malformed JSON broke (app/kernel/api.py StrictBody)
    body = problem(
        status,
        _TITLES.get(status, "Error"),
        code=code,
        detail=detail,
        instance=request.url.path,
        errors=errors or None,
    )
    headers = dict(exc.headers or {})
    if isinstance(exc, NotAuthorizedException) and wants_json(request.scope):
        headers.setdefault("WWW-Authenticate", 'Bearer realm="tessera"')
    return _respond(request, status, body, headers or None)


def _clean_detail(detail: str | None) -> str:
    """Litestar prefixes details with the status text ("400: Bad Request"); keep the useful part."""
    if not detail:
        return ""
    head, sep, rest = detail.partition(": ")
    return rest if sep and head.isdigit() else detail


def login_required_handler(request: Request, exc: LoginRequired) -> Response:
    if wants_json(request.scope):
        body = problem(401, "Authentication required", code="unauthorized", instance=request.url.path)
        return Response(
            content=body,
            status_code=401,
            media_type=PROBLEM_MEDIA_TYPE,
            headers={"WWW-Authenticate": 'Bearer realm="tessera"'},
        )
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"{exc.login_path}?next={target}" if request.method == "GET" else exc.login_path
    if is_htmx(request.scope):
        return Response(content="", status_code=200, headers={"HX-Redirect": location})
    return Redirect(path=location, status_code=303)


def integrity_error_handler(request: Request, exc: IntegrityError) -> Response:
    """A unique constraint lost a race: two requests created the same thing at once, the service's
    own check passed in both and the database refused the second. A conflict, not a crash."""
    if getattr(exc.orig, "sqlstate", None) != UNIQUE_VIOLATION:
        return internal_error_handler(request, exc)
    body = problem(
        409,
        "Conflict",
        code="conflict",
        detail=lazy("Another request saved a conflicting record at the same moment. Reload and try again."),
        instance=request.url.path,
    )
    return _respond(request, 409, body)


def internal_error_handler(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", path=request.url.path)
    body = problem(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "Internal server error",
        code="internal_error",
        detail=lazy("Something went wrong on our side. The error was logged."),
        instance=request.url.path,
        request_id=context.current().request_id,
    )
    return _respond(request, 500, body)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error_handler,
    LoginRequired: login_required_handler,
    HTTPException: http_exception_handler,
    IntegrityError: integrity_error_handler,
    Exception: internal_error_handler,
}
