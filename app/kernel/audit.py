"""The audit trail (PLAT-8): every change flushed through a session is recorded with who, what,
when, from where, and the before/after values — automatically, so no service can forget.

A flush hook compares attribute history of every new, changed or deleted mapped object and
writes one row per object in the *same transaction* (so a rolled-back change leaves no audit
row and a committed one always has its row). Tenant sessions write to the tenant's
``audit_log``; platform sessions (operator console, provisioning) to ``public.platform_audit_log``.

Services name what they are doing with ``audit_event(session, "user.invited")`` so the log reads
in business terms; the table-level action (``users.update``) is always there as well.

Opt out per model with ``__audit__ = False`` (the audit tables themselves, high-volume logs);
hide sensitive columns with ``__audit_exclude__ = frozenset({...})``.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast
from weakref import WeakKeyDictionary

from sqlalchemy import BigInteger, DateTime, Index, String, Text, event, insert
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import get_history

from app.kernel import context
from app.kernel.db import IdMixin, SharedBase, TenantBase, utcnow

REDACTED = "[redacted]"


class _AuditColumns(IdMixin):
    __audit__ = False

    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_label: Mapped[str] = mapped_column(String(254), default="")
    action: Mapped[str] = mapped_column(String(80))  # "<table>.create|update|delete"
    event: Mapped[str | None] = mapped_column(String(80))  # the service's name for it
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(64))


class AuditEntry(TenantBase, _AuditColumns):
    """One recorded change to one record of this tenant."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_entity", "entity_type", "entity_id"),
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_actor", "actor_kind", "actor_id"),
    )


class PlatformAuditEntry(SharedBase, _AuditColumns):
    """One recorded change to a platform record (tenant registry, operators)."""

    __tablename__ = "platform_audit_log"
    __table_args__ = (Index("ix_platform_audit_log_at", "at"),)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes | bytearray | memoryview):
        return REDACTED
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def _is_audited(obj: Any) -> bool:
    return getattr(obj, "__audit__", True) and hasattr(obj, "__table__")


def _columns(obj: Any) -> list[Any]:
    return list(obj.__table__.columns)


def _snapshot(obj: Any) -> dict[str, Any]:
    excluded: frozenset[str] = getattr(obj, "__audit_exclude__", frozenset())
    out: dict[str, Any] = {}
    for col in _columns(obj):
        key = col.key
        out[key] = REDACTED if key in excluded else _jsonable(getattr(obj, key, None))
    return out


def _changes(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    excluded: frozenset[str] = getattr(obj, "__audit_exclude__", frozenset())
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for col in _columns(obj):
        hist = get_history(obj, col.key)
        if not hist.has_changes():
            continue
        old = hist.deleted[0] if hist.deleted else None
        new = hist.added[0] if hist.added else None
        if old == new:
            continue
        before[col.key] = REDACTED if col.key in excluded else _jsonable(old)
        after[col.key] = REDACTED if col.key in excluded else _jsonable(new)
    return before, after


def _entity_id(obj: Any) -> str | None:
    pk = [getattr(obj, c.key, None) for c in obj.__table__.primary_key.columns]
    return None if any(v is None for v in pk) else "/".join(str(v) for v in pk)


# session.info key: object → its own business event, set by ``audited(..., flush=False)`` for what
# the block changed; used once by the flush that writes the object, dropped at commit or rollback.
_LABELS = "audit_labels"


def _labels(session: Session) -> WeakKeyDictionary[Any, str]:
    labels = session.info.get(_LABELS)
    if labels is None:
        labels = session.info[_LABELS] = WeakKeyDictionary()
    return cast(WeakKeyDictionary[Any, str], labels)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_labels(session: Session, *_: Any) -> None:
    session.info.pop(_LABELS, None)


@event.listens_for(Session, "after_flush")
def _record_flush(session: Session, _flush_context: Any) -> None:
    labels = session.info.get(_LABELS) or {}
    if session.info.get("audit_disabled"):
        for obj in (*session.new, *session.dirty, *session.deleted):
            labels.pop(obj, None)
        return
    ctx = context.current()
    event_name = session.info.get("audit_event")

    def _label(obj: Any, default: str | None) -> str | None:
        return labels.get(obj, default)

    base = {
        "at": utcnow(),
        "actor_kind": ctx.actor.kind,
        "actor_id": ctx.actor.id,
        "actor_label": ctx.actor.label[:254],
        "event": event_name,
        "ip": ctx.ip,
        "user_agent": (ctx.user_agent or "")[:500] or None,
        "request_id": ctx.request_id,
    }
    rows: list[dict[str, Any]] = []
    for obj in session.new:
        if _is_audited(obj):
            rows.append(
                {
                    **base,
                    "event": _label(obj, event_name),
                    "action": f"{obj.__tablename__}.create",
                    "entity_type": obj.__tablename__,
                    "entity_id": _entity_id(obj),
                    "before": None,
                    "after": _snapshot(obj),
                }
            )
    for obj in session.dirty:
        if _is_audited(obj) and _modified(session, obj):
            before, after = _changes(obj)
            if after:
                rows.append(
                    {
                        **base,
                        "event": _label(obj, event_name),
                        "action": f"{obj.__tablename__}.update",
                        "entity_type": obj.__tablename__,
                        "entity_id": _entity_id(obj),
                        "before": before,
                        "after": after,
                    }
                )
    for obj in session.deleted:
        if _is_audited(obj):
            rows.append(
                {
                    **base,
                    "event": _label(obj, event_name),
                    "action": f"{obj.__tablename__}.delete",
                    "entity_type": obj.__tablename__,
                    "entity_id": _entity_id(obj),
                    "before": _snapshot(obj),
                    "after": None,
                }
            )
    for obj in (*session.new, *session.dirty, *session.deleted):  # each label is used once
        labels.pop(obj, None)
    if not rows:
        return
    model = AuditEntry if session.info.get("tenant_schema") else PlatformAuditEntry
    session.connection().execute(insert(model), rows)


def _modified(session: Session, obj: Any) -> bool:
    return session.is_modified(obj, include_collections=False)


@asynccontextmanager
async def audited(session: AsyncSession, name: str, *, flush: bool = True) -> AsyncIterator[None]:
    """Label every change flushed inside the block with a business event name (``user.invited``).

    async with audited(session, "user.invited"):
        session.add(invitation)

    ``flush=False`` labels what the block added or changed and leaves it to the next flush, so
    that several steps of one request (an invoice, the order it marks invoiced, their events)
    reach the database in one flush — one statement per table and one for their audit rows —
    each still recorded under its own event."""
    sync = session.sync_session
    info = sync.info
    previous = info.get("audit_event")
    info["audit_event"] = name
    pending_before = set() if flush else {id(o) for o in (*sync.new, *sync.dirty, *sync.deleted)}
    try:
        yield
        if flush:
            await session.flush()
        else:
            # Only what this block changed: a change pending from before keeps its own label (or
            # the flush's); an object changed again by a later block keeps this first label.
            labels = _labels(sync)
            changed = (*sync.new, *sync.deleted, *(o for o in sync.dirty if _modified(sync, o)))
            for obj in changed:
                if _is_audited(obj) and id(obj) not in pending_before:
                    labels.setdefault(obj, name)
    finally:
        info["audit_event"] = previous
