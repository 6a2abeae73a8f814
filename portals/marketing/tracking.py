"""Public links in campaign e-mails (CRM-7): the open pixel, tracked clicks, and unsubscribing.

* ``GET /t/o/<token>.gif`` — records the first open, answers a 1×1 transparent GIF (no-store);
* ``GET /t/c/<token>?u=<url>&s=<signature>`` — records the click (and the open) and redirects to
  the URL, only if Tessera signed it (app/crm/services/tracking.py): not an open redirect;
* ``GET /u/<token>`` — a confirmation page in the recipient's language; ``POST /u/<token>`` —
  unsubscribes (RFC 8058 one-click from the mail client, or the page's button; CSRF-exempt: the
  unguessable token is the credential, and unsubscribing twice is harmless).

Unknown, forged or malformed tokens are 404 pages that say no more than "not found". The pixel
and the click skip the session machinery (no cookie is read or set) and open their own unit of work.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath

from app.crm.services import tracking
from app.kernel import i18n
from app.kernel.db import get_database, unit_of_work
from app.kernel.errors import NotFound
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import PUBLIC
from portals.forms import NO_STORE
from portals.web import perm, render

# The smallest transparent GIF (43 bytes).
PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
_FAST = perm(PUBLIC, skip_auth=True)


async def _in_tenant(request: Request[Any, Any, Any]) -> Any:
    tenant = request.scope["state"].get("tenant")
    if tenant is None:
        raise NotFound(lazy("link"))
    return unit_of_work(get_database().tenant_session(tenant.schema))


@get("/t/o/{name:str}", opt=_FAST, include_in_schema=False)
async def open_pixel(request: Request[Any, Any, Any], name: FromPath[str]) -> Response[bytes]:
    if not name.endswith(".gif"):
        raise NotFound(lazy("link"))
    async with await _in_tenant(request) as session:
        await tracking.record_open(session, name.removesuffix(".gif"))
    return Response(PIXEL, media_type="image/gif", headers={**NO_STORE, "Expires": "0"})


@get("/t/c/{token:str}", opt=_FAST, include_in_schema=False)
async def tracked_click(request: Request[Any, Any, Any], token: FromPath[str]) -> Response[Any]:
    url = str(request.query_params.get("u") or "")
    signature = str(request.query_params.get("s") or "")
    async with await _in_tenant(request) as session:
        target = await tracking.record_click(session, token, url, signature)
    return Response(content=b"", status_code=302, headers={"Location": target, **NO_STORE})


def _use_recipient_language(request: Request[Any, Any, Any], locale: str | None) -> None:
    """The page speaks the recipient's language — unless they chose one with the page's switch."""
    chosen = getattr(request.scope["state"].get("session"), "locale", None)
    if not chosen and locale:
        i18n.set_locale(locale)


@get("/u/{token:str}", opt=perm(PUBLIC), include_in_schema=False)
async def unsubscribe_page(
    request: Request[Any, Any, Any], db: DbSession, token: FromPath[str]
) -> Response[Any]:
    recipient = await tracking.recipient_for(db, token)
    _use_recipient_language(request, recipient.locale)
    done = recipient.unsubscribed_at is not None or await tracking.is_suppressed(db, recipient.email)
    page = render(request, "marketing/unsubscribe.html", recipient=recipient, token=token, done=done)
    page.headers.update(NO_STORE)
    return page


@post("/u/{token:str}", opt=perm(PUBLIC, csrf_exempt=True), include_in_schema=False)
async def unsubscribe(request: Request[Any, Any, Any], db: DbSession, token: FromPath[str]) -> Response[Any]:
    recipient = await tracking.unsubscribe(db, token)
    _use_recipient_language(request, recipient.locale)
    page = render(request, "marketing/unsubscribe.html", recipient=recipient, token=token, done=True)
    page.headers.update(NO_STORE)
    return page


ROUTES = [open_pixel, tracked_click, unsubscribe_page, unsubscribe]
