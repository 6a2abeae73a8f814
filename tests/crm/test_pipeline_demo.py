"""The pipeline demo seeder (CRM-3/6): a second sales team, a won deal behind every larger order,
lost deals, a live pipeline with stage history — figures a forecast and a performance page can
show, each person's own — and seeded once."""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy import func, select

from app.crm.models import Account, Opportunity, PipelineStage, SalesOrder, StageChange
from app.crm.services.calendar import tenant_today
from app.crm.services.customers_demo import seed_customers_demo
from app.crm.services.forecast import forecast
from app.crm.services.performance import performance, period_for
from app.crm.services.pipeline_demo import EXTRA_SALES, WON_FROM, ensure_sales_staff, seed_pipeline_demo
from app.crm.services.sales_demo import seed_sales_demo
from app.kernel.db import utcnow
from app.security.models import Team, User
from app.security.principal import load_user_principal
from tenants.service import in_tenant
from tests.crm.demo_support import demo_tenant


async def count(session, model) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_the_pipeline_demo_is_live_consistent_and_seeded_once(world):
    cast = await demo_tenant()
    async with in_tenant(cast.slug) as (s, ref):
        await seed_pipeline_demo(s)  # no accounts yet: nothing to build on
        assert await count(s, Opportunity) == 0
        await ensure_sales_staff(s)
        await ensure_sales_staff(s)
        staff = {u.email: u for u in (await s.execute(select(User))).scalars()}
        assert {e for e, *_ in EXTRA_SALES} <= set(staff)
        west = await s.scalar(select(Team).where(Team.name == "West sales"))
        assert west is not None
        assert west.manager_id == staff["wendy.zhang@acme.example"].id
        assert staff["eric.wu@acme.example"].team_id == cast.east  # joins the first rep's team

        await seed_customers_demo(s)
        await ensure_sales_staff(s)  # accounts are shared out: nobody joins any more
        assert await count(s, User) == len(staff)
        await seed_sales_demo(s)
        await seed_pipeline_demo(s)
        first = {m.__name__: await count(s, m) for m in (Opportunity, StageChange, SalesOrder)}
        await seed_pipeline_demo(s)
        assert {m.__name__: await count(s, m) for m in (Opportunity, StageChange, SalesOrder)} == first

        stages = {st.id: st for st in (await s.execute(select(PipelineStage))).scalars()}
        deals = list((await s.execute(select(Opportunity))).scalars())
        open_deals = [d for d in deals if not (stages[d.stage_id].is_won or stages[d.stage_id].is_lost)]
        won = [d for d in deals if stages[d.stage_id].is_won]
        lost = [d for d in deals if stages[d.stage_id].is_lost]
        assert len(open_deals) >= 100
        assert {stages[d.stage_id].key for d in open_deals} == {
            "prospecting", "qualification", "needs_analysis", "proposal", "negotiation",
        }  # fmt: skip
        today = tenant_today()
        assert sum(d.expected_close_date >= today for d in open_deals) > 0.9 * len(open_deals)  # type: ignore[operator]
        assert all(d.closed_at is None and d.currency == "CNY" and d.amount > 0 for d in open_deals)
        assert all(d.lost_reason and d.closed_at and d.probability == 0 for d in lost)
        win_rate = len(won) / (len(won) + len(lost))
        assert 0.3 < win_rate < 0.6

        # Every larger order of an account manager in the last year was a deal, won for its total.
        by_id = {d.id: d for d in deals}
        orders = list(
            (
                await s.execute(
                    select(SalesOrder).where(
                        SalesOrder.status.in_(("confirmed", "fulfilled", "invoiced")),
                        SalesOrder.total >= WON_FROM,
                        SalesOrder.owner_id.is_not(None),
                        SalesOrder.order_date >= today - timedelta(days=365),
                    )
                )
            ).scalars()
        )
        assert orders
        for order in orders:
            deal = by_id[order.opportunity_id]  # type: ignore[index]
            assert stages[deal.stage_id].is_won
            assert (deal.amount, deal.closed_at, deal.owner_id, deal.account_id) == (
                order.total, order.confirmed_at, order.owner_id, order.account_id,
            )  # fmt: skip
        assert {o.opportunity_id for o in orders} <= {d.id for d in won}

        # Deals belong to their account's manager and team.
        owners = dict((await s.execute(select(Account.id, Account.owner_id))).all())
        assert all(d.owner_id == owners[d.account_id] and d.owner_id is not None for d in deals)

        # The history: opened in the first stage, moved forward, closed (or sitting) where it is.
        changes: dict[int, list[StageChange]] = {}
        for c in (await s.execute(select(StageChange).order_by(StageChange.changed_at))).scalars():
            changes.setdefault(c.opportunity_id, []).append(c)
        now = utcnow()
        for d in deals:
            steps = changes[d.id]
            assert steps[0].from_stage_id is None
            assert steps[0].changed_at == d.created_at
            assert steps[-1].to_stage_id == d.stage_id
            assert all(a.to_stage_id == b.from_stage_id for a, b in itertools.pairwise(steps))
            assert d.created_at <= steps[-1].changed_at == (d.closed_at or d.stage_changed_at) <= now
            positions = [stages[c.to_stage_id].position for c in steps if not stages[c.to_stage_id].is_lost]
            assert positions == sorted(positions)

        # What the reports show: a manager's team, a rep's own, this month never empty.
        sam = await load_user_principal(s, ref, cast.manager)
        alice = await load_user_principal(s, ref, cast.rep)
        assert sam is not None
        assert alice is not None
        month = await performance(s, sam, period_for("month", today))
        reps = {r.key: r for r in month.by_rep}
        east_people = set((await s.execute(select(User.id).where(User.team_id == cast.east))).scalars())
        assert set(reps) == east_people  # the manager sees East, and nobody from West
        for row in reps.values():
            assert row.current.won >= 1
            assert row.current.lost >= 1
            assert row.current.revenue > 0
        mine = await performance(s, alice, period_for("quarter", today))
        assert [r.key for r in mine.by_rep] == [cast.rep]
        assert mine.total.current.win_rate is not None
        assert 0 < mine.total.current.win_rate < 1
        assert mine.total.current.cycle_days is not None
        assert mine.total.current.cycle_days > 7
        fc = await forecast(s, alice, start=today, months=6)
        assert fc.horizon.count >= 10
        assert fc.horizon.weighted > 0
        assert fc.committed_total > 0  # won this month
        assert [r.key for r in fc.by_rep] == [cast.rep]
