"""Factories for the route-table tests: service resources (tests/factories.py explains the contract),
and small builders the service tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, Contact, ServiceRecord, SlaPolicy, Ticket
from tests.factories import factory


async def add_account(session: AsyncSession, name: str, **values: Any) -> Account:
    account = Account(name=name, **values)
    session.add(account)
    await session.flush()
    return account


async def add_contact(
    session: AsyncSession, account: Account, name: str, email: str | None, **values: Any
) -> Contact:
    contact = Contact(account_id=account.id, full_name=name, email=email, **values)
    session.add(contact)
    await session.flush()
    return contact


async def add_ticket(session: AsyncSession, subject: str, **values: Any) -> Ticket:
    """A ticket written directly (no SLA, no assignment, no events): the starting point of a test."""
    from app.crm.services.numbering import next_number
    from app.kernel.db import utcnow

    values.setdefault("channel", "api")
    ticket = Ticket(number=await next_number(session, "ticket", utcnow().year), subject=subject, **values)
    session.add(ticket)
    await session.flush()
    return ticket


@factory("crm_tickets")
async def make_ticket(session: AsyncSession, tenant: Any, marker: str) -> int:
    ticket = await add_ticket(session, f"Ticket {marker}", requester_email=f"{marker}@customer.example")
    return ticket.id


@factory("crm_service_records")
async def make_service_record(session: AsyncSession, tenant: Any, marker: str) -> int:
    ticket = await add_ticket(session, f"Repair {marker}")
    record = ServiceRecord(
        ticket_id=ticket.id,
        summary=f"Record {marker}",
        labour_hours=Decimal("1"),
        labour_rate=Decimal("100"),
        labour_total=Decimal("100.00"),
        parts_total=Decimal("0"),
        total=Decimal("100.00"),
    )
    session.add(record)
    await session.flush()
    return record.id


@factory("crm_sla_policies")
async def make_sla_policy(session: AsyncSession, tenant: Any, marker: str) -> int:
    """There is one policy per priority, so the low one is replaced by a fresh row (same targets):
    a new id from the tenant's own sequence, which the isolation tests need."""
    old = (await session.execute(select(SlaPolicy).where(SlaPolicy.priority == "low"))).scalar_one()
    first, resolution = old.first_response_minutes, old.resolution_minutes
    await session.execute(delete(SlaPolicy).where(SlaPolicy.id == old.id))
    policy = SlaPolicy(
        name=f"Low {marker}", priority="low", first_response_minutes=first, resolution_minutes=resolution
    )
    session.add(policy)
    await session.flush()
    return policy.id


async def new_team(
    tenant: Any, name: str, *, agents: int = 2, manager: bool = False
) -> tuple[int, list[int]]:
    """A team of fresh service agents (their own rotation, untouched by other tests), optionally
    with a fresh manager; returns the team id and the agents' ids (manager last when asked)."""
    from app.security.models import Team
    from app.security.services.teams import create_team
    from app.security.services.users import create_user
    from tenants.service import in_tenant

    async with in_tenant(tenant.slug) as (session, _ref):
        team = await create_team(session, name=name, manager_id=None)
        ids = []
        for i in range(agents):
            user = await create_user(
                session,
                email=f"agent{i}.{name.lower()}@{tenant.slug}.example",
                full_name=f"Agent {i} {name}",
                password="correct horse battery",
                role_keys=["service_agent"],
                team_id=team.id,
            )
            ids.append(user.id)
        if manager:
            boss = await create_user(
                session,
                email=f"boss.{name.lower()}@{tenant.slug}.example",
                full_name=f"Boss {name}",
                password="correct horse battery",
                role_keys=["service_agent"],
                team_id=None,
            )
            await session.flush()
            (await session.get(Team, team.id)).manager_id = boss.id  # type: ignore[union-attr]
            ids.append(boss.id)
        await session.flush()
        return team.id, ids


@asynccontextmanager
async def acting_user(tenant: Any, user_id: int) -> AsyncIterator[tuple[AsyncSession, Any]]:
    """Like tests.crm.support.acting_as, for a user made by the test rather than a persona."""
    from app.kernel.context import Actor
    from app.security.principal import load_user_principal
    from tenants.service import in_tenant

    async with in_tenant(tenant.slug, Actor(kind="user", id=user_id, label=f"user {user_id}")) as (
        session,
        ref,
    ):
        principal = await load_user_principal(session, ref, user_id)
        assert principal is not None
        yield session, principal
