"""Factories for the route-table tests: marketing resources (tests/factories.py explains the contract).

Also the small record builders the marketing tests share (accounts, contacts and orders written
straight to the tables: the sales services are built in parallel and are not what these tests test).
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, Campaign, Contact, SalesOrder, Segment
from tests.factories import factory


@factory("crm_segments")
async def make_segment_record(session: AsyncSession, tenant: Any, marker: str) -> int:
    segment = Segment(
        name=f"Segment {marker}",
        description=marker,
        match="all",
        rules=[{"field": "region", "op": "in", "value": [marker]}],
    )
    session.add(segment)
    await session.flush()
    return segment.id


@factory("crm_campaigns")
async def make_campaign_record(session: AsyncSession, tenant: Any, marker: str) -> int:
    campaign = Campaign(
        name=f"Campaign {marker}",
        channel="email",
        status="planned",
        objective=marker,
        currency=tenant.currency,
        subject=f"Hello {marker}",
        body="Hello {name}",
    )
    session.add(campaign)
    await session.flush()
    return campaign.id


async def add_account(session: AsyncSession, name: str | None = None, **values: Any) -> Account:
    account = Account(name=name or f"Account {uuid.uuid4().hex[:8]}", **values)
    session.add(account)
    await session.flush()
    return account


async def add_contact(
    session: AsyncSession, account_id: int, email: str | None, full_name: str = "Pat Person", **values: Any
) -> Contact:
    contact = Contact(account_id=account_id, full_name=full_name, email=email, **values)
    session.add(contact)
    await session.flush()
    return contact


async def add_order(
    session: AsyncSession,
    account_id: int,
    total: str | Decimal,
    order_date: date,
    *,
    status: str = "confirmed",
    currency: str = "CNY",
    **values: Any,
) -> SalesOrder:
    amount = Decimal(total)
    order = SalesOrder(
        number=f"SO-T-{uuid.uuid4().hex[:12]}",
        account_id=account_id,
        status=status,
        currency=currency,
        order_date=order_date,
        subtotal=amount,
        total=amount,
        **values,
    )
    session.add(order)
    await session.flush()
    return order
