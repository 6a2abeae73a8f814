"""Admin › Roles: the built-in roles (read-only, with their grants) and the tenant's own roles,
whose permissions are ticked per context with a scope for record-ruled permissions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel import i18n
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.models import Role
from app.security.permissions import ADMIN_ROLES_MANAGE, Scope
from app.security.principal import grants_for_roles
from app.security.roles import Grants
from app.security.services import roles
from portals.admin.forms import CONTEXT_LABELS, NAV_SECTION, as_list, permissions_by_context
from portals.nav import NavItem, register
from portals.web import FormState, flash, form_data, perm, redirect, render

BASE = "/admin/roles"
SCOPE_LABELS = {"own": lazy("Own records"), "team": lazy("Team's records"), "all": lazy("All records")}

register(NavItem(NAV_SECTION, lazy("Roles"), BASE, ADMIN_ROLES_MANAGE, icon="shield", order=30))


def role_grants(role: Role) -> Grants:
    """What a role grants: built-in roles from code, the tenant's own from their stored list."""
    return grants_for_roles([role])


def grant_entries(form: Mapping[str, Any]) -> list[str]:
    """Ticked boxes ``grant=<permission>`` with their ``scope.<permission>`` select, in the
    service's ``permission[:scope]`` form (the service rejects unknown keys and scopes)."""
    entries = []
    for key in as_list(form.get("grant")):
        scope = str(form.get(f"scope.{key}") or "")
        entries.append(f"{key}:{scope}" if scope else key)
    return entries


def chosen_from_form(form: Mapping[str, Any]) -> dict[str, str]:
    chosen = {}
    for entry in grant_entries(form):
        key, _, scope = entry.partition(":")
        chosen[key] = scope or Scope.ALL.value
    return chosen


def _editor(
    request: Request[Any, Any, Any],
    form: FormState,
    chosen: Mapping[str, str],
    *,
    role: Role | None = None,
    status: int = 200,
    members: int = 0,
) -> Response[Any]:
    return render(
        request,
        "admin/role_form.html",
        status=status,
        form=form,
        role=role,
        members=members,
        chosen=chosen,
        groups=permissions_by_context(),
        context_labels=CONTEXT_LABELS,
        scope_labels=SCOPE_LABELS,
    )


@get(BASE, opt=perm(ADMIN_ROLES_MANAGE))
async def role_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    return await _list(request, db)


async def _list(
    request: Request[Any, Any, Any], db: AsyncSession, *, action_error: str | None = None, status: int = 200
) -> Response[Any]:
    all_roles = await roles.list_roles(db)
    return render(
        request,
        "admin/roles.html",
        status=status,
        all_roles=all_roles,
        counts=await roles.member_counts(db),
        grant_counts={r.id: len(role_grants(r)) for r in all_roles},
        action_error=action_error,
    )


@get(f"{BASE}/new", opt=perm(ADMIN_ROLES_MANAGE))
async def role_new(request: Request[Any, Any, Any]) -> Response[Any]:
    return _editor(request, FormState(), {})


@post(BASE, opt=perm(ADMIN_ROLES_MANAGE))
async def role_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    try:
        role = await roles.create_role(
            db, name=form.get("name"), description=form.get("description"), grants=grant_entries(form)
        )
    except DomainError as exc:
        await db.rollback()
        return _editor(request, FormState(form, exc), chosen_from_form(form), status=422)
    flash(request, "success", i18n.gettext("The role {name} is created.", name=role.name))
    return redirect(BASE, request)


@get(f"{BASE}/{{role_id:int}}", opt=perm(ADMIN_ROLES_MANAGE, resource="roles"))
async def role_detail(
    request: Request[Any, Any, Any], db: DbSession, role_id: FromPath[int]
) -> Response[Any]:
    role = await roles.get_role(db, role_id)
    members = (await roles.member_counts(db)).get(role.id, 0)
    grants = role_grants(role)
    if role.is_builtin:
        return render(
            request,
            "admin/role_builtin.html",
            role=role,
            members=members,
            groups=permissions_by_context(lambda p: p.key in grants),
            grants=grants,
            context_labels=CONTEXT_LABELS,
            scope_labels=SCOPE_LABELS,
        )
    form = FormState({"name": role.name, "description": role.description})
    return _editor(request, form, {k: v.value for k, v in grants.items()}, role=role, members=members)


@post(f"{BASE}/{{role_id:int}}", opt=perm(ADMIN_ROLES_MANAGE, resource="roles"))
async def role_save(request: Request[Any, Any, Any], db: DbSession, role_id: FromPath[int]) -> Response[Any]:
    role = await roles.get_role(db, role_id)
    form = await form_data(request)
    try:
        await roles.update_role(
            db,
            role.id,
            name=form.get("name"),
            description=form.get("description"),
            grants=grant_entries(form),
        )
    except DomainError as exc:
        await db.rollback()
        role = await roles.get_role(db, role_id)
        members = (await roles.member_counts(db)).get(role.id, 0)
        return _editor(
            request, FormState(form, exc), chosen_from_form(form), role=role, status=422, members=members
        )
    flash(request, "success", i18n.gettext("The role {name} is saved.", name=role.name))
    return redirect(BASE, request)


@post(f"{BASE}/{{role_id:int}}/delete", opt=perm(ADMIN_ROLES_MANAGE, resource="roles"))
async def role_delete(
    request: Request[Any, Any, Any], db: DbSession, role_id: FromPath[int]
) -> Response[Any]:
    role = await roles.get_role(db, role_id)
    name = role.name
    try:
        await roles.delete_role(db, role.id)
    except DomainError as exc:
        await db.rollback()
        return await _list(request, db, action_error=i18n.gettext(exc.message, **exc.params), status=422)
    flash(request, "success", i18n.gettext("The role {name} is deleted.", name=name))
    return redirect(BASE, request)


ROUTES = [role_list, role_new, role_create, role_detail, role_save, role_delete]
