"""Factories for the route-table tests: customers resources (tests/factories.py explains the contract)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import factory


async def _admin_id(session: AsyncSession) -> int:
    from app.security.models import User

    return int((await session.execute(select(User.id).order_by(User.id).limit(1))).scalar_one())


@factory("crm_accounts")
async def make_account(session: AsyncSession, tenant: Any, marker: str) -> int:
    from app.crm.models import Account

    account = Account(
        name=f"Account {marker}",
        kind="company",
        lifecycle_stage="customer",
        owner_id=await _admin_id(session),
        email=f"{marker}@account.example",
    )
    session.add(account)
    await session.flush()
    return account.id


@factory("crm_contacts")
async def make_contact(session: AsyncSession, tenant: Any, marker: str) -> int:
    from app.crm.models import Contact

    account_id = await make_account(session, tenant, marker)
    contact = Contact(
        account_id=account_id,
        first_name="Contact",
        last_name=marker,
        full_name=f"Contact {marker}",
        email=f"{marker}@contact.example",
        is_primary=True,
    )
    session.add(contact)
    await session.flush()
    return contact.id


@factory("crm_activities")
async def make_activity(session: AsyncSession, tenant: Any, marker: str) -> int:
    from app.crm.models import Activity

    account_id = await make_account(session, tenant, marker)
    activity = Activity(kind="task", subject=f"Task {marker}", account_id=account_id)
    session.add(activity)
    await session.flush()
    return activity.id
