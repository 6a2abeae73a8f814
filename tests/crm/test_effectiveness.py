"""Campaign effectiveness (CRM-9): exact figures under the documented attribution rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.crm.models import Campaign, CampaignRecipient, Lead, Opportunity, PipelineStage
from app.crm.services import effectiveness
from tests.crm.factories.marketing import add_account, add_order
from tests.crm.support import acting_as

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = datetime.now(SHANGHAI).date()


def day(n: int):
    return TODAY - timedelta(days=n)


def noon(n: int) -> datetime:
    return datetime.combine(day(n), time(12), SHANGHAI).astimezone(UTC)


@pytest.fixture(scope="module")
async def scenario(acme):
    """An e-mail campaign with recipients, leads, opportunities and orders around it."""
    alice, dave = acme.users["alice"], acme.users["dave"]
    east, west = acme.teams["East"], acme.teams["West"]
    as_alice = {"owner_id": alice, "team_id": east}
    as_dave = {"owner_id": dave, "team_id": west}
    async with acting_as(acme, "ada") as (s, _):
        stage = (
            await s.execute(select(PipelineStage.id).order_by(PipelineStage.position).limit(1))
        ).scalar_one()
        c = Campaign(
            name=f"Autumn {uuid.uuid4().hex[:6]}",
            channel="email",
            status="sent",
            currency="CNY",
            start_date=day(30),
            actual_cost=Decimal("1000.00"),
            budget=Decimal("1500.00"),
        )
        s.add(c)
        await s.flush()

        def recipient(n: int, status: str = "sent", **stamps: datetime) -> CampaignRecipient:
            return CampaignRecipient(
                campaign_id=c.id, email=f"r{n}-{c.id}@example.com", name=f"R{n}",
                token=uuid.uuid4().hex + "x" * 11, status=status, **stamps,
            )  # fmt: skip

        s.add_all(
            [
                recipient(1, opened_at=noon(29), clicked_at=noon(29), responded_at=noon(28)),
                recipient(2, opened_at=noon(27)),
                recipient(3, opened_at=noon(29), unsubscribed_at=noon(29)),
                recipient(4, "failed"),
                recipient(5, "skipped"),
                recipient(6),
            ]
        )
        a1 = await add_account(s, "A1 new via lead", **as_alice)
        a2 = await add_account(s, "A2 converted long ago")
        a3 = await add_account(s, "A3 new via opportunity", **as_dave)
        a4 = await add_account(s, "A4 old customer", **as_dave)

        def lead(name: str, account=None, converted: int | None = None, **owner) -> Lead:
            return Lead(
                full_name=name, campaign_id=c.id, source="campaign",
                status="converted" if account else "new",
                converted_account_id=account.id if account else None,
                converted_at=noon(converted) if converted is not None else None, **owner,
            )  # fmt: skip

        s.add_all([lead("L1", a1, 20, **as_alice), lead("L2", a2, 120), lead("L3")])

        def opportunity(name: str, account, **owner) -> Opportunity:
            return Opportunity(
                name=name, account_id=account.id, stage_id=stage, probability=50, currency="CNY",
                campaign_id=c.id, amount=Decimal("1000"), **owner,
            )  # fmt: skip

        o1, o2, o3 = opportunity("O1", a3, **as_dave), opportunity("O2", a4, **as_dave), opportunity("O3", a1)
        s.add_all([o1, o2, o3])
        await s.flush()
        # A1: converted 20 days ago; both orders within 90 days; one also through O3 (counted once).
        await add_order(s, a1.id, "3000.00", day(10), **as_alice)
        await add_order(s, a1.id, "1500.00", day(8), opportunity_id=o3.id, **as_alice)
        await add_order(s, a1.id, "999.00", day(5), status="draft", **as_alice)
        # A2: converted 120 days ago: day 20 counts, day 110 does not; not new (first order before start).
        await add_order(s, a2.id, "500.00", day(100))
        await add_order(s, a2.id, "700.00", day(10))
        # A3: orders of O1 — only the confirmed one in the campaign's currency counts.
        await add_order(s, a3.id, "2000.00", day(5), opportunity_id=o1.id, status="fulfilled", **as_dave)
        await add_order(s, a3.id, "400.00", day(5), opportunity_id=o1.id, status="cancelled", **as_dave)
        await add_order(s, a3.id, "100.00", day(5), opportunity_id=o1.id, currency="USD", **as_dave)
        # A4: bought long before the campaign; its new order of O2 is revenue, not a new customer.
        await add_order(s, a4.id, "50.00", day(200), status="invoiced", **as_dave)
        await add_order(s, a4.id, "800.00", day(3), opportunity_id=o2.id, **as_dave)

        event = Campaign(name=f"Fair {uuid.uuid4().hex[:6]}", channel="event", status="completed",
                         currency="CNY", start_date=day(60))  # fmt: skip
        s.add(event)
        await s.flush()
        a5 = await add_account(s, "A5 met at the fair")
        s.add_all(
            [
                Lead(full_name="F1", campaign_id=event.id, status="converted", converted_account_id=a5.id,
                     converted_at=noon(50)),
                Lead(full_name="F2", campaign_id=event.id),
                Lead(full_name="F3", campaign_id=event.id),
                Lead(full_name="F4", campaign_id=event.id),
            ]
        )  # fmt: skip
        await add_order(s, a5.id, "1200.00", day(40))
    return c.id, event.id


async def _results(acme, persona: str, campaign_id: int) -> effectiveness.Results:
    async with acting_as(acme, persona) as (s, principal):
        campaign = await s.get(Campaign, campaign_id)
        return await effectiveness.results(s, principal, campaign)


async def test_email_campaign_figures(acme, scenario):
    res = await _results(acme, "mia", scenario[0])
    assert (res.recipients, res.delivered, res.failed, res.skipped) == (6, 4, 1, 1)
    assert (res.opens, res.clicks, res.unsubscribes, res.responses) == (3, 1, 1, 1)
    assert (res.open_rate, res.click_rate, res.response_rate) == (
        Decimal("0.75"),
        Decimal("0.25"),
        Decimal("0.25"),
    )
    assert res.new_leads == 3
    assert res.new_customers == 2  # A1 and A3
    assert res.revenue == Decimal("7800.00")  # 3000 + 1500 + 500 + 2000 + 800
    assert res.cost == Decimal("1000.00")
    assert res.roi == Decimal("6.8")
    assert res.conversion_base == 4
    assert res.conversion_rate == Decimal("0.5")
    assert res.series == [(day(29), 2, 1), (day(28), 0, 0), (day(27), 1, 0)]


async def test_other_channels_convert_from_leads_and_roi_needs_a_cost(acme, scenario):
    res = await _results(acme, "ada", scenario[1])
    assert (res.recipients, res.delivered, res.new_leads, res.new_customers) == (0, 0, 4, 1)
    assert res.revenue == Decimal("1200.00")
    assert res.conversion_base == 4
    assert res.conversion_rate == Decimal("0.25")
    assert res.open_rate is None
    assert res.roi is None  # no cost recorded


async def test_a_team_manager_counts_only_the_teams_records(acme, scenario):
    res = await _results(acme, "sam", scenario[0])
    # Recipients are campaign data; leads, customers and revenue follow sam's report scope (East).
    assert (res.recipients, res.delivered, res.opens) == (6, 4, 3)
    assert res.new_leads == 1  # L1
    assert res.new_customers == 1  # A1
    assert res.revenue == Decimal("4500.00")  # A1's orders, owned in East
    nora = await _results(acme, "nora", scenario[0])
    assert (nora.new_leads, nora.new_customers, nora.revenue) == (0, 0, Decimal("0.00"))


async def test_results_for_many_campaigns_at_once(acme, scenario):
    async with acting_as(acme, "mia") as (s, mia):
        campaigns = list((await s.execute(select(Campaign).where(Campaign.id.in_(scenario)))).scalars())
        many = await effectiveness.results_for(s, mia, campaigns)
    assert {cid: (r.new_leads, r.new_customers, r.revenue) for cid, r in many.items()} == {
        scenario[0]: (3, 2, Decimal("7800.00")),
        scenario[1]: (4, 1, Decimal("1200.00")),
    }
