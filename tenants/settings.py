"""A tenant's own settings, changed by its administrator (PLAT-5): name, default language, time
zone, base currency — and the logo.

Name, language, time zone and currency are columns of the shared registry row
(``public.tenants``): routing hands them to every request as the ``TenantRef``. A change therefore
also drops this process's routing cache (others get the registry NOTIFY, tenants/routing.py). The
logo lives in the tenant's schema (``tenants.branding``).

The registry row is written through the request's tenant session, so the change lands in the
tenant's own audit log, in the same transaction as everything else of the request.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from babel import numbers
from babel.core import get_global
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel import i18n
from app.kernel.audit import audited
from app.kernel.errors import FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.security.validation import clean_locale, clean_name
from tenants.branding import Branding
from tenants.models import Tenant
from tenants.routing import directory

LOGO_MAX_BYTES = 512 * 1024


@lru_cache(maxsize=1)
def timezones() -> list[str]:
    return sorted(available_timezones())


@lru_cache(maxsize=1)
def currency_codes() -> list[str]:
    """ISO 4217 codes that are legal tender somewhere today (CLDR via Babel), sorted."""
    today = date.today()  # noqa: DTZ011 — which currencies are current is a calendar question
    codes: set[str] = set()
    for territory in get_global("territory_currencies"):
        codes.update(numbers.get_territory_currencies(territory, today))
    return sorted(codes)


def currency_choices() -> list[tuple[str, str]]:
    """``(code, "CNY – Chinese Yuan")`` in the reader's language."""
    loc = i18n.babel_locale()
    return [(c, f"{c} – {numbers.get_currency_name(c, locale=loc)}") for c in currency_codes()]


async def get_tenant(session: AsyncSession, tenant_id: int) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None or tenant.status == "purged":
        raise NotFound(lazy("organisation"))
    return tenant


def _invalidate_routing_after_commit(session: AsyncSession) -> None:
    """Drop cached host → tenant entries now and once the change is committed: a request that
    re-reads the registry in between must not cache the old values for the full TTL."""
    directory.invalidate()
    event.listen(session.sync_session, "after_commit", lambda _s: directory.invalidate(), once=True)


async def update_settings(
    session: AsyncSession, tenant_id: int, *, name: object, locale: object, timezone: object, currency: object
) -> Tenant:
    tenant = await get_tenant(session, tenant_id)
    clean, errors = clean_name(name, "name", max_len=200)
    loc, loc_errors = clean_locale(locale)
    errors += loc_errors
    tz = str(timezone or "")
    if tz not in timezones():
        errors.append(FieldError("timezone", "Choose a valid time zone."))
    cur = str(currency or "").strip().upper()
    if cur not in currency_codes():
        errors.append(FieldError("currency", "Choose a currency from the list."))
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "tenant.settings_changed"):
        tenant.name, tenant.locale, tenant.timezone, tenant.currency = clean, loc, tz, cur
    _invalidate_routing_after_commit(session)
    return tenant


def sniff_image(data: bytes) -> str | None:
    """The content type from the file's magic bytes — never from its name or the browser's claim."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


async def current_logo(session: AsyncSession) -> Branding | None:
    return (await session.execute(select(Branding).order_by(Branding.id).limit(1))).scalar_one_or_none()


async def save_logo(session: AsyncSession, data: bytes | None) -> Branding:
    """Store a PNG, JPEG or WebP logo of at most 512 KB (SVG is refused: it can carry script)."""
    if not data:
        raise ValidationFailed([FieldError("logo", "Choose an image file to upload.")])
    if len(data) > LOGO_MAX_BYTES:
        raise ValidationFailed(
            [FieldError("logo", "The logo may be at most {kb} KB.", {"kb": LOGO_MAX_BYTES // 1024})]
        )
    content_type = sniff_image(data)
    if content_type is None:
        raise ValidationFailed([FieldError("logo", "Upload a PNG, JPEG or WebP image.")])
    row = await current_logo(session)
    async with audited(session, "tenant.logo_changed"):
        if row is None:
            row = Branding(logo=data, content_type=content_type)
            session.add(row)
        else:
            row.logo, row.content_type = data, content_type
    return row


async def remove_logo(session: AsyncSession) -> bool:
    """Back to the default logo; False when there was none."""
    row = await current_logo(session)
    if row is None:
        return False
    async with audited(session, "tenant.logo_removed"):
        await session.delete(row)
    return True


def settings_values(tenant: Tenant) -> dict[str, Any]:
    """The settings form's initial values."""
    return {
        "name": tenant.name,
        "locale": tenant.locale,
        "timezone": tenant.timezone,
        "currency": tenant.currency,
    }
