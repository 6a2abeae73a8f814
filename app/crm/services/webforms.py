"""Public lead-capture web forms (CRM-2): managed by marketing, posted from the tenant's web site.

A form's ``key`` is public (it sits in the site's HTML), so a submission has to get past:

* a rate limit per IP address and per form (fixed windows in Redis), checked first;
* a honeypot field people never see (a filled one is dropped, and answered like a success);
* a signed render timestamp (itsdangerous, SECRET_KEY): sent faster than ``MIN_SECONDS`` after
  the form was rendered, or more than a day later, and it is refused;
* length limits on every field (the usual lead checks in app/crm/services/leads.py).

    token = render_token(form.key)                      # in the page / the embed script
    lead = await submit(session, key, form_data, ip=ip)  # None when the honeypot caught a bot
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Campaign, CampaignRecipient, Lead, WebForm
from app.crm.models.leads import LEAD_SOURCES
from app.crm.services.fields import clean_choice, clean_long_text, clean_optional_id, clean_text
from app.crm.services.leads import create_lead
from app.kernel import context
from app.kernel.audit import audited
from app.kernel.db import utcnow
from app.kernel.errors import DomainError, FieldError, NotFound, TooManyRequests, ValidationFailed
from app.kernel.i18n import lazy
from app.kernel.redis import get_redis
from app.settings import get_settings

HONEYPOT = "website"  # bots fill anything called "website"; people never see the field
TOKEN_FIELD = "_ts"  # noqa: S105 (a field name, not a secret)
MIN_SECONDS = 2.0
MAX_AGE_SECONDS = 24 * 3600
# (window seconds, submissions allowed): per IP address on one form, and for the form overall.
PER_IP_LIMIT = (600, 5)
PER_FORM_LIMIT = (3600, 300)
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{8,40}$")
# The fields of every public form: (name, max length, required).
FIELDS = (("full_name", 200, True), ("email", 254, True), ("phone", 40, False), ("company", 200, False),
          ("message", 5000, False))  # fmt: skip


class WebFormThrottled(TooManyRequests):
    def __init__(self, retry_after: int) -> None:
        minutes = max(1, (retry_after + 59) // 60)
        super().__init__(
            "web_form_throttled",
            lazy("Too many submissions from your connection. Please try again in {minutes} minutes."),
            params={"minutes": minutes},
        )
        self.retry_after = retry_after


class SubmissionNotConfirmed(DomainError):
    """The render timestamp is missing, forged, too fresh or too old: the visitor sends again."""

    status = 422

    def __init__(self, code: str) -> None:
        super().__init__(code, lazy("Please check your details and send the form again."))


@dataclass(frozen=True, slots=True)
class Submission:
    form: WebForm
    lead: Lead | None  # None: the honeypot was filled


# --- the signed render timestamp -------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret_key, salt="tessera.crm.web-form")


def _tenant_id() -> int:
    tenant = context.current_tenant()
    return tenant.id if tenant else 0


def render_token(form_key: str, *, rendered_at: float | None = None) -> str:
    """What the page carries in ``_ts``: the form, the tenant and the render time, signed."""
    moment = time.time() if rendered_at is None else rendered_at
    return _serializer().dumps({"f": form_key, "t": _tenant_id(), "ms": int(moment * 1000)})


def check_token(form_key: str, token: object) -> None:
    if not isinstance(token, str) or not token or len(token) > 300:
        raise SubmissionNotConfirmed("web_form_token_missing")
    try:
        value = _serializer().loads(token, max_age=MAX_AGE_SECONDS)
    except SignatureExpired as exc:
        raise SubmissionNotConfirmed("web_form_token_expired") from exc
    except BadSignature as exc:
        raise SubmissionNotConfirmed("web_form_token_invalid") from exc
    if not isinstance(value, dict) or value.get("f") != form_key or value.get("t") != _tenant_id():
        raise SubmissionNotConfirmed("web_form_token_invalid")
    age = time.time() - int(value.get("ms", 0)) / 1000
    if age < MIN_SECONDS:
        raise SubmissionNotConfirmed("web_form_too_fast")
    if age > MAX_AGE_SECONDS:
        raise SubmissionNotConfirmed("web_form_token_expired")


# --- rate limits -----------------------------------------------------------------------------


async def check_rate(form_key: str, ip: str | None) -> None:
    """Count this attempt in both windows; refuse past either limit (before any database read)."""
    tenant = _tenant_id()
    who = hashlib.sha256((ip or "unknown").encode()).hexdigest()[:24]
    windows = [
        (f"tessera:wf:{tenant}:{form_key}:ip:{who}", *PER_IP_LIMIT),
        (f"tessera:wf:{tenant}:{form_key}:all", *PER_FORM_LIMIT),
    ]
    async with get_redis().pipeline(transaction=True) as pipe:
        for key, window, _limit in windows:
            pipe.set(key, 0, ex=window, nx=True)  # the first attempt opens the window
            pipe.incr(key)
            pipe.ttl(key)
        replies = await pipe.execute()
    for i, (_key, window, limit) in enumerate(windows):
        count, ttl = int(replies[i * 3 + 1]), int(replies[i * 3 + 2])
        if count > limit:
            raise WebFormThrottled(ttl if ttl > 0 else window)


# --- submitting ------------------------------------------------------------------------------


async def public_form(session: AsyncSession, key: str) -> WebForm:
    """An active form by its public key; anything else reads as missing."""
    if not KEY_RE.match(key):
        raise NotFound(lazy("form"))
    form = await session.scalar(select(WebForm).where(WebForm.key == key))
    if form is None or not form.active:
        raise NotFound(lazy("form"))
    return form


def _text(value: object) -> str:
    if isinstance(value, list | tuple):  # a repeated field: the first value counts
        value = value[0] if value else ""
    return "" if value is None else str(value)


async def submit(session: AsyncSession, key: str, data: Mapping[str, Any], *, ip: str | None) -> Submission:
    await check_rate(key, ip)
    form = await public_form(session, key)
    if _text(data.get(HONEYPOT)).strip():
        return Submission(form, None)
    check_token(form.key, _text(data.get(TOKEN_FIELD)))
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    for name, max_len, required in FIELDS:
        raw = _text(data.get(name))
        if len(raw) > max_len:  # refuse rather than cut: the visitor sees what was too long
            errors.append(FieldError(name, "Use at most {n} characters.", {"n": max_len}))
        elif required and not raw.strip():
            errors.append(FieldError(name, "This field is required."))
        values[name] = raw
    if errors:
        raise ValidationFailed(errors)
    campaign_id, detail = await _attribution(session, form, data)
    lead = await create_lead(
        session,
        None,
        {**values, "source": form.source, "source_detail": detail, "campaign_id": campaign_id},
        default_source=form.source,
    )
    # One statement, no audit row per submission: the lead itself is audited.
    await session.execute(
        update(WebForm).where(WebForm.id == form.id).values(submissions=WebForm.submissions + 1)
    )
    return Submission(form, lead)


async def _attribution(
    session: AsyncSession, form: WebForm, data: Mapping[str, Any]
) -> tuple[int | None, str]:
    """The campaign (a recipient's tracking token in ``utm_campaign``/``c``, else the form's) and
    where the lead came from, for ``source_detail``."""
    campaign_id = form.campaign_id
    tag = _text(data.get("c") or data.get("utm_campaign")).strip()[:100]
    recipient = None
    if tag and re.fullmatch(r"[A-Za-z0-9_-]{20,43}", tag):
        recipient = await session.scalar(select(CampaignRecipient).where(CampaignRecipient.token == tag))
    if recipient is not None:
        campaign_id = recipient.campaign_id
        if recipient.responded_at is None:  # a reply to the campaign (CRM-9 effectiveness)
            await session.execute(
                update(CampaignRecipient)
                .where(CampaignRecipient.id == recipient.id)
                .values(responded_at=utcnow())
            )
    utm = [_text(data.get(k)).strip()[:40] for k in ("utm_source", "utm_medium")]
    if tag and recipient is None:
        utm.append(tag[:40])
    utm = [u for u in utm if u]
    detail = form.name + (f" · {' / '.join(utm)}" if utm else "")
    return campaign_id, detail[:200]


# --- managing forms (marketing portal) -------------------------------------------------------


async def list_forms(session: AsyncSession) -> list[WebForm]:
    return list((await session.execute(select(WebForm).order_by(WebForm.name, WebForm.id))).scalars())


async def get_form(session: AsyncSession, form_id: int) -> WebForm:
    form = await session.get(WebForm, form_id)
    if form is None:
        raise NotFound(lazy("web form"))
    return form


def _clean_url(value: object, errors: list[FieldError]) -> str | None:
    text = clean_text(value, "redirect_url", errors, max_len=500)
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors.append(FieldError("redirect_url", "Enter a full web address starting with https://."))
    return text


async def _clean(session: AsyncSession, data: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    campaign_id = clean_optional_id(data.get("campaign_id"), "campaign_id", errors)
    if campaign_id is not None and await session.get(Campaign, campaign_id) is None:
        errors.append(FieldError("campaign_id", "Choose an existing campaign."))
    return {
        "name": clean_text(data.get("name"), "name", errors, required=True, max_len=120),
        "source": clean_choice(data.get("source"), "source", errors, LEAD_SOURCES, default="web_form"),
        "campaign_id": campaign_id,
        "thank_you_message": clean_long_text(
            data.get("thank_you_message"), "thank_you_message", errors, max_len=2000
        ),
        "redirect_url": _clean_url(data.get("redirect_url"), errors),
        "active": str(data.get("active") or "").lower() in ("1", "on", "true", "yes"),
    }


async def create_form(session: AsyncSession, data: Mapping[str, Any]) -> WebForm:
    errors: list[FieldError] = []
    values = await _clean(session, data, errors)
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.web_form_created"):
        form = WebForm(**values, key=secrets.token_urlsafe(12))
        session.add(form)
        await session.flush()
    return form


async def update_form(session: AsyncSession, form_id: int, data: Mapping[str, Any]) -> WebForm:
    form = await get_form(session, form_id)
    errors: list[FieldError] = []
    values = await _clean(session, data, errors)
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.web_form_updated"):
        for key, value in values.items():
            setattr(form, key, value)
    return form


async def set_active(session: AsyncSession, form_id: int, active: bool) -> WebForm:
    form = await get_form(session, form_id)
    async with audited(session, "crm.web_form_activated" if active else "crm.web_form_deactivated"):
        form.active = active
    return form
