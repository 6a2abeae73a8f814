"""Searching the tenant's audit trail (PLAT-8): who changed what, when, from where.

Rows are written by the flush hook in ``app.kernel.audit``; this module only reads them. The
portal's filter bar composes these functions onto ``audit_query()`` — each takes a statement and
returns a narrower one, so the admin page, an export or an API can share them.

    stmt = search(audit_query(), "user.invited")
    stmt = since(stmt, date(2026, 1, 1), "Asia/Shanghai")
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel.audit import AuditEntry
from app.kernel.errors import NotFound
from app.kernel.i18n import lazy

ACTOR_KINDS = ("user", "api_client", "system", "operator", "anonymous")


def audit_query() -> Select[Any]:
    return select(AuditEntry)


def search(stmt: Select[Any], q: str) -> Select[Any]:
    """Free text: part of the action, the business event, the entity type or who did it — or
    exactly the entity's id (record 12 is not record 112)."""
    text = q.strip()
    like = f"%{text.lower()}%"
    return stmt.where(
        or_(
            func.lower(AuditEntry.action).like(like),
            func.lower(AuditEntry.event).like(like),
            func.lower(AuditEntry.entity_type).like(like),
            func.lower(AuditEntry.actor_label).like(like),
            AuditEntry.entity_id == text,
        )
    )


def by_actor_kind(stmt: Select[Any], kind: str) -> Select[Any]:
    return stmt.where(AuditEntry.actor_kind == kind)


def by_entity_type(stmt: Select[Any], entity_type: str) -> Select[Any]:
    return stmt.where(AuditEntry.entity_type == entity_type)


def by_entity_id(stmt: Select[Any], entity_id: str) -> Select[Any]:
    return stmt.where(AuditEntry.entity_id == entity_id)


def by_action(stmt: Select[Any], action: str) -> Select[Any]:
    return stmt.where(AuditEntry.action == action)


def between(stmt: Select[Any], start: datetime | None, end: datetime | None) -> Select[Any]:
    """Changes at or after ``start`` and strictly before ``end`` — exact instants (the API, PLAT-9),
    where ``since``/``until`` below take the portal's calendar days."""
    if start is not None:
        stmt = stmt.where(AuditEntry.at >= start)
    if end is not None:
        stmt = stmt.where(AuditEntry.at < end)
    return stmt


def _start_of(day: date, tz: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(tz))


def since(stmt: Select[Any], day: date, tz: str) -> Select[Any]:
    """Changes on or after ``day`` (a calendar day in the reader's time zone)."""
    return stmt.where(AuditEntry.at >= _start_of(day, tz))


def until(stmt: Select[Any], day: date, tz: str) -> Select[Any]:
    """Changes on or before ``day`` (inclusive: up to the end of that day in ``tz``)."""
    return stmt.where(AuditEntry.at < _start_of(day + timedelta(days=1), tz))


def parse_day(value: str) -> date | None:
    """``YYYY-MM-DD`` as sent by ``<input type=date>``; anything else is no filter."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


async def entity_types(session: AsyncSession) -> list[str]:
    """The entity types present in the log, for the filter's choices.

    A loose index scan over ``ix_audit_log_entity`` (one index probe per distinct type), so the
    cost follows the number of types, not the size of the log.
    """
    a = AuditEntry.__table__
    first = select(a.c.entity_type.label("et")).order_by(a.c.entity_type).limit(1)
    walk = first.cte("entity_types", recursive=True)
    following = (
        select(a.c.entity_type).where(a.c.entity_type > walk.c.et).order_by(a.c.entity_type).limit(1)
    ).scalar_subquery()
    walk = walk.union_all(select(following).where(walk.c.et.is_not(None)))
    rows = await session.execute(select(walk.c.et).where(walk.c.et.is_not(None)))
    return list(rows.scalars())


async def get_entry(session: AsyncSession, entry_id: int) -> AuditEntry:
    entry = await session.get(AuditEntry, entry_id)
    if entry is None:
        raise NotFound(lazy("audit entry"))
    return entry


async def history_of_user(session: AsyncSession, user_id: int, *, limit: int = 20) -> list[AuditEntry]:
    """The latest changes made *to* a user (profile, roles) or *by* that user, newest first."""
    uid = str(user_id)
    stmt = (
        select(AuditEntry)
        .where(
            or_(
                and_(AuditEntry.entity_type == "users", AuditEntry.entity_id == uid),
                and_(AuditEntry.entity_type == "user_roles", AuditEntry.entity_id.like(f"{uid}/%")),
                and_(AuditEntry.actor_kind == "user", AuditEntry.actor_id == user_id),
            )
        )
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


@dataclass(frozen=True)
class Change:
    """One field of an audited record: its value before and after (None when absent)."""

    field: str
    before: Any
    after: Any
    changed: bool


def changes(entry: AuditEntry) -> list[Change]:
    """Before → after per field, in a stable order (created and deleted records show every field)."""
    before = entry.before or {}
    after = entry.after or {}
    whole = entry.before is None or entry.after is None
    keys = list(dict.fromkeys([*before.keys(), *after.keys()]))
    return [Change(k, before.get(k), after.get(k), whole or before.get(k) != after.get(k)) for k in keys]
