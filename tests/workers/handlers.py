"""Outbox handlers used only by the worker tests.

Imported by the test process (so the relay routes these topics) and by the real worker
subprocesses the process tests start (``python -m dramatiq workers.actors tests.workers.handlers``).
Each one writes its effect as an in-app notification titled with the event's ``marker``, so a test
counts effects with one query.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import redis
from dramatiq.middleware import Middleware
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel.events import Event, subscribe
from app.kernel.redis import get_redis
from app.notifications.models import Notification
from app.settings import get_settings
from workers.broker import get_broker

SLOW_EFFECT = "tests.slow_effect"
FLAKY_EFFECT = "tests.flaky_effect"
COUNTED = "tests.counted"


def runs_key(marker: str) -> str:
    return f"tessera:tests:runs:{marker}"


def broken_key(marker: str) -> str:
    return f"tessera:tests:broken:{marker}"


def _effect(event: Event) -> Notification:
    return Notification(
        user_id=int(event.payload["user_id"]),
        kind="system.announcement",
        title=str(event.payload["marker"]),
        body="effect",
    )


@subscribe(SLOW_EFFECT, max_retries=3, min_backoff_ms=50, max_backoff_ms=200)
async def write_slow_effect(event: Event, session: AsyncSession) -> None:
    """Sleeps on its first run only (the run a test kills), then writes its effect."""
    runs = await get_redis().incr(runs_key(event.payload["marker"]))
    if runs == 1:
        await asyncio.sleep(float(event.payload.get("sleep", 0)))
    session.add(_effect(event))


@subscribe(FLAKY_EFFECT, max_retries=1, min_backoff_ms=20, max_backoff_ms=100)
async def write_flaky_effect(event: Event, session: AsyncSession) -> None:
    """Fails while its marker is 'broken' in Redis (an outage the operator later fixes)."""
    await get_redis().incr(runs_key(event.payload["marker"]))
    if await get_redis().exists(broken_key(event.payload["marker"])):
        raise RuntimeError(f"downstream unavailable for {event.payload['marker']}")
    session.add(_effect(event))


@subscribe(COUNTED)
async def count_event(event: Event, session: AsyncSession) -> None:
    """No effect: the relay tests count messages, not effects."""


class LingerAfterCommit(Middleware):
    """Holds a worker thread *after* the actor committed and *before* the ack, when the event's
    payload asks for it: the window in which a killed worker leaves a done-but-unacked message."""

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        payload = message.kwargs.get("payload") or {}
        seconds = payload.get("linger_after_commit")
        if not seconds or exception is not None:
            return
        client = redis.Redis.from_url(get_settings().redis_url or "")
        try:  # only the first delivery lingers: the redelivery must get through
            if client.set(f"tessera:tests:lingered:{payload['marker']}", 1, nx=True):
                time.sleep(float(seconds))
        finally:
            client.close()


_broker = get_broker()
if not any(isinstance(m, LingerAfterCommit) for m in _broker.middleware):
    _broker.add_middleware(LingerAfterCommit())
