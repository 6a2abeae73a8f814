"""Admin › API clients: OAuth2 client-credentials clients for integrations (PLAT-9).

Creating one shows its secret exactly once. The POST redirects (so a refresh cannot create a
second client) to a page that takes the secret — encrypted with the server key — out of the
administrator's session and shows it (``no-store``); a second visit finds nothing. The secret
never sits in a URL or a log. A client's scopes can only be permissions the administrator holds.
A client may act for one member of staff: the API then shows it what that person's portal
shows (their record rules).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel import i18n
from app.kernel.crypto import decrypt, encrypt
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import ADMIN_API_CLIENTS_MANAGE
from app.security.services import api_clients, users
from app.settings import get_settings
from portals.admin.forms import (
    CONTEXT_LABELS,
    NAV_SECTION,
    NO_STORE,
    as_list,
    permissions_by_context,
    viewer_tz,
)
from portals.nav import NavItem, register
from portals.web import FormState, flash, form_data, perm, principal, redirect, render, session

BASE = "/admin/api-clients"

register(NavItem(NAV_SECTION, lazy("API clients"), BASE, ADMIN_API_CLIENTS_MANAGE, icon="key", order=60))


async def _list(
    request: Request[Any, Any, Any], db: AsyncSession, form: FormState, status: int = 200
) -> Response[Any]:
    p = principal(request)
    return render(
        request,
        "admin/api_clients.html",
        status=status,
        form=form,
        clients=await api_clients.list_clients(db, p.tenant),
        staff_options=(staff := [(u.id, u.full_name) for u in await users.active_staff(db)]),
        staff_names=dict(staff),
        groups=permissions_by_context(lambda perm_: p.can(perm_.key)),
        context_labels=CONTEXT_LABELS,
        chosen=set(as_list(form.value("scopes", []))),
        tz=viewer_tz(request),
    )


@get(BASE, opt=perm(ADMIN_API_CLIENTS_MANAGE))
async def client_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    return await _list(request, db, FormState())


@post(BASE, opt=perm(ADMIN_API_CLIENTS_MANAGE))
async def client_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    form["scopes"] = as_list(form.get("scopes"))
    p = principal(request)
    try:
        issued = await api_clients.create_client(
            db,
            p.tenant,
            p,
            name=form.get("name"),
            scopes=form["scopes"],
            acting_user=form.get("acting_user_id") or None,
        )
    except DomainError as exc:
        await db.rollback()
        return await _list(request, db, FormState(form, exc), status=422)
    await db.flush()
    session(request).set(_issued_key(issued.client.id), encrypt(issued.client_secret).decode())
    return redirect(f"{BASE}/{issued.client.id}/issued", request)


def _issued_key(client_pk: int) -> str:
    return f"issued_api_client_secret:{client_pk}"


@get(f"{BASE}/{{client_pk:int}}/issued", opt=perm(ADMIN_API_CLIENTS_MANAGE, resource="api_clients"))
async def client_issued(
    request: Request[Any, Any, Any], db: DbSession, client_pk: FromPath[int]
) -> Response[Any]:
    p = principal(request)
    client = await api_clients.get_client(db, p.tenant, client_pk)  # another tenant's client: 404
    sealed = session(request).pop(_issued_key(client.id))
    if sealed is None:  # shown already (or never issued in this session): the secret is gone for good
        flash(
            request,
            "info",
            i18n.gettext(
                "The secret of {name} was shown once and cannot be shown again. "
                "Revoke the client and create a new one if it was lost.",
                name=client.name,
            ),
        )
        return redirect(BASE, request)
    origin = get_settings().tenant_origin(p.tenant.slug)
    response = render(
        request,
        "admin/api_client_issued.html",
        client=client,
        secret=decrypt(sealed.encode()),
        token_url=f"{origin}/oauth/token",
        api_url=f"{origin}/api/v1/",
    )
    response.headers.update(NO_STORE)
    return response


@post(f"{BASE}/{{client_pk:int}}/revoke", opt=perm(ADMIN_API_CLIENTS_MANAGE, resource="api_clients"))
async def client_revoke(
    request: Request[Any, Any, Any], db: DbSession, client_pk: FromPath[int]
) -> Response[Any]:
    tenant = principal(request).tenant
    client = await api_clients.get_client(db, tenant, client_pk)  # another tenant's client: 404
    await api_clients.revoke_client(db, tenant, client.id)
    flash(
        request,
        "success",
        i18n.gettext("The API client {name} is revoked; its tokens stop working now.", name=client.name),
    )
    return redirect(BASE, request)


ROUTES = [client_list, client_create, client_issued, client_revoke]
