"""The account and contact lists (CRM-1): their base statements (record rules included), filters,
and the choices the filter bar offers. The portal's tables, its CSV exports and the API all build
on these, so a filter means the same thing everywhere.

    stmt = with_tag(accounts_list(principal), "vip")        # visible accounts tagged vip
    stmt = contacts_list(principal).where(contact_match("王"))
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.dialects.postgresql import array, distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, Contact
from app.crm.services.search import account_match, contact_match, normalise_query
from app.crm.services.visibility import visible_accounts, visible_contacts
from app.security.models import User
from app.security.permissions import Scope
from app.security.principal import Principal

NO_OWNER = "none"


def accounts_list(principal: Principal) -> Select[Any]:
    """Accounts the principal may see, not archived (merged-away accounts are never listed)."""
    return visible_accounts(principal).where(Account.archived_at.is_(None))


def contacts_list(principal: Principal) -> Select[Any]:
    """Contacts of the accounts the principal may see (the statement joins Account)."""
    return visible_contacts(principal).where(Contact.archived_at.is_(None), Account.archived_at.is_(None))


# --- filters: (statement, value) → statement; on contacts they apply to the contact's account ---


def search_accounts(stmt: Select[Any], q: str) -> Select[Any]:
    q = normalise_query(q)
    return stmt.where(account_match(q)) if q else stmt


def search_contacts(stmt: Select[Any], q: str) -> Select[Any]:
    q = normalise_query(q)
    return stmt.where(contact_match(q, with_account_name=True)) if q else stmt


def with_stage(stmt: Select[Any], stage: str) -> Select[Any]:
    return stmt.where(Account.lifecycle_stage == stage)


def with_kind(stmt: Select[Any], kind: str) -> Select[Any]:
    return stmt.where(Account.kind == kind)


def with_region(stmt: Select[Any], region: str) -> Select[Any]:
    return stmt.where(Account.region == region)


def with_tag(stmt: Select[Any], tag: str) -> Select[Any]:
    return stmt.where(Account.tags.op("@>")(array([tag])))  # the GIN index on tags


def with_owner(stmt: Select[Any], owner: str) -> Select[Any]:
    """``owner`` is a user id or "none" (no account manager); anything else matches nothing."""
    if owner == NO_OWNER:
        return stmt.where(Account.owner_id.is_(None))
    return stmt.where(Account.owner_id == (int(owner) if owner.isdigit() and len(owner) < 18 else -1))


def updated_since(stmt: Select[Any], model: Any, moment: datetime) -> Select[Any]:
    return stmt.where(model.updated_at >= moment)


# --- what the filter bar offers ---------------------------------------------------------------


async def region_choices(session: AsyncSession, principal: Principal, limit: int = 100) -> list[str]:
    """The regions of the accounts the principal sees, most used first (then alphabetically)."""
    base = accounts_list(principal).where(Account.region.is_not(None)).subquery()
    stmt = (
        select(base.c.region)
        .group_by(base.c.region)
        .order_by(func.count().desc(), base.c.region)
        .limit(limit)
    )
    return sorted((await session.execute(stmt)).scalars(), key=str.lower)


async def tag_choices(session: AsyncSession, principal: Principal, limit: int = 60) -> list[str]:
    """The most used tags among the accounts the principal sees, alphabetically."""
    base = accounts_list(principal).subquery()
    tag = func.unnest(base.c.tags).label("tag")
    inner = select(tag).select_from(base).subquery()
    stmt = select(inner.c.tag).group_by(inner.c.tag).order_by(func.count().desc(), inner.c.tag).limit(limit)
    return sorted((await session.execute(stmt)).scalars(), key=str.lower)


async def staff_choices(session: AsyncSession) -> list[tuple[int, str]]:
    """Active staff (never customers' sign-ins) by name: the owner filter and pickers."""
    stmt = (
        select(User.id, User.full_name)
        .where(User.is_active.is_(True), User.is_external.is_(False))
        .order_by(User.full_name)
    )
    return [(int(i), str(n)) for i, n in (await session.execute(stmt)).all()]


async def assignable_staff(
    session: AsyncSession, principal: Principal, permission: str
) -> list[tuple[int, str]]:
    """Who the principal may give a record to under ``permission`` (app/crm/services/ownership.py):
    anyone (all), their teams' members and themselves (team), only themselves (own)."""
    scope = principal.scope_for(permission)
    stmt = select(User.id, User.full_name).where(User.is_active.is_(True), User.is_external.is_(False))
    if scope is None:
        return []
    if scope == Scope.OWN:
        stmt = stmt.where(User.id == principal.id)
    elif scope == Scope.TEAM:
        stmt = stmt.where((User.id == principal.id) | User.team_id.in_(sorted(principal.team_ids)))
    rows = (await session.execute(stmt.order_by(User.full_name))).all()
    return [(int(i), str(n)) for i, n in rows]


async def user_names(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    """Names of the users with these ids (owners on a page of rows), in one query."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = (await session.execute(select(User.id, User.full_name).where(User.id.in_(wanted)))).all()
    return {int(i): str(n) for i, n in rows}


async def primary_contacts(session: AsyncSession, account_ids: Iterable[int]) -> dict[int, Contact]:
    """Each account's primary contact (else its first), for a page of accounts, in one query."""
    wanted = sorted(set(account_ids))
    if not wanted:
        return {}
    stmt = (
        select(Contact)
        .where(Contact.account_id.in_(wanted), Contact.archived_at.is_(None))
        .ext(distinct_on(Contact.account_id))
        .order_by(Contact.account_id, Contact.is_primary.desc(), Contact.id)
    )
    return {c.account_id: c for c in (await session.execute(stmt)).scalars()}
