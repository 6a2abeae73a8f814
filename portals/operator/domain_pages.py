"""Custom domains of a tenant in the console: add (shows the DNS TXT token), mark verified, remove.

Tessera does not query DNS (out of scope for now): the page tells the operator which TXT record
to look for, and marking a domain verified is the operator's statement that it is there.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.params import FromPath

from app.kernel.errors import DomainError, ValidationFailed
from app.kernel.i18n import gettext
from app.kernel.web import DbSession
from portals.operator import queries
from portals.operator.tenant_pages import render_tenant
from portals.operator.web import CONSOLE, tenant_path
from portals.web import FormState, flash, form_data, redirect
from tenants import domains

TENANT_ROUTE = {**CONSOLE, "resource": "tenants"}


def _domain_id(form: dict[str, Any]) -> int:
    try:
        return int(str(form.get("domain_id", "")))
    except ValueError as exc:
        raise domains.DomainNotFound() from exc


@post("/operator/tenants/{slug:str}/domains", opt=TENANT_ROUTE)
async def add_domain(request: Request[Any, Any, Any], db: DbSession, slug: FromPath[str]) -> Response[Any]:
    form = await form_data(request)
    tenant = await queries.tenant_by_slug(db, slug)
    try:
        row = await domains.add_domain(db, tenant, str(form.get("domain", "")))
    except ValidationFailed as exc:
        return await render_tenant(request, db, tenant, domain_form=FormState(form, exc), status=422)
    except DomainError as exc:
        return await render_tenant(request, db, tenant, domain_form=FormState(form, exc), status=exc.status)
    flash(
        request,
        "success",
        gettext(
            "Domain {domain} added. Publish the TXT record shown below, check it, "
            "then mark the domain verified.",
            domain=row.domain,
        ),
    )
    return redirect(tenant_path(slug), request)


@post("/operator/tenants/{slug:str}/domains/verify", opt=TENANT_ROUTE)
async def verify_domain(request: Request[Any, Any, Any], db: DbSession, slug: FromPath[str]) -> Response[Any]:
    form = await form_data(request)
    tenant = await queries.tenant_by_slug(db, slug)
    row = await domains.mark_verified(db, tenant, _domain_id(form))
    flash(
        request,
        "success",
        gettext("Domain {domain} is verified and now opens {slug}.", domain=row.domain, slug=tenant.slug),
    )
    return redirect(tenant_path(slug), request)


@post("/operator/tenants/{slug:str}/domains/remove", opt=TENANT_ROUTE)
async def remove_domain(request: Request[Any, Any, Any], db: DbSession, slug: FromPath[str]) -> Response[Any]:
    form = await form_data(request)
    tenant = await queries.tenant_by_slug(db, slug)
    name = await domains.remove_domain(db, tenant, _domain_id(form))
    flash(request, "success", gettext("Domain {domain} removed.", domain=name))
    return redirect(tenant_path(slug), request)


ROUTES = [add_domain, verify_domain, remove_domain]
