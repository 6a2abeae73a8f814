"""Two people confirm the same order at the same moment: exactly one confirmation and one event.

Each confirmation runs in its own transaction (its own connection). The first holds the order's
row lock while it waits before committing; without SELECT ... FOR UPDATE the second would read
the still-draft order and confirm it a second time — this test would then see two events.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select

from app.crm.errors import InvalidState
from app.crm.events import SALES_ORDER_CONFIRMED
from app.crm.services import order_status
from app.kernel.db import get_database
from app.kernel.outbox import OutboxEvent
from tenants.service import in_tenant
from tests.crm.factories.sales import account_row, order_row, product_row
from tests.crm.support import acting_as

# CRM's own order steps: finance's listeners are detached (tests/crm/conftest.py).
pytestmark = pytest.mark.usefixtures("crm_orders_alone")


async def confirmations_of(order_id: int) -> int:
    async with get_database().shared_session() as s:
        stmt = (
            select(func.count())
            .select_from(OutboxEvent)
            .where(
                OutboxEvent.topic == SALES_ORDER_CONFIRMED,
                OutboxEvent.payload["order_id"].as_integer() == order_id,
            )
        )
        return int((await s.execute(stmt)).scalar_one())


async def test_two_simultaneous_confirmations_make_one(acme):
    tag = uuid.uuid4().hex[:6]
    async with in_tenant(acme.slug) as (session, _):
        account = await account_row(session, f"Race {tag}", owner_id=acme.users["alice"])
        product = await product_row(session, f"RACE-{tag}", "10.00", "13")
        order = await order_row(
            session, account, [(product, "1")], owner_id=acme.users["alice"], team_id=acme.teams["East"]
        )
    first_has_lock = asyncio.Event()

    async def confirm(persona: str, hold: bool) -> str:
        try:
            async with acting_as(acme, persona) as (session, principal):
                if not hold:
                    await first_has_lock.wait()
                await order_status.confirm_order(session, principal, order.id)
                if hold:
                    first_has_lock.set()
                    await asyncio.sleep(0.3)  # commit late: the other one is already waiting
            return "confirmed"
        except InvalidState as exc:
            return exc.code

    results = await asyncio.gather(confirm("alice", hold=True), confirm("sam", hold=False))
    assert results == ["confirmed", "order_already_confirmed"]
    assert await confirmations_of(order.id) == 1
