"""The sales people and teams a principal may filter pipeline views and reports by (PLAT-4 scopes).

A rep (``own``) picks only themselves, a manager (``team``) the people of the teams they belong to
or manage, an administrator (``all``) anyone. These are filter *choices*; the rows themselves are
always narrowed by the record rules, so a hand-typed ``owner_id`` of someone else shows nothing.

    people = await staff_in_scope(session, principal, CRM_OPPORTUNITY_READ)
    teams = await teams_in_scope(session, principal, CRM_OPPORTUNITY_READ)
    names = await user_names(session, {3, 7})
    stmt = select(Opportunity).where(*narrowed(Opportunity, principal, CRM_OPPORTUNITY_READ, owner_id=3))
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.security.models import Team, User
from app.security.permissions import Scope
from app.security.principal import Principal
from app.security.record_rules import visibility_clause


def narrowed(
    model: Any, principal: Principal, permission: str, owner_id: int | None = None, team_id: int | None = None
) -> list[Any]:
    """WHERE clauses for an ``Owned`` model: the record rules, then the chosen rep and team."""
    clauses: list[Any] = []
    rule = visibility_clause(model, principal, permission)
    if rule is not None:
        clauses.append(rule)
    if owner_id is not None:
        clauses.append(model.owner_id == owner_id)
    if team_id is not None:
        clauses.append(model.team_id == team_id)
    return clauses


async def staff_in_scope(session: AsyncSession, principal: Principal, permission: str) -> list[User]:
    scope = principal.scope_for(permission)
    if scope is None:
        return []
    stmt = (
        select(User)
        .where(User.is_active.is_(True), User.is_external.is_(False))
        .order_by(User.full_name, User.id)
    )
    if scope == Scope.OWN:
        stmt = stmt.where(User.id == principal.id)
    elif scope == Scope.TEAM:
        stmt = stmt.where(or_(User.id == principal.id, User.team_id.in_(sorted(principal.team_ids))))
    return list((await session.execute(stmt)).scalars())


async def teams_in_scope(session: AsyncSession, principal: Principal, permission: str) -> list[Team]:
    scope = principal.scope_for(permission)
    if scope is None or scope == Scope.OWN:
        return []
    stmt = select(Team).order_by(Team.name)
    if scope == Scope.TEAM:
        stmt = stmt.where(Team.id.in_(sorted(principal.team_ids)))
    return list((await session.execute(stmt)).scalars())


async def user_names(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = await session.execute(select(User.id, User.full_name).where(User.id.in_(wanted)))
    return {int(i): name for i, name in rows.all()}


async def team_names(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = await session.execute(select(Team.id, Team.name).where(Team.id.in_(wanted)))
    return {int(i): name for i, name in rows.all()}
