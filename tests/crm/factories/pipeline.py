"""Factories for the route-table tests: pipeline resources (tests/factories.py explains the contract)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import factory


@factory("crm_opportunities")
async def make_opportunity(session: AsyncSession, tenant: Any, marker: str) -> int:
    """A deal in the first open stage of an account of its own, owned by the administrator."""
    from app.crm.models import Account, Opportunity, PipelineStage
    from app.security.models import User

    admin_id = (await session.execute(select(User.id).order_by(User.id).limit(1))).scalar_one()
    account = Account(name=f"Account {marker}", kind="company", lifecycle_stage="prospect", owner_id=admin_id)
    session.add(account)
    await session.flush()
    stage = (
        await session.execute(
            select(PipelineStage)
            .where(PipelineStage.is_won.is_(False), PipelineStage.is_lost.is_(False), PipelineStage.active)
            .order_by(PipelineStage.position)
            .limit(1)
        )
    ).scalar_one()
    opp = Opportunity(name=f"Deal {marker}", account_id=account.id, stage_id=stage.id, amount=1000,
                      currency="CNY", probability=stage.probability, owner_id=admin_id)  # fmt: skip
    session.add(opp)
    await session.flush()
    return opp.id


@factory("crm_pipeline_stages")
async def make_pipeline_stage(session: AsyncSession, tenant: Any, marker: str) -> int:
    """A switched-off open stage, so the boards of other tests keep their columns."""
    from app.crm.models import PipelineStage

    last = (await session.execute(select(func.max(PipelineStage.position)))).scalar_one() or 0
    stage = PipelineStage(key=f"s_{marker}"[:40], name=f"Stage {marker}", probability=50,
                          position=last + 1, is_won=False, is_lost=False, active=False)  # fmt: skip
    session.add(stage)
    await session.flush()
    return stage.id


# --- helpers for the pipeline tests (tests/crm/test_opportunities*.py, test_board.py, ...) -------


async def stage_ids(tenant: Any) -> dict[str, int]:
    """The built-in stages' ids by key (prospecting, qualification, …, won, lost)."""
    from app.crm.models import PipelineStage
    from tenants.service import in_tenant

    async with in_tenant(tenant.slug) as (session, _):
        rows = await session.execute(select(PipelineStage.key, PipelineStage.id))
        return {k: int(i) for k, i in rows.all()}


async def new_account(tenant: Any, persona: str, name: str) -> int:
    """An account owned by ``persona`` (their team too), written directly."""
    from app.crm.models import Account
    from app.security.models import User
    from tenants.service import in_tenant

    async with in_tenant(tenant.slug) as (session, _):
        owner = await session.get(User, tenant.users[persona])
        account = Account(name=name, kind="company", lifecycle_stage="prospect", owner_id=owner.id,
                          team_id=owner.team_id)  # fmt: skip
        session.add(account)
        await session.flush()
        return account.id


async def new_deal(tenant: Any, persona: str, account_id: int, **data: Any) -> int:
    """An opportunity created by ``persona`` through the service (their own unless owner_id says)."""
    from app.crm.services.opportunities import create_opportunity
    from tests.crm.support import acting_as

    async with acting_as(tenant, persona) as (session, principal):
        opp = await create_opportunity(session, principal, {"account_id": account_id, **data})
        return opp.id


async def backdate(tenant: Any, opportunity_id: int, **moments: Any) -> None:
    """Set ``created_at`` / ``closed_at`` (what cycle time and the won month are measured from)."""
    from sqlalchemy import update

    from app.crm.models import Opportunity
    from tenants.service import in_tenant

    async with in_tenant(tenant.slug) as (session, _):
        await session.execute(update(Opportunity).where(Opportunity.id == opportunity_id).values(**moments))


async def new_order(tenant: Any, persona: str | None, account_id: int, number: str, **values: Any) -> int:
    """A sales order row as the orders service would leave it (status, order_date, total given)."""
    from datetime import date

    from app.crm.models import SalesOrder
    from app.security.models import User
    from tenants.service import in_tenant

    if isinstance(values.get("order_date"), str):
        values["order_date"] = date.fromisoformat(values["order_date"])
    async with in_tenant(tenant.slug) as (session, _):
        owner = await session.get(User, tenant.users[persona]) if persona else None
        values.setdefault("currency", "CNY")
        order = SalesOrder(number=number, account_id=account_id,
                           owner_id=owner.id if owner else None, team_id=owner.team_id if owner else None,
                           subtotal=values["total"], **values)  # fmt: skip
        session.add(order)
        await session.flush()
        return order.id


_PRIVATE: dict[str, Any] = {}


async def private_tenant(slug: str) -> Any:
    """A tenant of the test world's shape (same personas and teams) for tests that change
    tenant-wide pipeline state — stages, 20,000 deals — so acme stays as other suites expect it."""
    if slug not in _PRIVATE:
        from tests.conftest import _build_tenant

        _PRIVATE[slug] = await _build_tenant(slug)
    return _PRIVATE[slug]


DEMO_DEALS = [  # (persona, account, deal, amount, stage key, close in months)
    ("alice", "上海明辉贸易有限公司", "100 台 A2 打印机", "120000", "proposal", 1),
    ("alice", "Northwind Traders", "Warehouse scanners", "48500", "negotiation", 0),
    ("alice", "Contoso Pharma", "Lab printers, phase 2", "86000", "qualification", 2),
    ("alice", "Fabrikam Retail", "Point-of-sale refresh", "23900", "prospecting", 3),
    ("alice", "Adventure Works", "Service contract 2027", "15000", "needs_analysis", 1),
    ("alice", "杭州云图科技", "云打印方案", "66000", "prospecting", 2),
    ("sam", "Tailspin Toys", "Label printers", "9800", "proposal", 0),
    ("dave", "Wide World Importers", "Fleet tablets", "54000", "negotiation", 1),
    ("dave", "Litware Inc", "Kiosk pilot", "31000", "qualification", 2),
]


async def seed_pipeline(tenant: Any) -> dict[str, int]:
    """A believable small pipeline (deal name → id) for page and browser tests."""
    from datetime import date

    from app.crm.services.forecast import add_months

    first = date.today().replace(day=1)
    stages = await stage_ids(tenant)
    ids: dict[str, int] = {}
    for persona, account, deal, amount, stage, months in DEMO_DEALS:
        account_id = await new_account(tenant, persona, account)
        close = add_months(first, months).replace(day=20).isoformat()
        ids[deal] = await new_deal(tenant, persona, account_id, name=deal, amount=amount,
                                   stage_id=stages[stage], expected_close_date=close)  # fmt: skip
    won_account = await new_account(tenant, "alice", "Proseware")
    ids["Proseware rollout"] = await new_deal(tenant, "alice", won_account, name="Proseware rollout",
                                              amount="72000", stage_id=stages["won"])  # fmt: skip
    lost = {"name": "Blue Yonder bid", "amount": "18000", "stage_id": stages["lost"], "lost_reason": "Price"}
    ids["Blue Yonder bid"] = await new_deal(tenant, "alice", won_account, **lost)
    return ids


async def published(topic: str, opportunity_id: int) -> list[dict[str, Any]]:
    """The payloads of ``topic`` events about one opportunity, oldest first."""
    from app.kernel.db import get_database
    from app.kernel.outbox import OutboxEvent

    async with get_database().shared_session() as session:
        rows = await session.execute(
            select(OutboxEvent.payload)
            .where(OutboxEvent.topic == topic)
            .where(OutboxEvent.payload["opportunity_id"].as_integer() == opportunity_id)
            .order_by(OutboxEvent.id)
        )
        return list(rows.scalars())


async def deal_row(tenant: Any, opportunity_id: int) -> Any:
    """A detached copy of the opportunity as the database has it now."""
    from app.crm.models import Opportunity
    from tenants.service import in_tenant

    async with in_tenant(tenant.slug) as (session, _):
        stmt = select(Opportunity).where(Opportunity.id == opportunity_id)
        return (await session.execute(stmt)).scalar_one()


PIPELINE_TABLES = ("crm_opportunities", "crm_stage_changes", "audit_log")
