"""Admin › Settings: the organisation's name, default language, time zone, base currency and logo;
and ``GET /branding/logo``, the logo every page of the tenant shows in its sidebar."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel import i18n
from app.kernel.db import get_database
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy
from app.kernel.web import DbSession, header
from app.security.permissions import ADMIN_SETTINGS_MANAGE, PUBLIC
from portals.admin.forms import NAV_SECTION
from portals.nav import NavItem, register
from portals.web import FormState, flash, form_data, perm, principal, redirect, render
from tenants import settings as tenant_settings

BASE = "/admin/settings"
DEFAULT_LOGO = "/static/img/logo.svg"
# Browsers re-validate the logo after a few minutes (a 304 costs one indexed read), so a new logo
# shows up quickly without a version in the URL — which would need a query on every page.
LOGO_CACHE = "public, max-age=300, stale-while-revalidate=86400"

register(NavItem(NAV_SECTION, lazy("Settings"), BASE, ADMIN_SETTINGS_MANAGE, icon="settings", order=80))


async def _page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    form: FormState,
    *,
    logo_form: FormState | None = None,
    status: int = 200,
) -> Response[Any]:
    logo = await tenant_settings.current_logo(db)
    return render(
        request,
        "admin/settings.html",
        status=status,
        form=form,
        logo_form=logo_form or FormState(),
        has_logo=logo is not None,
        logo_size_kb=round(len(logo.logo) / 1024, 1) if logo else 0,
        logo_version=int(logo.updated_at.timestamp()) if logo else 0,
        timezone_options=[(tz, tz.replace("_", " ")) for tz in tenant_settings.timezones()],
        currencies=tenant_settings.currency_choices(),
        max_kb=tenant_settings.LOGO_MAX_BYTES // 1024,
    )


@get(BASE, opt=perm(ADMIN_SETTINGS_MANAGE))
async def settings_page(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    tenant = await tenant_settings.get_tenant(db, principal(request).tenant.id)
    return await _page(request, db, FormState(tenant_settings.settings_values(tenant)))


@post(BASE, opt=perm(ADMIN_SETTINGS_MANAGE))
async def settings_save(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    try:
        await tenant_settings.update_settings(
            db,
            principal(request).tenant.id,
            name=form.get("name"),
            locale=form.get("locale"),
            timezone=form.get("timezone"),
            currency=form.get("currency"),
        )
    except DomainError as exc:
        await db.rollback()
        return await _page(request, db, FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("The organisation's settings are saved."))
    return redirect(BASE, request)


@post(f"{BASE}/logo", opt=perm(ADMIN_SETTINGS_MANAGE))
async def logo_upload(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    upload = form.get("logo")
    data = await upload.read() if isinstance(upload, UploadFile) else None
    try:
        await tenant_settings.save_logo(db, data)
    except DomainError as exc:
        await db.rollback()
        tenant = await tenant_settings.get_tenant(db, principal(request).tenant.id)
        return await _page(
            request,
            db,
            FormState(tenant_settings.settings_values(tenant)),
            logo_form=FormState({}, exc),
            status=422,
        )
    flash(request, "success", i18n.gettext("The new logo is saved."))
    return redirect(BASE, request)


@post(f"{BASE}/logo/delete", opt=perm(ADMIN_SETTINGS_MANAGE))
async def logo_delete(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    if await tenant_settings.remove_logo(db):
        flash(request, "success", i18n.gettext("The logo is removed; the default logo is shown again."))
    return redirect(BASE, request)


@get("/branding/logo", opt={"permission": PUBLIC, "skip_auth": True}, include_in_schema=False)
async def branding_logo(request: Request[Any, Any, Any]) -> Response[Any]:
    """The tenant's logo, or a redirect to the default one. Public: the sign-in page may show it."""
    schema = request.scope["state"]["tenant"].schema
    async with get_database().tenant_session(schema) as session:
        logo = await tenant_settings.current_logo(session)
    if logo is None:
        return Redirect(DEFAULT_LOGO, status_code=302, headers={"Cache-Control": LOGO_CACHE})
    etag = f'"{logo.id}-{int(logo.updated_at.timestamp() * 1000)}"'
    headers = {
        "Cache-Control": LOGO_CACHE,
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'",
    }
    if etag in (header(request.scope, b"if-none-match") or ""):
        return Response(content=b"", status_code=304, headers=headers)
    return Response(content=logo.logo, media_type=logo.content_type, headers=headers)


ROUTES = [settings_page, settings_save, logo_upload, logo_delete, branding_logo]
