"""The outbox relay (PLAT-6): committed outbox rows → one Dramatiq message per subscribed handler.

    tessera relay                 # run_relay(): LISTEN tessera_outbox, poll every second as well
    await relay_once()            # one batch (tests, and the loop below)

A batch is claimed with ``FOR UPDATE SKIP LOCKED``, so several relays share the work without
blocking each other or sending a row twice at the same time. Rows are marked published in the
transaction that claimed them, *after* their messages were enqueued: if Redis is down the
transaction rolls back, the rows stay pending, the failure is recorded (``attempts``,
``last_error``) in a separate short transaction, and the relay backs off and tries again. A
crash between enqueue and commit sends the batch twice — handlers dedupe on the event id
(workers/runtime.py), so delivery is at least once and effects exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
from dramatiq import Broker, Message
from sqlalchemy import func, select, update

from app.kernel.db import close_database, get_database
from app.kernel.events import subscriptions_for
from app.kernel.logging import configure_logging, get_logger
from app.kernel.outbox import NOTIFY_CHANNEL, OutboxEvent
from app.settings import get_settings
from workers.broker import EVENTS_QUEUE, get_broker
from workers.runtime import asyncpg_dsn

log = get_logger("workers.relay")

BATCH_SIZE = 200
POLL_SECONDS = 1.0  # fallback when a NOTIFY is missed (listener reconnecting, another relay's)
MAX_BACKOFF_SECONDS = 30.0
EVENT_ACTOR = "handle_event"  # workers/actors.py


@dataclass
class RelayResult:
    published: int = 0  # outbox rows marked published (with or without subscribers)
    messages: int = 0  # Dramatiq messages enqueued
    pending: int = 0  # claimed rows left unpublished because enqueueing failed
    error: str | None = None
    batch_full: bool = False  # more rows may be waiting: run again at once


def event_messages(row: Any) -> list[Message[Any]]:
    """One message per subscription; the message id derives from (event, handler) so a duplicate
    is recognisable in logs and dead letters."""
    messages: list[Message[Any]] = []
    for sub in subscriptions_for(row.topic):
        options: dict[str, Any] = {"max_retries": sub.max_retries, "time_limit": sub.time_limit_ms}
        if sub.min_backoff_ms is not None:
            options["min_backoff"] = sub.min_backoff_ms
        if sub.max_backoff_ms is not None:
            options["max_backoff"] = sub.max_backoff_ms
        messages.append(
            Message(
                queue_name=EVENTS_QUEUE,
                actor_name=EVENT_ACTOR,
                args=(),
                kwargs={
                    "handler": sub.name,
                    "event_id": str(row.event_id),
                    "topic": row.topic,
                    "tenant_id": row.tenant_id,
                    "payload": row.payload,
                    "created_at": row.created_at.isoformat(),
                },
                options=options,
                message_id=str(uuid.uuid5(row.event_id, sub.name)),
            )
        )
    return messages


def _enqueue_all(broker: Broker, messages: list[Message[Any]]) -> None:
    for message in messages:
        broker.enqueue(message)


async def relay_once(*, broker: Broker | None = None, batch_size: int = BATCH_SIZE) -> RelayResult:
    """Relay one batch of due, unpublished events. Never raises for a broker failure: the result
    carries the error and the rows stay pending (database errors do propagate)."""
    broker = broker or get_broker()
    session = get_database().shared_session()
    try:
        rows = (
            await session.execute(
                select(
                    OutboxEvent.id,
                    OutboxEvent.event_id,
                    OutboxEvent.topic,
                    OutboxEvent.tenant_id,
                    OutboxEvent.payload,
                    OutboxEvent.created_at,
                )
                .where(OutboxEvent.published_at.is_(None), OutboxEvent.available_at <= func.now())
                .order_by(OutboxEvent.id)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            )
        ).all()
        if not rows:
            await session.rollback()
            return RelayResult()
        ids = [r.id for r in rows]
        messages = [m for r in rows for m in event_messages(r)]
        try:
            await asyncio.to_thread(_enqueue_all, broker, messages)
        except Exception as exc:
            await session.rollback()
            error = f"{type(exc).__name__}: {exc}"[:2000]
            await _record_failure(ids, error)
            log.warning("enqueueing outbox events failed; they stay pending", events=len(ids), error=error)
            return RelayResult(pending=len(ids), error=error)
        await session.execute(
            update(OutboxEvent).where(OutboxEvent.id.in_(ids)).values(published_at=func.now())
        )
        await session.commit()
    finally:
        await session.close()
    return RelayResult(published=len(ids), messages=len(messages), batch_full=len(ids) == batch_size)


async def _record_failure(ids: list[int], error: str) -> None:
    async with get_database().shared_session() as session, session.begin():
        await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(ids), OutboxEvent.published_at.is_(None))
            .values(attempts=OutboxEvent.attempts + 1, last_error=error)
        )


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


class Relay:
    """The relay loop; ``run_relay`` runs one per process, tests run one as a task."""

    def __init__(
        self,
        *,
        broker: Broker | None = None,
        poll_seconds: float = POLL_SECONDS,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.broker = broker
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.wake = asyncio.Event()
        self.stop = asyncio.Event()
        self._listener: asyncpg.Connection | None = None

    def request_stop(self) -> None:
        self.stop.set()
        self.wake.set()

    async def _ensure_listener(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            return
        self._listener = None
        conn = await asyncpg.connect(asyncpg_dsn(), server_settings={"application_name": "tessera-relay"})
        await conn.add_listener(NOTIFY_CHANNEL, lambda *_: self.wake.set())
        self._listener = conn
        self.wake.set()  # anything committed while we were not listening

    async def run(self) -> None:
        backoff = 0.0
        try:
            while not self.stop.is_set():
                self.wake.clear()
                try:
                    await self._ensure_listener()
                    result = await relay_once(broker=self.broker, batch_size=self.batch_size)
                except Exception as exc:  # the database is down or restarting: never crash
                    log.warning("relay cycle failed", error=f"{type(exc).__name__}: {exc}")
                    result = RelayResult(error=str(exc))
                if result.error:
                    backoff = min(max(backoff * 2, 0.5), MAX_BACKOFF_SECONDS)
                    await _sleep_unless(self.stop, backoff)
                    continue
                backoff = 0.0
                if result.published:
                    log.info("relayed outbox events", events=result.published, messages=result.messages)
                if result.batch_full:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.poll_seconds)
        finally:
            if self._listener is not None:
                await self._listener.close(timeout=2)
                self._listener = None


async def run_relay() -> None:
    """The `tessera relay` process: relay until SIGTERM/SIGINT."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    import workers.actors  # noqa: F401 — every context's subscriptions, or events go unrouted

    relay = Relay()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, relay.request_stop)
    log.info("relay started", channel=NOTIFY_CHANNEL)
    try:
        await relay.run()
    finally:
        await close_database()
        log.info("relay stopped")
