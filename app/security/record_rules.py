"""Record rules (PLAT-4): which rows of a scoped model a principal may see — in one place.

A model opts in by mixing in ``Owned`` (an ``owner_id`` and a ``team_id``). Every read path —
lists, detail pages, exports, aggregates, API — builds its statement through ``restrict``, or
fetches one row through ``get_visible``; nothing else filters by owner. A row the principal may
not see is indistinguishable from a row that does not exist (404, never 403), so ids leak nothing.

    stmt = restrict(select(Lead), Lead, principal, CRM_LEAD_READ)
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import BigInteger, ForeignKey, Select, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from app.kernel.errors import NotFound
from app.security.permissions import CATALOGUE, Scope
from app.security.principal import Principal

T = TypeVar("T")


class Owned:
    """Mixin for records that belong to a user and (through them) a team."""

    @declared_attr
    def owner_id(cls) -> Mapped[int | None]:
        return mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"), index=True)

    @declared_attr
    def team_id(cls) -> Mapped[int | None]:
        return mapped_column(BigInteger, ForeignKey("teams.id", ondelete="SET NULL"), index=True)


def visibility_clause(model: Any, principal: Principal, permission: str) -> Any:
    """The WHERE clause for ``principal`` reading ``model`` under ``permission`` (None = all rows)."""
    if permission not in CATALOGUE:
        raise ValueError(f"unknown permission {permission!r}")
    scope = principal.scope_for(permission)
    if scope is None:
        return false()
    if scope == Scope.ALL or not CATALOGUE[permission].scoped:
        return None
    if not hasattr(model, "owner_id"):
        raise TypeError(f"{model.__name__} is read under scoped {permission!r} but is not Owned")
    if scope == Scope.OWN:
        return model.owner_id == principal.id
    return or_(model.owner_id == principal.id, model.team_id.in_(sorted(principal.team_ids)))


def restrict(stmt: Select[Any], model: Any, principal: Principal, permission: str) -> Select[Any]:
    clause = visibility_clause(model, principal, permission)
    return stmt if clause is None else stmt.where(clause)


async def get_visible(
    session: AsyncSession, model: type[T], ident: int, principal: Principal, permission: str, what: str
) -> T:
    """Fetch one row the principal may see, or raise NotFound (also when it exists but is hidden)."""
    stmt = restrict(select(model).where(model.id == ident), model, principal, permission)  # type: ignore[attr-defined]
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise NotFound(what)
    return row


def can_write(record: Any, principal: Principal, permission: str) -> bool:
    """Whether a loaded record falls inside the principal's scope for a write permission."""
    scope = principal.scope_for(permission)
    if scope is None:
        return False
    if scope == Scope.ALL or not CATALOGUE[permission].scoped:
        return True
    if record.owner_id == principal.id:
        return True
    return scope == Scope.TEAM and record.team_id in principal.team_ids
