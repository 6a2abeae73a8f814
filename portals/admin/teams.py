"""Admin › Teams: the groups behind the ``team`` record scope — a name and a manager."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel import i18n
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.models import Team
from app.security.permissions import ADMIN_TEAMS_MANAGE
from app.security.services import teams, users
from portals.admin.forms import NAV_SECTION, optional_id
from portals.nav import NavItem, register
from portals.web import FormState, flash, form_data, perm, redirect, render

BASE = "/admin/teams"

register(NavItem(NAV_SECTION, lazy("Teams"), BASE, ADMIN_TEAMS_MANAGE, icon="team", order=40))


async def _manager_options(db: AsyncSession) -> list[tuple[int, str]]:
    return [(u.id, f"{u.full_name} <{u.email}>") for u in await users.active_staff(db)]


async def _list(
    request: Request[Any, Any, Any], db: AsyncSession, form: FormState, status: int = 200
) -> Response[Any]:
    team_list = await teams.list_teams(db)
    staff = {u.id: u for u in await users.active_staff(db)}
    return render(
        request,
        "admin/teams.html",
        status=status,
        form=form,
        team_list=team_list,
        counts=await teams.member_counts(db),
        managers=staff,
        manager_options=[(u.id, f"{u.full_name} <{u.email}>") for u in staff.values()],
    )


async def _edit(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    team: Team,
    form: FormState,
    *,
    status: int = 200,
    action_error: str | None = None,
) -> Response[Any]:
    return render(
        request,
        "admin/team_form.html",
        status=status,
        team=team,
        form=form,
        action_error=action_error,
        members=await teams.members(db, team.id),
        manager_options=await _manager_options(db),
    )


@get(BASE, opt=perm(ADMIN_TEAMS_MANAGE))
async def team_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    return await _list(request, db, FormState())


@post(BASE, opt=perm(ADMIN_TEAMS_MANAGE))
async def team_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    try:
        team = await teams.create_team(
            db, name=form.get("name"), manager_id=optional_id(form.get("manager_id"))
        )
    except DomainError as exc:
        await db.rollback()
        return await _list(request, db, FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("The team {name} is created.", name=team.name))
    return redirect(BASE, request)


@get(f"{BASE}/{{team_id:int}}", opt=perm(ADMIN_TEAMS_MANAGE, resource="teams"))
async def team_detail(
    request: Request[Any, Any, Any], db: DbSession, team_id: FromPath[int]
) -> Response[Any]:
    team = await teams.get_team(db, team_id)
    return await _edit(request, db, team, FormState({"name": team.name, "manager_id": team.manager_id or ""}))


@post(f"{BASE}/{{team_id:int}}", opt=perm(ADMIN_TEAMS_MANAGE, resource="teams"))
async def team_save(request: Request[Any, Any, Any], db: DbSession, team_id: FromPath[int]) -> Response[Any]:
    team = await teams.get_team(db, team_id)
    form = await form_data(request)
    try:
        await teams.update_team(
            db, team.id, name=form.get("name"), manager_id=optional_id(form.get("manager_id"))
        )
    except DomainError as exc:
        await db.rollback()
        return await _edit(request, db, await teams.get_team(db, team_id), FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("The team {name} is saved.", name=team.name))
    return redirect(BASE, request)


@post(f"{BASE}/{{team_id:int}}/delete", opt=perm(ADMIN_TEAMS_MANAGE, resource="teams"))
async def team_delete(
    request: Request[Any, Any, Any], db: DbSession, team_id: FromPath[int]
) -> Response[Any]:
    team = await teams.get_team(db, team_id)
    name = team.name
    try:
        await teams.delete_team(db, team.id)
    except DomainError as exc:
        await db.rollback()
        team = await teams.get_team(db, team_id)
        form = FormState({"name": team.name, "manager_id": team.manager_id or ""})
        return await _edit(
            request, db, team, form, status=422, action_error=i18n.gettext(exc.message, **exc.params)
        )
    flash(request, "success", i18n.gettext("The team {name} is deleted.", name=name))
    return redirect(BASE, request)


ROUTES = [team_list, team_create, team_detail, team_save, team_delete]
