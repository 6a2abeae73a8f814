"""What recipients do with a campaign e-mail (CRM-7): opens, clicks, unsubscribes and responses.

Every recipient has a random 43-character ``token`` (256 bits from ``gen_random_uuid``), the key of
their links. An unknown or malformed token is NotFound — the same answer as "no such thing", so
links cannot be probed. Click links carry the target URL *and* an itsdangerous signature of it:
only URLs Tessera put into an e-mail redirect, so /t/c/ is not an open redirect.

    url = click_url(origin, token, "https://shop.example/sale")    # put into the e-mail
    target = await record_click(session, token, u, s)               # the public route
    recipient = await record_response(session, token)              # web forms (CRM-2) call this

Each record_* is one UPDATE that sets its timestamp only the first time (first open, first click).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote, urlsplit

from itsdangerous import Signer
from markupsafe import Markup, escape
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import CampaignRecipient, EmailSuppression
from app.kernel.db import utcnow
from app.kernel.errors import NotFound
from app.kernel.i18n import lazy
from app.settings import get_settings

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
URL_RE = re.compile(r"https?://[^\s<>\"'\u3000-\u303f\uff00-\uffef]+")
_TRAILING = ".,;:!?)]}'\""
_SALT = "crm.campaign-link"


def _signer() -> Signer:
    return Signer(get_settings().secret_key, salt=_SALT)


def link_signature(url: str) -> str:
    return _signer().get_signature(url.encode()).decode()


def click_url(origin: str, token: str, url: str) -> str:
    return f"{origin}/t/c/{token}?u={quote(url, safe='')}&s={link_signature(url)}"


def open_url(origin: str, token: str) -> str:
    return f"{origin}/t/o/{token}.gif"


def unsubscribe_url(origin: str, token: str) -> str:
    return f"{origin}/u/{token}"


def valid_link(url: str, signature: str) -> bool:
    if urlsplit(url).scheme not in ("http", "https"):
        return False
    return _signer().verify_signature(url.encode(), signature.encode())


def split_links(text: str) -> list[tuple[str, bool]]:
    """The text in pieces: (piece, is_url). Trailing punctuation stays outside the link."""
    pieces: list[tuple[str, bool]] = []
    at = 0
    for m in URL_RE.finditer(text):
        url = m.group(0).rstrip(_TRAILING)
        if m.start() > at:
            pieces.append((text[at : m.start()], False))
        pieces.append((url, True))
        at = m.start() + len(url)
    if at < len(text):
        pieces.append((text[at:], False))
    return pieces


def html_body(text: str, link: Callable[[str], str]) -> Markup:
    """A plain-text body as simple HTML: paragraphs, line breaks, and links through ``link``."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    out: list[str] = []
    for para in paragraphs:
        html = ""
        for piece, is_url in split_links(para):
            if is_url:
                html += f'<a href="{escape(link(piece))}" style="color:#1f4fd1">{escape(piece)}</a>'
            else:
                html += str(escape(piece)).replace("\n", "<br>\n")
        out.append(f"<p>{html}</p>")
    return Markup("\n".join(out))  # noqa: S704 — every piece above is escaped


def _check(token: str) -> None:
    if not TOKEN_RE.match(token):
        raise NotFound(lazy("link"))


async def _stamp(session: AsyncSession, token: str, **columns: bool) -> CampaignRecipient:
    """Set each named timestamp column to now unless already set; NotFound for unknown tokens."""
    _check(token)
    r = CampaignRecipient
    now = utcnow()
    values = {name: func.coalesce(getattr(r, name), now) for name in columns}
    recipient = await session.scalar(
        update(r)
        .where(r.token == token)
        .values(**values)
        .returning(r)
        .execution_options(synchronize_session=False)
    )
    if recipient is None:
        raise NotFound(lazy("link"))
    return recipient


async def record_open(session: AsyncSession, token: str) -> CampaignRecipient:
    return await _stamp(session, token, opened_at=True)


async def record_click(session: AsyncSession, token: str, url: str, signature: str) -> str:
    """The target to redirect to; a click also counts as an open (images are often blocked)."""
    _check(token)
    if not valid_link(url, signature):
        raise NotFound(lazy("link"))
    await _stamp(session, token, clicked_at=True, opened_at=True)
    return url


async def record_response(session: AsyncSession, token: str) -> CampaignRecipient | None:
    """A recipient answered (e.g. submitted a web form carrying their token). None for a token that
    is malformed or unknown — a form submission must not fail because of a stale link."""
    try:
        return await _stamp(session, token, responded_at=True)
    except NotFound:
        return None


async def recipient_for(session: AsyncSession, token: str) -> CampaignRecipient:
    _check(token)
    recipient = await session.scalar(select(CampaignRecipient).where(CampaignRecipient.token == token))
    if recipient is None:
        raise NotFound(lazy("link"))
    return recipient


async def unsubscribe(session: AsyncSession, token: str) -> CampaignRecipient:
    """Suppress the address for every future campaign (RFC 8058 one-click, or the page's button)."""
    recipient = await _stamp(session, token, unsubscribed_at=True)
    await session.execute(
        insert(EmailSuppression)
        .values(
            email=recipient.email.lower(),
            reason="unsubscribed",
            campaign_id=recipient.campaign_id,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["email"])
    )
    return recipient


async def is_suppressed(session: AsyncSession, email: str) -> bool:
    return await session.get(EmailSuppression, email.lower()) is not None
