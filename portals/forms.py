"""Reading forms and htmx requests, for every portal: small parsers that turn strings into the
shapes services take. Every rule about the values themselves stays in the service."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Request

from app.kernel.web import header, is_htmx

NO_STORE = {"Cache-Control": "no-store"}


def as_list(value: Any) -> list[str]:
    """A checkbox group: absent → [], one box → [value], several → the list."""
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def optional_id(value: Any) -> int | None:
    """A ``<select>`` of records: blank → None. Anything not a number becomes an id no record has,
    so the service answers with its usual "choose an existing ..." field error."""
    text = str(value or "").strip()
    if not text:
        return None
    return int(text) if text.isdigit() and len(text) < 18 else -1


def checked(form: Mapping[str, Any], name: str) -> bool:
    return str(form.get(name) or "") in ("1", "on", "true", "yes")


def wants_fragment(request: Request[Any, Any, Any]) -> bool:
    """An htmx swap asks for the fragment only; an htmx *history restore* (back button after the
    cache was evicted) needs the whole page."""
    return is_htmx(request.scope) and header(request.scope, b"hx-history-restore-request") != "true"


def viewer_tz(request: Request[Any, Any, Any]) -> str:
    """Times are shown in the reader's time zone, else the organisation's."""
    p = request.scope["state"].get("principal")
    tenant = request.scope["state"].get("tenant")
    return (p.timezone if p else None) or (tenant.timezone if tenant else None) or "UTC"
