"""What an opportunity's page shows besides the deal itself (CRM-3): its stage history, the
activities logged against it, and the quotes and orders made from it.

Each source is read under its own record rules: activities follow their account's visibility,
quotes and orders ``crm.order.read`` — a rep who sees a deal but not a colleague's order made from
it does not see that order here either.

    history = await stage_history(session, opp.id)
    notes = await activities_for(session, principal, opp)
    quotes, orders = await documents_for(session, principal, opp)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.crm.models import Account, Activity, Opportunity, PipelineStage, Quote, SalesOrder, StageChange
from app.crm.services.visibility import account_clause
from app.security.models import User
from app.security.permissions import CRM_ORDER_READ
from app.security.principal import Principal
from app.security.record_rules import restrict

HISTORY_LIMIT = 100
ACTIVITY_LIMIT = 50


@dataclass(frozen=True)
class StageStep:
    changed_at: datetime
    from_stage: str | None  # stage names are msgids for the built-in stages: show with tr()
    to_stage: str
    by: str | None
    days_in_previous: int | None  # how long the deal sat in the stage it left


@dataclass(frozen=True)
class LinkedDocument:
    id: int
    number: str
    status: str
    total: Decimal
    currency: str
    day: object  # a quote's valid-until date or an order's date


async def stage_history(session: AsyncSession, opportunity_id: int) -> list[StageStep]:
    """Oldest first: how the deal moved through the pipeline, who moved it, and how long each took."""
    came_from, went_to = aliased(PipelineStage), aliased(PipelineStage)
    rows = await session.execute(
        select(StageChange.changed_at, came_from.name, went_to.name, User.full_name)
        .outerjoin(came_from, came_from.id == StageChange.from_stage_id)
        .join(went_to, went_to.id == StageChange.to_stage_id)
        .outerjoin(User, User.id == StageChange.user_id)
        .where(StageChange.opportunity_id == opportunity_id)
        .order_by(StageChange.changed_at, StageChange.id)
        .limit(HISTORY_LIMIT)
    )
    steps: list[StageStep] = []
    previous: datetime | None = None
    for at, source, target, by in rows.all():
        days = (at - previous).days if previous is not None else None
        steps.append(StageStep(at, source, target, by, days))
        previous = at
    return steps


async def activities_for(session: AsyncSession, principal: Principal, opp: Opportunity) -> list[Activity]:
    """Newest first; only if the principal may see the activities' account (visibility.py)."""
    stmt = (
        select(Activity)
        .join(Account, Account.id == Activity.account_id)
        .where(Activity.opportunity_id == opp.id)
        .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        .limit(ACTIVITY_LIMIT)
    )
    clause = account_clause(principal)
    if clause is not None:
        stmt = stmt.where(clause)
    return list((await session.execute(stmt)).scalars())


async def author_names(session: AsyncSession, activities: list[Activity]) -> dict[int, str]:
    ids = sorted({a.user_id for a in activities if a.user_id is not None})
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.full_name).where(User.id.in_(ids)))
    return {int(i): n for i, n in rows.all()}


async def documents_for(
    session: AsyncSession, principal: Principal, opp: Opportunity
) -> tuple[list[LinkedDocument], list[LinkedDocument]]:
    """The quotes and sales orders made from this deal that the principal may see, newest first."""
    if not principal.can(CRM_ORDER_READ):
        return [], []
    # restrict() takes Select[Any]; these selects are typed per column (hence the casts).
    quotes = cast(
        Select[Any],
        select(
            Quote.id, Quote.number, Quote.status, Quote.total, Quote.currency, Quote.valid_until.label("day")
        ).where(Quote.opportunity_id == opp.id),
    )
    orders = cast(
        Select[Any],
        select(
            SalesOrder.id,
            SalesOrder.number,
            SalesOrder.status,
            SalesOrder.total,
            SalesOrder.currency,
            SalesOrder.order_date.label("day"),
        ).where(SalesOrder.opportunity_id == opp.id),
    )
    quote_rows = await session.execute(
        restrict(quotes, Quote, principal, CRM_ORDER_READ).order_by(Quote.created_at.desc(), Quote.id.desc())
    )
    order_rows = await session.execute(
        restrict(orders, SalesOrder, principal, CRM_ORDER_READ).order_by(
            SalesOrder.order_date.desc(), SalesOrder.id.desc()
        )
    )
    return (
        [LinkedDocument(**row._mapping) for row in quote_rows.all()],
        [LinkedDocument(**row._mapping) for row in order_rows.all()],
    )
