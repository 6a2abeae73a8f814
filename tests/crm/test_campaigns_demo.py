"""The marketing demo seeder: believable segments and campaigns, and idempotent."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import func, select

from app.crm.models import Campaign, CampaignRecipient, Segment
from app.crm.services.marketing_demo import seed_marketing_demo
from tenants.service import in_tenant
from tests.crm.factories.marketing import add_account, add_contact, add_order


async def test_the_demo_seeder_fills_marketing_once():
    from app.kernel.db import get_database
    from tenants.provisioning import ProvisionRequest, provision_tenant

    slug = f"demo{uuid.uuid4().hex[:8]}"
    await provision_tenant(
        get_database().engine, ProvisionRequest(slug=slug, name="Demo", admin_email=f"a@{slug}.example")
    )
    async with in_tenant(slug) as (s, _):
        await seed_marketing_demo(s)  # no accounts yet: nothing to build on
        assert await s.scalar(select(func.count()).select_from(Segment)) == 0
        for i in range(24):
            a = await add_account(s, f"Customer {i}")
            await add_contact(s, a.id, f"buyer{i}@example.com", f"Buyer {i}")
            await add_order(s, a.id, f"{(i + 1) * 100}.00", date.today() - timedelta(days=10 + i * 9))
        await seed_marketing_demo(s)
        await seed_marketing_demo(s)
        assert await s.scalar(select(func.count()).select_from(Segment)) == 3
        campaigns = {c.name: c for c in (await s.execute(select(Campaign))).scalars()}
        assert sorted(campaigns) == ["Canton Fair booth", "New season launch", "Win back lapsed customers"]
        launch = campaigns["New season launch"]
        assert launch.status == "sent"
        statuses = dict(
            (await s.execute(
                select(CampaignRecipient.status, func.count())
                .where(CampaignRecipient.campaign_id == launch.id)
                .group_by(CampaignRecipient.status)
            )).all()
        )  # fmt: skip
        assert sum(statuses.values()) == 24
        assert set(statuses) <= {"sent", "failed"}
