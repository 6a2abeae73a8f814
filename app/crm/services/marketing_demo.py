"""Demo data for marketing (the ``acme`` demo tenant): segments and campaigns with results.

    await seed_marketing_demo(session)     # idempotent: does nothing once a segment exists

Built on the accounts, contacts, leads, opportunities and orders the other demo seeders created
(it does nothing while there are fewer than 20 accounts): three segments, refreshed; an e-mail
campaign sent three weeks ago whose recipients opened, clicked, responded and unsubscribed in
believable (deterministic) proportions, with a few existing leads and opportunities attributed to
it; a trade-fair campaign with its cost; and a planned win-back e-mail campaign.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, Campaign, CampaignRecipient, Lead, Opportunity, PipelineStage, Segment
from app.crm.services import campaign_sending, segments
from app.kernel.db import utcnow
from app.security.models import Role, User, UserRole

SEGMENTS = [
    (
        "VIP customers",
        "all",
        [{"field": "m_score", "op": "gte", "value": 4}, {"field": "r_score", "op": "gte", "value": 3}],
    ),
    ("Lapsed customers", "all", [{"field": "recency", "op": "gt", "value": 180}]),
    ("Everyone with an order this year", "all", [{"field": "frequency", "op": "gte", "value": 1}]),
]
BODY = (
    "Dear {name},\n\nOur new season's range has arrived, and as a customer of ours you see it first: "
    "https://www.example.com/new-season\n\nUntil the end of the month {company} gets 10% off every order.\n\n"
    "Kind regards,\nThe Acme team"
)


async def seed_marketing_demo(session: AsyncSession) -> None:
    if await session.scalar(select(func.count()).select_from(Segment)):
        return
    if (await session.scalar(select(func.count()).select_from(Account)) or 0) < 20:
        return
    owner_id = await _marketer(session)
    created = []
    for name, match, rules in SEGMENTS:
        seg = Segment(name=name, match=match, rules=rules)
        session.add(seg)
        await session.flush()
        await segments.refresh_segment(session, seg.id)
        created.append(seg)
    today = utcnow().date()
    launch = Campaign(
        name="New season launch",
        channel="email",
        status="planned",
        currency="CNY",
        segment_id=created[2].id,
        objective="Introduce the new range to everyone who bought this year.",
        start_date=today - timedelta(days=21),
        budget=Decimal("8000.00"),
        actual_cost=Decimal("6200.00"),
        subject="{company}: the new season is here",
        body=BODY,
        owner_id=owner_id,
    )
    fair = Campaign(
        name="Canton Fair booth", channel="event", status="completed", currency="CNY",
        start_date=today - timedelta(days=60), end_date=today - timedelta(days=56),
        budget=Decimal("50000.00"), actual_cost=Decimal("46800.00"), owner_id=owner_id,
        objective="Meet importers and distributors; collect qualified leads.",
    )  # fmt: skip
    winback = Campaign(
        name="Win back lapsed customers", channel="email", status="planned", currency="CNY",
        segment_id=created[1].id, budget=Decimal("3000.00"), owner_id=owner_id,
        subject="We miss you, {name}", body="Hello {name},\n\nHere is 15% off your next order: https://www.example.com/back",
    )  # fmt: skip
    session.add_all([launch, fair, winback])
    await session.flush()
    if await campaign_sending.freeze_recipients(session, launch) == 0:
        return
    await _simulate_results(session, launch)
    await _attribute(session, launch, fair)


async def _simulate_results(session: AsyncSession, campaign: Campaign) -> None:
    """Three weeks after sending: ~95% delivered, ~40% opened, ~15% clicked, a few responses."""
    rnd = random.Random(campaign.id)  # noqa: S311 — made-up demo figures, not secrets
    sent_at = utcnow() - timedelta(days=21)
    rows = await session.execute(
        select(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign.id)
    )
    for r in rows.scalars():
        if rnd.random() < 0.05:
            r.status, r.error = "failed", "550 5.1.1 Mailbox unavailable"
            continue
        r.status, r.sent_at = "sent", sent_at
        if rnd.random() < 0.4:
            r.opened_at = sent_at + timedelta(hours=rnd.randint(1, 24 * 6))
            if rnd.random() < 0.38:
                r.clicked_at = r.opened_at + timedelta(minutes=rnd.randint(0, 30))
                if rnd.random() < 0.3:
                    r.responded_at = r.clicked_at + timedelta(minutes=rnd.randint(2, 60))
            elif rnd.random() < 0.04:
                r.unsubscribed_at = r.opened_at
    campaign.status, campaign.sent_at, campaign.scheduled_at = "sent", sent_at, sent_at
    await session.flush()


async def _marketer(session: AsyncSession) -> int | None:
    """The campaigns' owner: the first marketer, else the first member of staff."""
    marketer = await session.scalar(
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .join(Role, Role.id == UserRole.role_id)
        .where(Role.key == "marketer", User.is_active.is_(True), User.is_external.is_(False))
        .order_by(User.id)
        .limit(1)
    )
    if marketer is not None:
        return int(marketer)
    return await session.scalar(select(User.id).where(User.is_external.is_(False)).order_by(User.id).limit(1))


async def _attribute(session: AsyncSession, launch: Campaign, fair: Campaign) -> None:
    """The leads that came from the campaigns (the leads seeder names them in ``source_detail``;
    otherwise the first few leads), and the deals opened since each campaign began."""
    for campaign, source in ((launch, "campaign"), (fair, "event")):
        await session.execute(
            update(Lead)
            .where(Lead.campaign_id.is_(None), Lead.source_detail == campaign.name)
            .values(campaign_id=campaign.id, source=source, updated_at=Lead.updated_at)
        )
    if not await session.scalar(select(func.count()).select_from(Lead).where(Lead.campaign_id.is_not(None))):
        leads = (
            await session.execute(select(Lead).where(Lead.campaign_id.is_(None)).order_by(Lead.id).limit(12))
        ).scalars()
        for i, lead in enumerate(leads):
            lead.campaign_id = launch.id if i % 2 == 0 else fair.id
            lead.source = "campaign" if lead.campaign_id == launch.id else "event"
    # A customer who clicked through ordered: the first deal won since the e-mail went out.
    launched = datetime.combine(launch.start_date or utcnow().date(), time.min, tzinfo=UTC)
    won = await session.scalar(
        select(Opportunity)
        .join(PipelineStage, PipelineStage.id == Opportunity.stage_id)
        .where(PipelineStage.is_won, Opportunity.campaign_id.is_(None), Opportunity.closed_at >= launched)
        .order_by(Opportunity.closed_at, Opportunity.id)
        .limit(1)
    )
    if won is not None:
        won.campaign_id = launch.id
    for campaign, limit in ((fair, 6), (launch, 3)):
        began = datetime.combine(campaign.start_date or utcnow().date(), time.min, tzinfo=UTC)
        ended = began + timedelta(days=30)
        opportunities = (
            await session.execute(
                select(Opportunity)
                .where(
                    Opportunity.campaign_id.is_(None),
                    Opportunity.created_at >= began,
                    Opportunity.created_at < ended,
                )
                .order_by(Opportunity.id)
                .limit(limit)
            )
        ).scalars()
        for opportunity in opportunities:
            opportunity.campaign_id = campaign.id
    if not await session.scalar(
        select(func.count()).select_from(Opportunity).where(Opportunity.campaign_id.is_not(None))
    ):
        rows = (
            await session.execute(
                select(Opportunity).where(Opportunity.campaign_id.is_(None)).order_by(Opportunity.id).limit(4)
            )
        ).scalars()
        for i, opportunity in enumerate(rows):
            opportunity.campaign_id = launch.id if i % 2 == 0 else fair.id
    await session.flush()
