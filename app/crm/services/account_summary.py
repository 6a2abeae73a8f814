"""An account at a glance (CRM-1): the figures at the top of its profile, each under its own
permission and record rules — open pipeline, won this year, orders, open tickets, last contact.

    summary = await account_summary(session, principal, account_id, currency="CNY")
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import extract, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Activity, Opportunity, PipelineStage, SalesOrder, Ticket
from app.kernel.db import utcnow
from app.security.permissions import CRM_OPPORTUNITY_READ, CRM_ORDER_READ, CRM_TICKET_READ
from app.security.principal import Principal
from app.security.record_rules import restrict

ZERO = Decimal("0.00")
_BOOKED = ("confirmed", "fulfilled", "invoiced")


@dataclass(frozen=True)
class AccountSummary:
    open_deals: int | None  # None: the principal may not read opportunities
    open_pipeline: Decimal
    won_this_year: Decimal
    orders: int | None
    ordered_this_year: Decimal
    open_tickets: int | None
    last_interaction_at: datetime | None


async def account_summary(
    session: AsyncSession, principal: Principal, account_id: int, *, currency: str
) -> AccountSummary:
    """Figures for an account the caller has already loaded (visibility checked by the caller).
    Amounts count only records in ``currency`` (the organisation's), so they add up."""
    year = utcnow().year
    open_deals: int | None = None
    pipeline, won = ZERO, ZERO
    stmt: Any
    if principal.can(CRM_OPPORTUNITY_READ):
        stmt = (
            select(
                func.count().filter(~PipelineStage.is_won & ~PipelineStage.is_lost),
                func.coalesce(
                    func.sum(Opportunity.amount).filter(
                        ~PipelineStage.is_won & ~PipelineStage.is_lost, Opportunity.currency == currency
                    ),
                    0,
                ),
                func.coalesce(
                    func.sum(Opportunity.amount).filter(
                        PipelineStage.is_won,
                        Opportunity.currency == currency,
                        extract("year", Opportunity.closed_at) == year,
                    ),
                    0,
                ),
            )
            .select_from(Opportunity)
            .join(PipelineStage, PipelineStage.id == Opportunity.stage_id)
        )
        stmt = restrict(stmt.where(Opportunity.account_id == account_id), Opportunity, principal,
                        CRM_OPPORTUNITY_READ)  # fmt: skip
        open_deals, pipeline, won = (await session.execute(stmt)).one()
    orders: int | None = None
    ordered = ZERO
    if principal.can(CRM_ORDER_READ):
        stmt = select(
            func.count().filter(SalesOrder.status.in_(_BOOKED)),
            func.coalesce(
                func.sum(SalesOrder.total).filter(
                    SalesOrder.status.in_(_BOOKED),
                    SalesOrder.currency == currency,
                    extract("year", SalesOrder.order_date) == year,
                ),
                0,
            ),
        ).where(SalesOrder.account_id == account_id)
        orders, ordered = (await session.execute(restrict(stmt, SalesOrder, principal, CRM_ORDER_READ))).one()
    tickets: int | None = None
    if principal.can(CRM_TICKET_READ):
        stmt = select(func.count()).where(
            Ticket.account_id == account_id, Ticket.status.not_in(("resolved", "closed"))
        )
        tickets = (await session.execute(restrict(stmt, Ticket, principal, CRM_TICKET_READ))).scalar_one()
    last = await session.scalar(
        select(func.max(Activity.occurred_at)).where(
            Activity.account_id == account_id, Activity.kind != "task", Activity.occurred_at <= utcnow()
        )
    )
    return AccountSummary(
        open_deals=open_deals,
        open_pipeline=Decimal(pipeline),
        won_this_year=Decimal(won),
        orders=orders,
        ordered_this_year=Decimal(ordered),
        open_tickets=tickets,
        last_interaction_at=last,
    )
