"""Teams: the unit of the ``team`` record-rule scope (a manager sees the team's records)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel.audit import audited
from app.kernel.errors import Conflict, FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.security.models import Team, User
from app.security.validation import clean_name


async def list_teams(session: AsyncSession) -> list[Team]:
    return list((await session.execute(select(Team).order_by(Team.name))).scalars())


async def member_counts(session: AsyncSession) -> dict[int, int]:
    rows = await session.execute(
        select(User.team_id, func.count()).where(User.team_id.is_not(None)).group_by(User.team_id)
    )
    return {tid: n for tid, n in rows if tid is not None}


async def members(session: AsyncSession, team_id: int) -> list[User]:
    stmt = select(User).where(User.team_id == team_id).order_by(User.full_name)
    return list((await session.execute(stmt)).scalars())


async def get_team(session: AsyncSession, team_id: int) -> Team:
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFound(lazy("team"))
    return team


async def _validate(
    session: AsyncSession, name: object, manager_id: int | None, team_id: int | None = None
) -> str:
    clean, errors = clean_name(name, "name", max_len=120)
    if manager_id is not None:
        manager = await session.get(User, manager_id)
        if manager is None or not manager.is_active or manager.is_external:
            errors.append(FieldError("manager_id", "Choose an active staff member."))
    if errors:
        raise ValidationFailed(errors)
    clash = await session.scalar(select(Team.id).where(func.lower(Team.name) == clean.lower()))
    if clash is not None and clash != team_id:
        raise ValidationFailed([FieldError("name", "A team with this name already exists.")])
    return clean


async def create_team(session: AsyncSession, *, name: object, manager_id: int | None) -> Team:
    clean = await _validate(session, name, manager_id)
    async with audited(session, "team.created"):
        team = Team(name=clean, manager_id=manager_id)
        session.add(team)
    return team


async def update_team(session: AsyncSession, team_id: int, *, name: object, manager_id: int | None) -> Team:
    team = await get_team(session, team_id)
    clean = await _validate(session, name, manager_id, team_id)
    async with audited(session, "team.updated"):
        team.name, team.manager_id = clean, manager_id
    return team


async def delete_team(session: AsyncSession, team_id: int) -> None:
    team = await get_team(session, team_id)
    if await session.scalar(select(func.count()).select_from(User).where(User.team_id == team.id)):
        raise Conflict("team_not_empty", "Move the team's members to another team first.")
    async with audited(session, "team.deleted"):
        await session.delete(team)
