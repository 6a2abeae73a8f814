"""The leads demo seeder (CRM-2): hundreds of leads from every source and in every status, routed
by the assignment rules, the converted ones linked to what they became — and seeded once."""

from __future__ import annotations

from sqlalchemy import func, select

from app.crm.models import Account, Activity, AssignmentRule, Contact, Lead, Opportunity, WebForm
from app.crm.models.leads import LEAD_STATUSES
from app.crm.services.customers_demo import seed_customers_demo
from app.crm.services.lead_assignment import rule_matches
from app.crm.services.leads_demo import FAIR, LAUNCH, LEADS, seed_leads_demo
from app.crm.services.pipeline_demo import ensure_sales_staff, seed_pipeline_demo
from app.crm.services.sales_demo import seed_sales_demo
from app.crm.services.visibility import visible_leads
from app.kernel.db import utcnow
from app.security.principal import load_user_principal
from tenants.service import in_tenant
from tests.crm.demo_support import demo_tenant


async def count(session, model) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_the_leads_demo_covers_every_source_and_status_once(world):
    cast = await demo_tenant()
    async with in_tenant(cast.slug) as (s, ref):
        await seed_leads_demo(s)  # no accounts yet: nothing to build on
        assert await count(s, Lead) == 0
        await ensure_sales_staff(s)
        await seed_customers_demo(s)
        await seed_sales_demo(s)
        await seed_pipeline_demo(s)
        before = {m.__name__: await count(s, m) for m in (Account, Contact, Opportunity)}
        await seed_leads_demo(s)
        first = {m.__name__: await count(s, m) for m in (Lead, Activity, Account, Contact, Opportunity)}
        await seed_leads_demo(s)
        assert {
            m.__name__: await count(s, m) for m in (Lead, Activity, Account, Contact, Opportunity)
        } == first
        assert first["Lead"] == LEADS

        leads = list((await s.execute(select(Lead))).scalars())
        assert {"web_form", "import", "api", "referral", "event", "campaign"} <= {ld.source for ld in leads}
        assert {ld.status for ld in leads} == set(LEAD_STATUSES)
        now = utcnow()
        assert all((now - ld.created_at).days <= 240 for ld in leads)
        assert sum(ld.source_detail == FAIR for ld in leads) == 18  # the marketing seeder credits them
        assert sum(ld.source_detail == LAUNCH for ld in leads) == 12
        assert all(ld.disqualified_reason for ld in leads if ld.status == "disqualified")
        assert all(ld.qualified_at for ld in leads if ld.status in ("qualified", "converted"))

        # Routed by the rules; only fresh web-form leads no rule covers wait for a manager.
        rules = list((await s.execute(select(AssignmentRule).order_by(AssignmentRule.position))).scalars())
        assert len(rules) == 3
        unassigned = [ld for ld in leads if ld.owner_id is None]
        assert unassigned
        assert all(ld.status == "new" and ld.source == "web_form" for ld in unassigned)
        for ld in leads:
            rule = next((r for r in rules if rule_matches(r, ld.source, ld.region)), None)
            if rule is not None and ld.owner_id is not None:
                assert ld.owner_id in rule.user_ids, (ld.id, ld.region, ld.source)
        assert {ld.owner_id for ld in leads if ld.region == "华东"} <= set(rules[0].user_ids) | {None}

        # Converted: an account (new, or one of the owner's), a contact there, mostly a deal there.
        converted = [ld for ld in leads if ld.status == "converted"]
        assert len(converted) > 30
        accounts = {a.id: a for a in (await s.execute(select(Account))).scalars()}
        contacts = {c.id: c for c in (await s.execute(select(Contact))).scalars()}
        deals = {d.id: d for d in (await s.execute(select(Opportunity))).scalars()}
        new_accounts = 0
        for ld in converted:
            account = accounts[ld.converted_account_id]  # type: ignore[index]
            contact = contacts[ld.converted_contact_id]  # type: ignore[index]
            assert contact.account_id == account.id
            assert contact.email == ld.email
            assert account.owner_id == ld.owner_id
            assert ld.created_at <= ld.converted_at <= now  # type: ignore[operator]
            assert ld.updated_at == ld.converted_at  # its last change, not the seeder's run
            new_accounts += account.created_at == ld.converted_at
            if ld.converted_opportunity_id is not None:
                deal = deals[ld.converted_opportunity_id]
                assert (deal.account_id, deal.contact_id) == (account.id, contact.id)
                assert deal.owner_id == ld.owner_id
                assert deal.created_at == ld.converted_at
        assert new_accounts == first["Account"] - before["Account"] > 20
        assert sum(ld.converted_opportunity_id is not None for ld in converted) > len(converted) / 2
        assert first["Opportunity"] > before["Opportunity"]

        # The calls and notes: after the lead came in, by its owner; a converted lead's on the account.
        notes = list((await s.execute(select(Activity).where(Activity.lead_id.is_not(None)))).scalars())
        by_lead = {ld.id: ld for ld in leads}
        assert len(notes) > 300
        for a in notes:
            ld = by_lead[a.lead_id]  # type: ignore[index]
            assert ld.created_at <= a.occurred_at <= now
            assert a.user_id == ld.owner_id
            assert a.account_id == ld.converted_account_id
        assert not any(a.lead_id == ld.id for a in notes for ld in leads if ld.status == "new")

        forms = list((await s.execute(select(WebForm))).scalars())
        assert sum(f.submissions for f in forms) == sum(ld.source == "web_form" for ld in leads)

        # Each rep sees their own, the manager the team's and the unassigned ones (record rules).
        rep = await load_user_principal(s, ref, cast.rep)
        manager = await load_user_principal(s, ref, cast.manager)
        assert rep is not None
        assert manager is not None
        mine = list((await s.execute(visible_leads(rep))).scalars())
        assert len(mine) > 30
        assert {ld.owner_id for ld in mine} == {cast.rep}
        team = list((await s.execute(visible_leads(manager))).scalars())
        assert {ld.owner_id for ld in team} >= {cast.rep, cast.manager, None}
        assert len(team) < LEADS
