"""The tenants of the platform: the table, creating one, its page, and its lifecycle (PLAT-1).

Lifecycle changes call tenants.service, whose functions own their transaction (the platform
exception to "services never commit"): the registry change, its audit row and the routing-cache
drop happen together, whatever the request does afterwards.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Any

from litestar import Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.params import FromPath
from litestar.response import File
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel.db import get_database, utcnow
from app.kernel.errors import DomainError, FieldError, ValidationFailed
from app.kernel.i18n import LOCALES, gettext, lazy
from app.kernel.web import DbSession, is_htmx
from app.settings import get_settings
from portals.operator import queries
from portals.operator.web import CONSOLE, tenant_path
from portals.tables import fetch_page, parse_query
from portals.web import FormState, flash, form_data, redirect, render
from tenants import domains, service
from tenants.export import export_tenant
from tenants.migrations import head
from tenants.models import Tenant
from tenants.provisioning import EDITIONS, ProvisionRequest, provision_tenant

NEW_TENANT_DEFAULTS = {
    "locale": "en",
    "timezone": "Asia/Shanghai",
    "currency": "CNY",
    "edition": "enterprise",
}
MAX_REASON = 500


@get("/operator", opt=CONSOLE, name="operator_home")
async def tenant_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    query = parse_query(request.query_params, queries.TENANTS_TABLE)
    page = await fetch_page(
        db, queries.tenants_statement(query.filters.get("status")), queries.TENANTS_TABLE, query
    )
    template = "operator/_tenants_table.html" if is_htmx(request.scope) else "operator/tenants.html"
    return render(request, template, page=page, head_revision=head("tenant"))


@get("/operator/tenants/new", opt=CONSOLE)
async def new_tenant(request: Request[Any, Any, Any]) -> Response[Any]:
    return _new_form(request, FormState(NEW_TENANT_DEFAULTS))


def _new_form(request: Request[Any, Any, Any], form: FormState, status: int = 200) -> Response[Any]:
    return render(
        request, "operator/tenant_new.html", form=form, editions=EDITIONS, locales=LOCALES, status=status
    )


@post("/operator/tenants", opt=CONSOLE)
async def create_tenant(request: Request[Any, Any, Any]) -> Response[Any]:
    """Provisioning owns its transaction; with no password the admin gets a set-password link."""
    form = await form_data(request)
    fields = {k: str(form.get(k, "")).strip() for k in ("slug", "name", "admin_email", "admin_name")}
    req = ProvisionRequest(
        slug=fields["slug"],
        name=fields["name"],
        admin_email=fields["admin_email"],
        admin_name=fields["admin_name"] or None,
        admin_password=str(form.get("admin_password") or "") or None,
        locale=str(form.get("locale", "en")),
        timezone=str(form.get("timezone", "")).strip(),
        currency=str(form.get("currency", "")).strip().upper(),
        edition=str(form.get("edition", "")),
        chart=str(form.get("chart") or "") or None,
    )
    try:
        result = await provision_tenant(get_database().engine, req)
    except ValidationFailed as exc:
        return _new_form(request, FormState(form, exc), status=422)
    except DomainError as exc:  # the slug was taken
        failed = ValidationFailed([FieldError("slug", exc.message, exc.params)], exc.message)
        return _new_form(request, FormState(form, failed), status=exc.status)
    origin = get_settings().tenant_origin(result.slug)
    link = f"{origin}/password/reset?token={result.set_password_token}" if result.set_password_token else None
    return render(
        request,
        "operator/tenant_created.html",
        result=result,
        portal=f"{origin}/",
        link=link,
        admin_email=req.admin_email.strip().lower(),
    )


@get("/operator/tenants/{slug:str}", opt={**CONSOLE, "resource": "tenants"})
async def tenant_detail(request: Request[Any, Any, Any], db: DbSession, slug: FromPath[str]) -> Response[Any]:
    return await render_tenant(request, db, await queries.tenant_by_slug(db, slug))


async def render_tenant(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    tenant: Tenant,
    *,
    domain_form: FormState | None = None,
    status: int = 200,
) -> Response[Any]:
    """The tenant's page: registry facts, lifecycle actions, domains, migrations, audit trail."""
    return render(
        request,
        "operator/tenant.html",
        status=status,
        t=tenant,
        head_revision=head("tenant"),
        portal=f"{get_settings().tenant_origin(tenant.slug)}/",
        domains=await domains.list_domains(db, tenant.id),
        txt_prefix=domains.TXT_PREFIX,
        history=await queries.migration_history(db, tenant.id),
        trail=await queries.audit_trail(db, tenant.id),
        in_grace=bool(tenant.purge_after and tenant.purge_after > utcnow()),
        domain_form=domain_form or FormState(),
    )


async def _lifecycle(request: Request[Any, Any, Any], slug: str, done: str, action: Any) -> Response[Any]:
    """Run one lifecycle change; its refusal (a Conflict) is shown, not raised."""
    try:
        tenant = await action()
    except DomainError as exc:
        flash(request, "error", gettext(exc.message, **exc.params))
        return redirect(tenant_path(slug), request)
    flash(request, "success", gettext(done, slug=slug))
    return redirect(tenant_path(tenant.slug) if tenant.status != "purged" else "/operator", request)


@post("/operator/tenants/{slug:str}/suspend", opt={**CONSOLE, "resource": "tenants"})
async def suspend(request: Request[Any, Any, Any], slug: FromPath[str]) -> Response[Any]:
    form = await form_data(request)
    reason = str(form.get("reason", "")).strip()[:MAX_REASON]
    return await _lifecycle(
        request,
        slug,
        lazy("Tenant {slug} suspended: its users and API clients are locked out."),
        lambda: service.suspend_tenant(slug, reason),
    )


@post("/operator/tenants/{slug:str}/resume", opt={**CONSOLE, "resource": "tenants"})
async def resume(request: Request[Any, Any, Any], slug: FromPath[str]) -> Response[Any]:
    return await _lifecycle(
        request, slug, lazy("Tenant {slug} is active again."), lambda: service.resume_tenant(slug)
    )


@post("/operator/tenants/{slug:str}/delete", opt={**CONSOLE, "resource": "tenants"})
async def delete(request: Request[Any, Any, Any], slug: FromPath[str]) -> Response[Any]:
    return await _lifecycle(
        request,
        slug,
        lazy("Tenant {slug} deleted. Its data is kept until the grace period ends."),
        lambda: service.delete_tenant(slug),
    )


@post("/operator/tenants/{slug:str}/purge", opt={**CONSOLE, "resource": "tenants"})
async def purge(request: Request[Any, Any, Any], slug: FromPath[str]) -> Response[Any]:
    """Within the grace period only with the slug typed in full — the one irreversible action."""
    form = await form_data(request)
    typed = str(form.get("confirm_slug", "")).strip()
    if typed and typed != slug:
        flash(request, "error", gettext("The slug you typed does not match; nothing was purged."))
        return redirect(tenant_path(slug), request)
    return await _lifecycle(
        request,
        slug,
        lazy("Tenant {slug} purged: its schema and data are gone."),
        lambda: service.purge_tenant(slug, force=typed == slug),
    )


@post("/operator/tenants/{slug:str}/export", opt={**CONSOLE, "resource": "tenants"})
async def export(request: Request[Any, Any, Any], slug: FromPath[str]) -> Response[Any]:
    """The archive is written to a temporary file, streamed, then removed."""
    handle, name = tempfile.mkstemp(prefix="tessera-export-", suffix=".tar.gz")
    os.close(handle)
    try:
        path = await export_tenant(slug, name)
    except BaseException:
        _remove(name)
        raise
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return File(
        path=path,
        filename=f"{slug}-{stamp}.tar.gz",
        media_type="application/gzip",
        status_code=200,
        background=BackgroundTask(_remove, str(path)),
    )


def _remove(name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name)


ROUTES = [tenant_list, new_tenant, create_tenant, tenant_detail, suspend, resume, delete, purge, export]
