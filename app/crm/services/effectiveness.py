"""Campaign effectiveness (CRM-9): what each campaign reached and what came of it.

The rules (also in docs/marketing.md and on the results page):

* **Recipients** — the frozen recipient list; **delivered** — accepted by the mail server;
  **opens** / **clicks** / **unsubscribes** / **responses** — recipients who did so at least once
  (a click also counts as an open; a response is a web-form submission carrying the recipient's
  token, or one marked by hand). Open rate and click rate (CTR) are per delivered e-mail.
* **New leads** — leads whose ``campaign_id`` is the campaign.
* **Attributed accounts** — accounts of opportunities whose ``campaign_id`` is the campaign, and
  accounts that leads of the campaign were converted into.
* **New customers** — attributed accounts whose *first* confirmed order (confirmed, fulfilled or
  invoiced; by order date) is on or after the campaign's start (its start date, else the day
  sending started, else the day it was created).
* **Conversion rate** — new customers ÷ delivered e-mails for e-mail campaigns; ÷ new leads for
  campaigns on other channels.
* **Attributed revenue** — totals of confirmed orders (as above) in the campaign's currency that
  either belong to an opportunity of the campaign, or belong to an account converted from a lead of
  the campaign and are dated within 90 days from the conversion (day 0 to day 89). An order that
  qualifies both ways counts once.
* **ROI** — (attributed revenue − actual cost) ÷ actual cost; none while the cost is zero.

Leads, opportunities and orders are counted under the reader's ``crm.report.read`` record scope,
like every other sales figure: a team manager sees what their team's records contributed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, and_, cast, func, literal, select, true, union
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Campaign, CampaignRecipient, Lead, Opportunity, SalesOrder
from app.kernel import context
from app.security.permissions import CRM_REPORT_READ
from app.security.principal import Principal
from app.security.record_rules import visibility_clause

COUNTED_STATUSES = ("confirmed", "fulfilled", "invoiced")
LEAD_REVENUE_DAYS = 90
ZERO = Decimal("0.00")


@dataclass
class Results:
    campaign_id: int
    channel: str = "email"
    cost: Decimal = ZERO
    recipients: int = 0
    delivered: int = 0
    failed: int = 0
    skipped: int = 0
    opens: int = 0
    clicks: int = 0
    unsubscribes: int = 0
    responses: int = 0
    new_leads: int = 0
    new_customers: int = 0
    revenue: Decimal = ZERO
    series: list[tuple[date, int, int]] = field(default_factory=list)  # day, opens, clicks

    @staticmethod
    def _rate(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
        return None if not whole else Decimal(part) / Decimal(whole)

    @property
    def open_rate(self) -> Decimal | None:
        return self._rate(self.opens, self.delivered)

    @property
    def click_rate(self) -> Decimal | None:
        return self._rate(self.clicks, self.delivered)

    @property
    def response_rate(self) -> Decimal | None:
        return self._rate(self.responses, self.delivered)

    @property
    def conversion_base(self) -> int:
        return self.delivered if self.channel == "email" else self.new_leads

    @property
    def conversion_rate(self) -> Decimal | None:
        return self._rate(self.new_customers, self.conversion_base)

    @property
    def roi(self) -> Decimal | None:
        return None if not self.cost else (self.revenue - self.cost) / self.cost


def _tz() -> str:
    tenant = context.current_tenant()
    return tenant.timezone if tenant else "UTC"


def _scope(model: Any, principal: Principal) -> Any:
    clause = visibility_clause(model, principal, CRM_REPORT_READ)
    return true() if clause is None else clause


def campaign_start(tz: str) -> Any:
    c = Campaign
    return func.coalesce(
        c.start_date,
        cast(func.timezone(tz, c.scheduled_at), Date),
        cast(func.timezone(tz, c.created_at), Date),
    )


async def results_for(
    session: AsyncSession, principal: Principal, campaigns: Sequence[Campaign]
) -> dict[int, Results]:
    """Results of many campaigns in five statements, whatever their number (the list's comparison)."""
    ids = [c.id for c in campaigns]
    out = {c.id: Results(c.id, channel=c.channel, cost=c.actual_cost) for c in campaigns}
    if not ids:
        return out
    tz = _tz()
    r = CampaignRecipient
    rows = await session.execute(
        select(
            r.campaign_id,
            func.count(),
            func.count().filter(r.status == "sent"),
            func.count().filter(r.status == "failed"),
            func.count().filter(r.status == "skipped"),
            func.count(r.opened_at),
            func.count(r.clicked_at),
            func.count(r.unsubscribed_at),
            func.count(r.responded_at),
        )
        .where(r.campaign_id.in_(ids))
        .group_by(r.campaign_id)
    )
    for cid, *counts in rows.all():
        res = out[cid]
        (res.recipients, res.delivered, res.failed, res.skipped, res.opens, res.clicks) = counts[:6]
        res.unsubscribes, res.responses = counts[6:]
    leads = await session.execute(
        select(Lead.campaign_id, func.count())
        .where(Lead.campaign_id.in_(ids), _scope(Lead, principal))
        .group_by(Lead.campaign_id)
    )
    for lead_campaign, n in leads.all():
        if lead_campaign is not None:  # the WHERE guarantees it; the column is nullable
            out[lead_campaign].new_leads = int(n)
    for customer_campaign, n in (await session.execute(_new_customers(ids, principal, tz))).all():
        out[int(customer_campaign)].new_customers = int(n)
    for revenue_campaign, total in (await session.execute(_revenue(ids, principal, tz))).all():
        out[int(revenue_campaign)].revenue = total or ZERO
    return out


def _attributed_accounts(ids: list[int], principal: Principal) -> Any:
    from_opportunities = select(Opportunity.campaign_id, Opportunity.account_id.label("account_id")).where(
        Opportunity.campaign_id.in_(ids), _scope(Opportunity, principal)
    )
    from_leads = select(Lead.campaign_id, Lead.converted_account_id.label("account_id")).where(
        Lead.campaign_id.in_(ids), Lead.converted_account_id.is_not(None), _scope(Lead, principal)
    )
    return union(from_opportunities, from_leads).subquery("attributed")


def _new_customers(ids: list[int], principal: Principal, tz: str) -> Any:
    attributed = _attributed_accounts(ids, principal)
    o = SalesOrder
    first = (
        select(o.account_id, func.min(o.order_date).label("first_order"))
        .where(o.status.in_(COUNTED_STATUSES), o.account_id.in_(select(attributed.c.account_id)))
        .group_by(o.account_id)
        .subquery("first_orders")
    )
    return (
        select(attributed.c.campaign_id, func.count(func.distinct(attributed.c.account_id)))
        .join(first, first.c.account_id == attributed.c.account_id)
        .join(Campaign, Campaign.id == attributed.c.campaign_id)
        .where(first.c.first_order >= campaign_start(tz))
        .group_by(attributed.c.campaign_id)
    )


def _revenue(ids: list[int], principal: Principal, tz: str) -> Any:
    o = SalesOrder
    counted = and_(o.status.in_(COUNTED_STATUSES), _scope(o, principal))
    via_opportunity = (
        select(Opportunity.campaign_id.label("campaign_id"), o.id.label("order_id"), o.total, o.currency)
        .join(Opportunity, Opportunity.id == o.opportunity_id)
        .where(Opportunity.campaign_id.in_(ids), counted)
    )
    converted_on = cast(func.timezone(tz, Lead.converted_at), Date)
    via_lead = (
        select(Lead.campaign_id.label("campaign_id"), o.id.label("order_id"), o.total, o.currency)
        .join(Lead, Lead.converted_account_id == o.account_id)
        .where(
            Lead.campaign_id.in_(ids),
            Lead.converted_at.is_not(None),
            _scope(Lead, principal),
            o.order_date >= converted_on,
            o.order_date < converted_on + literal(LEAD_REVENUE_DAYS),
            counted,
        )
    )
    orders = union(via_opportunity, via_lead).subquery("attributed_orders")  # UNION: each order once
    return (
        select(orders.c.campaign_id, func.sum(orders.c.total))
        .join(Campaign, Campaign.id == orders.c.campaign_id)
        .where(orders.c.currency == Campaign.currency)
        .group_by(orders.c.campaign_id)
    )


async def results(session: AsyncSession, principal: Principal, campaign: Campaign) -> Results:
    """One campaign's results, with opens and clicks per day for the chart."""
    res = (await results_for(session, principal, [campaign]))[campaign.id]
    res.series = await _daily(session, campaign.id)
    return res


async def _daily(session: AsyncSession, campaign_id: int) -> list[tuple[date, int, int]]:
    """Opens and clicks per day (organisation's time zone), every day from the first to the last."""
    tz = _tz()
    r = CampaignRecipient
    opened = cast(func.timezone(tz, r.opened_at), Date)
    clicked = cast(func.timezone(tz, r.clicked_at), Date)
    opens = dict(
        (
            await session.execute(
                select(opened, func.count())
                .where(r.campaign_id == campaign_id, r.opened_at.is_not(None))
                .group_by(opened)
            )
        ).all()
    )
    clicks = dict(
        (
            await session.execute(
                select(clicked, func.count())
                .where(r.campaign_id == campaign_id, r.clicked_at.is_not(None))
                .group_by(clicked)
            )
        ).all()
    )
    days = sorted(set(opens) | set(clicks))
    if not days:
        return []
    span = min((days[-1] - days[0]).days, 365)
    every = [days[0] + timedelta(days=i) for i in range(span + 1)]
    return [(d, int(opens.get(d, 0)), int(clicks.get(d, 0))) for d in every]
