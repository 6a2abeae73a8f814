"""The scheduler: one leader, a standby that takes over, each (job, slot) fired exactly once,
and the jobs themselves doing their clean-ups."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import dramatiq
import pytest
from dramatiq import Message
from sqlalchemy import func, select, update

from app.kernel.db import get_database
from app.kernel.outbox import OutboxEvent
from app.notifications.models import Notification
from tenants.models import Tenant
from tenants.provisioning import ProvisionRequest, provision_tenant
from tenants.service import delete_tenant, in_tenant
from tests.workers.conftest import running_worker, wait_until
from workers.broker import build_broker
from workers.jobs import JOBS, Job
from workers.models import ProcessedMessage, SchedulerRun
from workers.runtime import asyncpg_dsn
from workers.scheduler import Scheduler, tick_once

_slots = itertools.count()


def far_future_now() -> datetime:
    """A moment no other test ticks at: its slots are fresh in this run's database."""
    return datetime(2040, 1, 1, tzinfo=UTC) + timedelta(days=next(_slots) * 3)


@pytest.fixture
def ticks() -> Any:
    """A broker of the test's own (own namespace) with a one-second job nobody consumes."""
    broker = build_broker(namespace=f"tests-ticks-{uuid.uuid4().hex[:6]}")
    actor = dramatiq.Actor(
        lambda **_: None, broker=broker, actor_name="tests_tick", queue_name="ticks", priority=0, options={}
    )
    name = f"tests.tick.{uuid.uuid4().hex[:6]}"
    yield broker, Job(name, timedelta(seconds=1), per_tenant=False, actor=actor)
    broker.flush_all()


def queued(broker: Any, queue: str) -> list[Message[Any]]:
    return [Message.decode(raw) for raw in broker.client.hvals(f"{broker.namespace}:{queue}.msgs")]


async def active_tenant_count() -> int:
    async with get_database().shared_session() as s:
        return int(
            await s.scalar(select(func.count()).select_from(Tenant).where(Tenant.status == "active")) or 0
        )


async def test_two_ticks_at_once_fire_each_slot_once(world):
    broker = build_broker(namespace=f"tests-jobs-{uuid.uuid4().hex[:6]}")
    now = far_future_now()

    first, second = await asyncio.gather(tick_once(now, broker=broker), tick_once(now, broker=broker))
    again = await tick_once(now + timedelta(minutes=1), broker=broker)

    tenants = await active_tenant_count()
    fired = sorted((f.job, f.messages) for f in first + second)
    # Every job once (per tenant or once for the platform), whichever tick claimed its slot.
    assert fired == sorted((job.name, tenants if job.per_tenant else 1) for job in JOBS)
    assert {"notifications.cleanup", "idempotency.cleanup", "outbox.cleanup", "tenants.purge_due"} <= {
        name for name, _ in fired
    }
    # A minute later only the every-minute jobs have a new slot.
    assert sorted(f.job for f in again) == sorted(j.name for j in JOBS if j.interval == timedelta(minutes=1))
    messages = [m for m in queued(broker, "jobs") if m.actor_name != "run_periodic_task"]
    assert Counter(m.actor_name for m in messages) == {
        "clean_up_notifications": tenants,
        "clean_up_idempotency": tenants,
        "clean_up_outbox": 1,
        "purge_due_tenants": 1,
    }
    tasks = Counter(m.kwargs["task"] for m in queued(broker, "jobs") if m.actor_name == "run_periodic_task")
    declared = [j for j in JOBS if j.actor.actor_name == "run_periodic_task"]
    assert tasks == {
        j.name: (tenants if j.per_tenant else 1) * (2 if j.interval == timedelta(minutes=1) else 1)
        for j in declared
    }
    per_tenant = {"clean_up_notifications", "clean_up_idempotency"}
    assert {m.kwargs["tenant_id"] for m in messages if m.actor_name not in per_tenant} == {None}
    broker.flush_all()


async def test_the_standby_takes_over_and_no_slot_fires_twice(world, ticks):
    broker, job = ticks
    lock_key = 7_000_000 + uuid.uuid4().int % 1000
    leader = Scheduler(
        jobs=[job], broker=broker, tick_seconds=0.1, standby_poll_seconds=0.1, lock_key=lock_key
    )
    standby = Scheduler(
        jobs=[job], broker=broker, tick_seconds=0.1, standby_poll_seconds=0.1, lock_key=lock_key
    )
    tasks = [asyncio.create_task(leader.run())]
    try:
        await wait_until(lambda: leader.is_leader)
        tasks.append(asyncio.create_task(standby.run()))
        await asyncio.sleep(1.2)
        assert not standby.is_leader

        # The leader's connection dies (crash, network): PostgreSQL releases its lock.
        conn = await asyncpg.connect(asyncpg_dsn())
        try:
            assert await conn.fetchval("SELECT pg_terminate_backend($1)", leader.backend_pid)
        finally:
            await conn.close()

        await wait_until(lambda: standby.is_leader, within=5)
        await asyncio.sleep(1.2)
        assert not leader.is_leader  # it reconnected and now stands by
    finally:
        leader.request_stop()
        standby.request_stop()
        await asyncio.gather(*tasks)

    slots = Counter(m.kwargs["slot"] for m in queued(broker, "ticks"))
    assert len(slots) >= 3
    assert set(slots.values()) == {1}
    async with get_database().shared_session() as s:
        runs = await s.scalar(
            select(func.count()).select_from(SchedulerRun).where(SchedulerRun.job == job.name)
        )
    assert runs == len(slots)


async def test_two_leaders_during_a_hand_over_fire_each_slot_once(world, ticks):
    broker, job = ticks
    schedulers = [Scheduler(jobs=[job], broker=broker, tick_seconds=0.05, lock_key=k) for k in (1, 2)]
    tasks = [asyncio.create_task(s.run()) for s in schedulers]  # different locks: both lead
    try:
        await wait_until(lambda: all(s.is_leader for s in schedulers))
        await asyncio.sleep(2.5)
    finally:
        for s in schedulers:
            s.request_stop()
        await asyncio.gather(*tasks)

    slots = Counter(m.kwargs["slot"] for m in queued(broker, "ticks"))
    assert len(slots) >= 2
    assert set(slots.values()) == {1}


async def test_the_jobs_clean_up_and_purge(world, acme):
    long_ago = datetime.now(UTC) - timedelta(days=120)
    marker = uuid.uuid4().hex[:8]
    async with in_tenant("acme") as (session, _):
        session.add_all(
            [
                Notification(
                    user_id=acme.users["bob"],
                    kind="system.announcement",
                    title=f"old read {marker}",
                    created_at=long_ago,
                    read_at=long_ago,
                ),
                Notification(
                    user_id=acme.users["bob"],
                    kind="system.announcement",
                    title=f"old unread {marker}",
                    created_at=long_ago,
                ),
                Notification(
                    user_id=acme.users["bob"],
                    kind="system.announcement",
                    title=f"new read {marker}",
                    read_at=datetime.now(UTC),
                ),
            ]
        )
    old_event, fresh_event, old_record = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with get_database().shared_session() as s, s.begin():
        s.add_all(
            [
                OutboxEvent(event_id=old_event, topic="tests.old", payload={}, published_at=long_ago),
                OutboxEvent(
                    event_id=fresh_event, topic="tests.old", payload={}, published_at=datetime.now(UTC)
                ),
                ProcessedMessage(handler="tests.old", event_id=old_record, processed_at=long_ago),
            ]
        )
    slug = f"doomed{marker[:6]}"
    doomed = await provision_tenant(
        get_database().engine,
        ProvisionRequest(
            slug=slug,
            name="Doomed Ltd",
            admin_email=f"ada@{slug}.example",
            admin_password="correct horse battery",
        ),
    )
    await delete_tenant(slug)
    async with get_database().shared_session() as s, s.begin():
        await s.execute(update(Tenant).where(Tenant.slug == slug).values(purge_after=long_ago))

    await tick_once(far_future_now())
    async with running_worker(queues={"jobs"}):
        await wait_until(lambda: _tenant_is_purged(doomed.tenant_id))

        async def old_read_notification_gone() -> bool:
            return await _titles(marker) == [f"new read {marker}", f"old unread {marker}"]

        async def old_outbox_row_gone() -> bool:
            return await _outbox_events({old_event, fresh_event}) == {fresh_event}

        await wait_until(old_read_notification_gone)
        await wait_until(old_outbox_row_gone)

    async with get_database().shared_session() as s:
        assert await s.get(ProcessedMessage, ("tests.old", old_record)) is None


async def _tenant_is_purged(tenant_id: int) -> bool:
    async with get_database().shared_session() as s:
        return await s.scalar(select(Tenant.status).where(Tenant.id == tenant_id)) == "purged"


async def _titles(marker: str) -> list[str]:
    async with in_tenant("acme") as (session, _):
        rows = await session.execute(select(Notification.title).where(Notification.title.like(f"% {marker}")))
        return sorted(rows.scalars())


async def _outbox_events(ids: set[uuid.UUID]) -> set[uuid.UUID]:
    async with get_database().shared_session() as s:
        return set(
            (await s.execute(select(OutboxEvent.event_id).where(OutboxEvent.event_id.in_(ids)))).scalars()
        )


def test_every_job_has_a_slot_per_interval():
    job = next(j for j in JOBS if j.name == "outbox.cleanup")
    assert job.slot(datetime(2031, 5, 6, 7, 59, 59, tzinfo=UTC)) == datetime(2031, 5, 6, 7, tzinfo=UTC)
    daily = next(j for j in JOBS if j.name == "tenants.purge_due")
    assert daily.slot(datetime(2031, 5, 6, 23, 0, tzinfo=UTC)) == datetime(2031, 5, 6, tzinfo=UTC)
