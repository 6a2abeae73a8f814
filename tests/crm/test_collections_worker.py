"""The collection reminders through the real path: the scheduler fires ``crm.collection_reminders``
for every active tenant, a Dramatiq worker runs it in each tenant's transaction, the owner gets
the in-app notification; firing the next day's slot sends nothing new."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.crm.models import PaymentInstalment
from app.crm.notifications import COLLECTION_DUE
from app.crm.services.calendar import tenant_today
from app.notifications.models import Notification
from tenants.service import in_tenant
from tests.crm.factories.sales import account_row, contract_row
from tests.workers.conftest import running_worker, wait_until
from workers.jobs import JOBS
from workers.scheduler import tick_once

_days = itertools.count()


def fresh_slot() -> datetime:
    """A day no other test ticks at, so the (job, slot) claim is new in this database."""
    return datetime(2041, 3, 1, 12, tzinfo=UTC) + timedelta(days=next(_days) * 2)


async def reminders(acme, marker: str) -> int:
    async with in_tenant(acme.slug) as (session, _):
        stmt = (
            select(func.count())
            .select_from(Notification)
            .where(Notification.kind == COLLECTION_DUE, Notification.body.like(f"%{marker}%"))
        )
        return int((await session.execute(stmt)).scalar_one())


async def test_the_scheduler_and_a_worker_send_each_reminder_once(world, acme):
    marker = uuid.uuid4().hex[:8]
    async with in_tenant(acme.slug) as (session, _):
        today = tenant_today()
        account = await account_row(session, f"Worker client {marker}", owner_id=acme.users["dave"])
        contract = await contract_row(
            session,
            account,
            "500.00",
            [(today + timedelta(days=1), "200.00"), (today - timedelta(days=10), "300.00")],
            owner_id=acme.users["dave"],
            title=f"Worker {marker}",
        )
    job = next(j for j in JOBS if j.name == "crm.collection_reminders")
    assert job.interval == timedelta(days=1)

    first = fresh_slot()
    fired = await tick_once(first, jobs=[job])
    assert [f.job for f in fired] == ["crm.collection_reminders"]
    async with running_worker(queues={"jobs"}):
        await wait_until(lambda: _count_is(acme, marker, 2), within=20)
        await tick_once(first + timedelta(days=1), jobs=[job])  # the next day's slot
        await tick_once(first, jobs=[job])  # the same slot again fires nothing
        await _drained()
    assert await reminders(acme, marker) == 2
    async with in_tenant(acme.slug) as (session, _):
        stmt = select(PaymentInstalment).where(PaymentInstalment.contract_id == contract.id)
        rows = sorted((await session.execute(stmt)).scalars(), key=lambda i: i.due_date)
        assert [(i.due_reminder_sent_on, i.overdue_reminder_sent_on) for i in rows] == [
            (None, today),
            (today, None),
        ]


async def _count_is(acme, marker: str, n: int) -> bool:
    return await reminders(acme, marker) == n


async def _drained() -> None:
    """Wait until the jobs queue is empty and nothing is in flight."""
    from workers.broker import get_broker

    broker = get_broker()

    def empty() -> bool:
        client = broker.client
        ns = broker.namespace
        return not client.hlen(f"{ns}:jobs.msgs") and not any(
            client.hlen(k) for k in client.keys(f"{ns}:__acks__.*.jobs")
        )

    await wait_until(empty, within=20)
