"""Retries with back-off, then the dead letters; an operator lists them and, after the fix,
re-enqueues them (`tessera dead-letters list|retry`)."""

from __future__ import annotations

import asyncio
import json
import uuid

from click.testing import CliRunner
from dramatiq import Message
from sqlalchemy import func, select

from app.kernel.outbox import publish
from app.kernel.redis import get_redis
from app.notifications.models import Notification
from tenants.service import in_tenant
from tests.workers.conftest import relay_all, wait_until
from tests.workers.handlers import FLAKY_EFFECT, broken_key, runs_key
from workers.broker import get_broker
from workers.cli import dead_letters_group
from workers.deadletters import list_dead_letters

HANDLER = "tests.workers.handlers.write_flaky_effect"


async def _effects(marker: str) -> int:
    async with in_tenant("acme") as (session, _):
        stmt = select(func.count()).select_from(Notification).where(Notification.title == marker)
        return int(await session.scalar(stmt) or 0)


async def cli(*args: str) -> str:
    result = await asyncio.to_thread(CliRunner().invoke, dead_letters_group, list(args))
    assert result.exit_code == 0, result.output
    return result.output


async def test_a_handler_that_keeps_failing_ends_in_the_dead_letters_and_can_be_retried(acme, worker):
    marker = f"flaky-{uuid.uuid4().hex[:8]}"
    await get_redis().set(broken_key(marker), 1)
    async with in_tenant("acme") as (session, _):
        event = await publish(session, FLAKY_EFFECT, {"marker": marker, "user_id": acme.users["bob"]})
    await relay_all()

    def dead() -> list:
        return [d for d in list_dead_letters() if d.message.kwargs.get("event_id") == str(event.event_id)]

    [letter] = await wait_until(dead)

    assert int(await get_redis().get(runs_key(marker))) == 2  # the first try and max_retries=1 retry
    assert (letter.queue, letter.handler, letter.tenant_id, letter.retries) == ("events", HANDLER, acme.id, 1)
    assert letter.error == f"RuntimeError: downstream unavailable for {marker}"
    listed = await cli("list")
    assert f"{letter.key}  " in listed
    assert f"events  {HANDLER}  tenant {acme.id}  retries 1  RuntimeError: downstream unavailable" in listed
    as_json = [d for d in json.loads(await cli("list", "--json")) if d["id"] == letter.key]
    assert as_json[0]["kwargs"]["event_id"] == str(event.event_id)
    assert await _effects(marker) == 0

    await get_redis().delete(broken_key(marker))  # the operator fixed the cause
    retried = await cli("retry", letter.key)

    assert f"re-enqueued {letter.key} ({HANDLER}) on events" in retried
    await wait_until(lambda: _effects(marker))
    assert await _effects(marker) == 1
    assert dead() == []


async def test_a_message_for_an_unknown_handler_goes_straight_to_the_dead_letters(acme, worker):
    event_id = str(uuid.uuid4())
    broker = get_broker()
    broker.enqueue(
        Message(
            queue_name="events",
            actor_name="handle_event",
            args=(),
            kwargs={
                "handler": "tests.nobody.listens",
                "event_id": event_id,
                "topic": "tests.unheard",
                "tenant_id": acme.id,
                "payload": {},
                "created_at": "2030-01-01T00:00:00+00:00",
            },
            options={"max_retries": 5},
        )
    )

    [letter] = await wait_until(
        lambda: [d for d in list_dead_letters() if d.message.kwargs["event_id"] == event_id]
    )

    assert (letter.handler, letter.retries) == ("tests.nobody.listens", 0)  # no retries: they cannot help
    broker.client.zrem(f"{broker.namespace}:events.XQ", letter.key)
    broker.client.hdel(f"{broker.namespace}:events.XQ.msgs", letter.key)
