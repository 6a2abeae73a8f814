"""Sending notifications (PLAT-7): in-app rows now, e-mail through the outbox and a worker.

    await notify(session, user_id, "system.announcement", title="...", body="...", link="/...")

Preferences decide the channels; a kind's defaults apply when the user has set nothing.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel.audit import audited
from app.kernel.db import utcnow
from app.kernel.errors import FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.kernel.outbox import publish
from app.notifications.kinds import CHANNELS, KINDS
from app.notifications.models import Notification, NotificationPreference

EMAIL_REQUESTED = "notifications.email_requested"


async def wanted_channels(session: AsyncSession, user_id: int, kind: str) -> set[str]:
    k = KINDS[kind]
    wanted = {c for c, on in (("in_app", k.in_app), ("email", k.email)) if on}
    rows = await session.execute(
        select(NotificationPreference.channel, NotificationPreference.enabled).where(
            NotificationPreference.user_id == user_id, NotificationPreference.kind == kind
        )
    )
    for channel, enabled in rows:
        (wanted.add if enabled else wanted.discard)(channel)
    return wanted


async def notify(
    session: AsyncSession, user_id: int, kind: str, *, title: str, body: str = "", link: str | None = None
) -> Notification | None:
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    channels = await wanted_channels(session, user_id, kind)
    note = None
    if "in_app" in channels:
        note = Notification(
            user_id=user_id, kind=kind, title=title[:300], body=body, link=link, created_at=utcnow()
        )
        session.add(note)
        await session.flush()
    if "email" in channels:
        await publish(
            session,
            EMAIL_REQUESTED,
            {"user_id": user_id, "kind": kind, "title": title[:300], "body": body, "link": link},
        )
    return note


async def unread_count(session: AsyncSession, user_id: int) -> int:
    stmt = (
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )
    return int(await session.scalar(stmt) or 0)


async def recent(session: AsyncSession, user_id: int, limit: int = 50) -> list[Notification]:
    stmt = (
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def mark_read(session: AsyncSession, user_id: int, notification_id: int | None = None) -> int:
    """Mark one (or, with no id, all) of the user's notifications read; returns how many changed."""
    stmt = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if notification_id is not None:
        exists = await session.scalar(
            select(Notification.id).where(Notification.id == notification_id, Notification.user_id == user_id)
        )
        if exists is None:
            raise NotFound(lazy("notification"))
        stmt = stmt.where(Notification.id == notification_id)
    result = await session.execute(stmt.values(read_at=utcnow()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def preferences(session: AsyncSession, user_id: int) -> dict[str, dict[str, bool]]:
    out = {k.key: {"in_app": k.in_app, "email": k.email} for k in KINDS.values()}
    rows = await session.execute(
        select(NotificationPreference).where(NotificationPreference.user_id == user_id)
    )
    for pref in rows.scalars():
        if pref.kind in out:
            out[pref.kind][pref.channel] = pref.enabled
    return out


async def save_preferences(session: AsyncSession, user_id: int, chosen: set[tuple[str, str]]) -> None:
    """``chosen`` holds (kind, channel) pairs the user ticked; every other known pair is off."""
    unknown = [f"{k}:{c}" for k, c in chosen if k not in KINDS or c not in CHANNELS]
    if unknown:
        raise ValidationFailed(
            [FieldError("preferences", "Unknown notification setting: {x}.", {"x": ", ".join(unknown)})]
        )
    async with audited(session, "notifications.preferences_saved"):
        await session.execute(delete(NotificationPreference).where(NotificationPreference.user_id == user_id))
        session.add_all(
            [
                NotificationPreference(user_id=user_id, kind=k, channel=c, enabled=(k, c) in chosen)
                for k in KINDS
                for c in CHANNELS
            ]
        )
