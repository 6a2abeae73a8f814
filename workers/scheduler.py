"""The periodic-job scheduler (PLAT-6): one leader at a time, each slot fired exactly once.

    tessera scheduler            # run_scheduler(); run two for availability
    await tick_once()            # one tick (tests)

Leadership is a session-level ``pg_try_advisory_lock`` held on a dedicated connection: while the
leader's connection lives no one else gets it; when it dies (crash, network, restart) PostgreSQL
releases the lock and a standby, retrying every few seconds, takes over.

Leadership is an optimisation, not the guarantee. Each tick computes every job's current slot
and INSERTs ``(job, slot)`` into ``scheduler_runs`` ON CONFLICT DO NOTHING; only the inserter
enqueues, in the same transaction. Two leaders during a hand-over therefore never fire a slot
twice, and a slot whose enqueue failed (Redis down) is rolled back and fired on the next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import signal
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from dramatiq import Broker, Message
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from app.kernel.db import close_database, get_database, utcnow
from app.kernel.logging import configure_logging, get_logger
from app.settings import get_settings
from tenants.models import Tenant
from workers.broker import get_broker
from workers.jobs import JOBS, Job
from workers.models import SchedulerRun
from workers.runtime import asyncpg_dsn

log = get_logger("workers.scheduler")

LOCK_KEY = int.from_bytes(hashlib.sha256(b"tessera.scheduler").digest()[:8], "big", signed=True)
TICK_SECONDS = 10.0
STANDBY_POLL_SECONDS = 5.0
_MESSAGE_NAMESPACE = uuid.UUID("6f1d8a52-3c1e-4b7a-9a55-2f0e4c1d7b90")


@dataclass(frozen=True)
class Fired:
    job: str
    slot: datetime
    messages: int


def _enqueue_all(broker: Broker, messages: list[Message[Any]]) -> None:
    for message in messages:
        broker.enqueue(message)


async def fire_slot(job: Job, slot: datetime, broker: Broker) -> int | None:
    """Claim ``(job, slot)`` and enqueue its messages in one transaction; None if already fired."""
    async with get_database().shared_session() as session, session.begin():
        claimed = await session.execute(
            insert(SchedulerRun)
            .values(job=job.name, slot=slot, fired_at=utcnow())
            .on_conflict_do_nothing()
            .returning(SchedulerRun.job)
        )
        if claimed.first() is None:
            return None
        tenant_ids: list[int | None] = [None]
        if job.per_tenant:
            active = select(Tenant.id).where(Tenant.status == "active").order_by(Tenant.id)
            tenant_ids = list((await session.execute(active)).scalars())
        messages = [
            job.actor.message_with_options(
                kwargs={**job.kwargs, "tenant_id": tenant_id, "slot": slot.isoformat()}, **job.options
            ).copy(
                message_id=str(uuid.uuid5(_MESSAGE_NAMESPACE, f"{job.name}|{slot.isoformat()}|{tenant_id}"))
            )
            for tenant_id in tenant_ids
        ]
        await asyncio.to_thread(_enqueue_all, broker, messages)
    return len(messages)


async def tick_once(
    now: datetime | None = None, *, jobs: list[Job] | None = None, broker: Broker | None = None
) -> list[Fired]:
    """Fire every job whose current slot has not fired yet. A failing job is logged and retried
    on the next tick; it does not hold the others back."""
    now = now or utcnow()
    broker = broker or get_broker()
    fired: list[Fired] = []
    for job in JOBS if jobs is None else jobs:
        slot = job.slot(now)
        try:
            count = await fire_slot(job, slot, broker)
        except Exception as exc:
            log.warning(
                "firing a job failed; retrying next tick",
                job=job.name,
                slot=slot.isoformat(),
                error=f"{type(exc).__name__}: {exc}",
            )
            continue
        if count is not None:
            log.info("job fired", job=job.name, slot=slot.isoformat(), messages=count)
            fired.append(Fired(job.name, slot, count))
    return fired


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


class Scheduler:
    """Leader election and the tick loop; ``run_scheduler`` runs one per process."""

    def __init__(
        self,
        *,
        jobs: list[Job] | None = None,
        broker: Broker | None = None,
        tick_seconds: float = TICK_SECONDS,
        standby_poll_seconds: float = STANDBY_POLL_SECONDS,
        lock_key: int = LOCK_KEY,
    ) -> None:
        self.jobs = jobs
        self.broker = broker
        self.tick_seconds = tick_seconds
        self.standby_poll_seconds = standby_poll_seconds
        self.lock_key = lock_key
        self.stop = asyncio.Event()
        self.is_leader = False
        self.backend_pid: int | None = None  # of the connection holding (or waiting for) the lock

    def request_stop(self) -> None:
        self.stop.set()

    async def run(self) -> None:
        while not self.stop.is_set():
            try:
                await self._stand_by_then_lead()
            except Exception as exc:  # lost the connection or the database: stand by again
                log.warning("scheduler lost its lock connection", error=f"{type(exc).__name__}: {exc}")
                await _sleep_unless(self.stop, self.standby_poll_seconds)

    async def _stand_by_then_lead(self) -> None:
        conn = await asyncpg.connect(asyncpg_dsn(), server_settings={"application_name": "tessera-scheduler"})
        self.backend_pid = conn.get_server_pid()
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.lock_key):
                await _sleep_unless(self.stop, self.standby_poll_seconds)
                if self.stop.is_set():
                    return
            self.is_leader = True
            log.info("scheduler is the leader", backend_pid=self.backend_pid)
            while not self.stop.is_set():
                await conn.fetchval("SELECT 1")  # the lock lives as long as this connection
                await tick_once(jobs=self.jobs, broker=self.broker)
                await _sleep_unless(self.stop, self.tick_seconds)
        finally:
            if self.is_leader:
                log.info("scheduler stepped down", backend_pid=self.backend_pid)
            self.is_leader = False
            self.backend_pid = None
            if not conn.is_closed():
                try:
                    await conn.close(timeout=2)  # releases the lock at once for the standby
                except Exception:
                    conn.terminate()


async def run_scheduler() -> None:
    """The `tessera scheduler` process: elect, tick, until SIGTERM/SIGINT."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    scheduler = Scheduler()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, scheduler.request_stop)
    log.info("scheduler started", jobs=[j.name for j in JOBS])
    try:
        await scheduler.run()
    finally:
        await close_database()
        log.info("scheduler stopped")
