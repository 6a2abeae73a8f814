"""Admin › Single sign-on: the tenant's OpenID Connect provider. The client secret is write-only:
it is never shown again, and a blank field keeps the stored one."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel import i18n
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.models import SsoSettings
from app.security.permissions import ADMIN_SSO_MANAGE
from app.security.roles import BUILTIN_ROLES
from app.security.services import roles, sso
from app.settings import get_settings
from portals.admin.forms import NAV_SECTION, checked
from portals.nav import NavItem, register
from portals.web import FormState, flash, form_data, perm, redirect, render

BASE = "/admin/sso"

register(NavItem(NAV_SECTION, lazy("Single sign-on"), BASE, ADMIN_SSO_MANAGE, icon="login", order=50))


def callback_url(request: Request[Any, Any, Any]) -> str:
    """What the admin pastes into the identity provider as the redirect URI."""
    return get_settings().tenant_origin(request.scope["state"]["tenant"].slug) + "/sso/callback"


def _values(row: SsoSettings | None) -> dict[str, Any]:
    if row is None:
        return {"button_label": "Single sign-on"}
    return {
        "enabled": row.enabled,
        "issuer": row.issuer,
        "client_id": row.client_id,
        "button_label": row.button_label,
        "allowed_domains": ", ".join(row.allowed_domains or []),
        "auto_provision": row.auto_provision,
        "default_role_key": row.default_role_key or "",
        "enforce": row.enforce,
    }


async def _page(
    request: Request[Any, Any, Any], db: AsyncSession, form: FormState, status: int = 200
) -> Response[Any]:
    row = await sso.get_settings_row(db)
    staff_roles = [
        r
        for r in await roles.list_roles(db)
        if not (r.key in BUILTIN_ROLES and BUILTIN_ROLES[r.key].external)
    ]
    return render(
        request,
        "admin/sso.html",
        status=status,
        form=form,
        configured=row is not None,
        callback=callback_url(request),
        role_options=[(r.key, i18n.gettext(r.name) if r.is_builtin else r.name) for r in staff_roles],
    )


@get(BASE, opt=perm(ADMIN_SSO_MANAGE))
async def sso_settings(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    return await _page(request, db, FormState(_values(await sso.get_settings_row(db))))


@post(BASE, opt=perm(ADMIN_SSO_MANAGE))
async def sso_save(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    try:
        await sso.save_settings(
            db,
            enabled=checked(form, "enabled"),
            issuer=form.get("issuer"),
            client_id=form.get("client_id"),
            client_secret_value=form.get("client_secret"),
            button_label=form.get("button_label"),
            allowed_domains=form.get("allowed_domains"),
            auto_provision=checked(form, "auto_provision"),
            default_role_key=form.get("default_role_key"),
            enforce=checked(form, "enforce"),
        )
    except DomainError as exc:
        await db.rollback()
        form.pop("client_secret", None)  # never echo a secret back into the page
        return await _page(request, db, FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("The single sign-on settings are saved."))
    return redirect(BASE, request)


ROUTES = [sso_settings, sso_save]
