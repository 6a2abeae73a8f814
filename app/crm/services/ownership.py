"""Who owns a new or reassigned CRM record, and whether the actor may give it to them (PLAT-4).

A record's ``team_id`` is its owner's team at the time of assignment, so a manager's ``team``
scope follows the people in the team. Scopes limit assignment the way they limit reading: a rep
(``own``) keeps what they create, a manager (``team``) may hand records to their team, an
administrator (``all``) to anyone. API clients act with ``all``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel.errors import FieldError
from app.security.models import User
from app.security.permissions import Scope
from app.security.principal import Principal


@dataclass(frozen=True, slots=True)
class Assignment:
    owner_id: int | None
    team_id: int | None


async def assignment_for(
    session: AsyncSession,
    principal: Principal,
    permission: str,
    owner_id: int | None,
    errors: list[FieldError],
    *,
    field: str = "owner_id",
    default_to_actor: bool = True,
) -> Assignment:
    """The owner and team for a record the principal creates or reassigns under ``permission``.

    ``owner_id`` None means "the actor" for people (``default_to_actor``), "nobody" for API clients.
    """
    if owner_id is None:
        if principal.kind == "user" and default_to_actor:
            owner_id = principal.id
        else:
            return Assignment(None, None)
    owner = await session.get(User, owner_id)
    if owner is None or not owner.is_active or owner.is_external:
        errors.append(FieldError(field, "Choose an active staff member."))
        return Assignment(None, None)
    scope = principal.scope_for(permission)
    allowed = (
        scope == Scope.ALL
        or owner.id == principal.id
        or (scope == Scope.TEAM and owner.team_id is not None and owner.team_id in principal.team_ids)
    )
    if not allowed:
        errors.append(FieldError(field, "You may only assign records to yourself or your team."))
    return Assignment(owner.id, owner.team_id)
