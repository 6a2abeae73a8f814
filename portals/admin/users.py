"""Admin › Users: find people, change their name, roles and team, switch them off and on."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel import i18n
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.models import Role, User
from app.security.permissions import ADMIN_USERS_MANAGE, ADMIN_USERS_READ
from app.security.services import audit_log, roles, teams, users
from portals.admin.audit import ACTOR_LABELS
from portals.admin.forms import NAV_SECTION, as_list, optional_id, viewer_tz, wants_fragment
from portals.nav import NavItem, register
from portals.tables import Column, Filter, TableSpec, fetch_page, parse_query
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

BASE = "/admin/users"
STATUS_LABELS = {
    "active": lazy("Active"),
    "deactivated": lazy("Deactivated"),
    "external": lazy("External"),
}

register(NavItem(NAV_SECTION, lazy("Users"), BASE, ADMIN_USERS_READ, icon="users", order=10))


def users_table(all_roles: list[Role]) -> TableSpec:
    return TableSpec(
        columns=[
            Column("name", lazy("Full name"), sort=User.full_name),
            Column("email", lazy("E-mail"), sort=User.email),
            Column("roles", lazy("Roles")),
            Column("team", lazy("Team")),
            Column("status", lazy("Status")),
            Column("last_login", lazy("Last sign-in"), sort=User.last_login_at),
            Column("created", lazy("Created"), sort=User.created_at),
        ],
        default_sort="name",
        filters=[
            Filter("role", lazy("Role"), users.with_role, [(r.key, r.name) for r in all_roles]),
            Filter("status", lazy("Status"), users.with_status, list(STATUS_LABELS.items())),
        ],
        search=users.search_users,
        tiebreak=User.id,
    )


@get(BASE, opt=perm(ADMIN_USERS_READ))
async def user_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    all_roles = await roles.list_roles(db)
    spec = users_table(all_roles)
    page = await fetch_page(db, users.users_query(), spec, parse_query(request.query_params, spec))
    ctx: dict[str, Any] = {
        "page": page,
        "base": BASE,
        "role_keys": await users.role_keys_of(db, [u.id for u in page.rows]),
        "role_names": {r.key: r.name for r in all_roles},
        "team_names": {t.id: t.name for t in await teams.list_teams(db)},
        "status_labels": STATUS_LABELS,
        "tz": viewer_tz(request),
    }
    if wants_fragment(request):
        return render(request, "admin/_users_table.html", **ctx)
    return render(request, "admin/users.html", **ctx)


async def _stored_form(db: AsyncSession, user: User) -> FormState:
    """The edit form filled with what is stored."""
    keys = (await users.role_keys_of(db, [user.id]))[user.id]
    return FormState({"full_name": user.full_name, "roles": keys, "team_id": user.team_id or ""})


async def _detail(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    user: User,
    form: FormState,
    *,
    status: int = 200,
    action_error: str | None = None,
) -> Response[Any]:
    team_list = await teams.list_teams(db)
    return render(
        request,
        "admin/user_detail.html",
        status=status,
        user=user,
        form=form,
        action_error=action_error,
        all_roles=await roles.list_roles(db),
        team_list=team_list,
        team_options=[(t.id, t.name) for t in team_list],
        history=await audit_log.history_of_user(db, user.id),
        changes=audit_log.changes,
        actor_labels=ACTOR_LABELS,
        current_roles=(await users.role_keys_of(db, [user.id]))[user.id],
        tz=viewer_tz(request),
        can_manage=principal(request).can(ADMIN_USERS_MANAGE),
    )


@get(f"{BASE}/{{user_id:int}}", opt=perm(ADMIN_USERS_READ, resource="users"))
async def user_detail(
    request: Request[Any, Any, Any], db: DbSession, user_id: FromPath[int]
) -> Response[Any]:
    user = await users.get_user(db, user_id)
    return await _detail(request, db, user, await _stored_form(db, user))


@post(f"{BASE}/{{user_id:int}}", opt=perm(ADMIN_USERS_MANAGE, resource="users"))
async def user_save(request: Request[Any, Any, Any], db: DbSession, user_id: FromPath[int]) -> Response[Any]:
    user = await users.get_user(db, user_id)  # first: another tenant's id is a 404, whatever the input
    form = await form_data(request)
    form["roles"] = as_list(form.get("roles"))
    try:
        await users.update_user(
            db,
            principal(request),
            user.id,
            full_name=form.get("full_name"),
            role_keys=form["roles"],
            team_id=optional_id(form.get("team_id")),
        )
    except DomainError as exc:
        await db.rollback()
        return await _detail(request, db, await users.get_user(db, user_id), FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("The changes to {name} are saved.", name=user.full_name))
    return redirect(f"{BASE}/{user.id}", request)


async def _set_active(
    request: Request[Any, Any, Any], db: AsyncSession, user_id: int, active: bool
) -> Response[Any]:
    user = await users.get_user(db, user_id)
    try:
        await users.set_active(db, principal(request), user.id, active)
    except DomainError as exc:
        await db.rollback()
        user = await users.get_user(db, user_id)
        message = i18n.gettext(exc.message, **exc.params)
        return await _detail(
            request, db, user, await _stored_form(db, user), status=422, action_error=message
        )
    if active:
        flash(request, "success", i18n.gettext("{email} can sign in again.", email=user.email))
    else:
        flash(request, "success", i18n.gettext("{email} is deactivated and signed out.", email=user.email))
    return redirect(f"{BASE}/{user.id}", request)


@post(f"{BASE}/{{user_id:int}}/deactivate", opt=perm(ADMIN_USERS_MANAGE, resource="users"))
async def user_deactivate(
    request: Request[Any, Any, Any], db: DbSession, user_id: FromPath[int]
) -> Response[Any]:
    return await _set_active(request, db, user_id, False)


@post(f"{BASE}/{{user_id:int}}/reactivate", opt=perm(ADMIN_USERS_MANAGE, resource="users"))
async def user_reactivate(
    request: Request[Any, Any, Any], db: DbSession, user_id: FromPath[int]
) -> Response[Any]:
    return await _set_active(request, db, user_id, True)


ROUTES = [user_list, user_detail, user_save, user_deactivate, user_reactivate]
