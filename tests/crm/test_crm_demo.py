"""The whole CRM demo (``app.crm.interface.seed_demo``, registered in tenants/demo.py): every
seeder in the order of their dependencies, each person's data their own, the demo customer in the
portal with something to see — and nothing added the second time."""

from __future__ import annotations

from sqlalchemy import func, select

from app.crm.interface import seed_demo
from app.crm.models import (
    Account,
    Activity,
    Campaign,
    Contact,
    Lead,
    Opportunity,
    SalesOrder,
    Segment,
    StageChange,
    Survey,
    Ticket,
)
from app.crm.services import customer_portal
from app.crm.services.portal_access import current_customer
from app.crm.services.visibility import visible_accounts
from app.security.principal import load_user_principal
from tenants.demo import DEMO_SEEDERS
from tenants.service import in_tenant
from tests.crm.demo_support import demo_tenant

MODELS = (Account, Contact, Activity, Lead, Opportunity, StageChange, SalesOrder, Ticket, Survey, Segment)


async def counts(session) -> dict[str, int]:
    return {m.__name__: int(await session.scalar(select(func.count()).select_from(m)) or 0) for m in MODELS}


async def test_the_crm_demo_is_registered_and_seeds_everything_once(world):
    assert seed_demo in DEMO_SEEDERS
    cast = await demo_tenant()
    async with in_tenant(cast.slug) as (s, _):
        await seed_demo(s)
        first = await counts(s)
    async with in_tenant(cast.slug) as (s, _):
        await seed_demo(s)
        assert await counts(s) == first
    assert first["Account"] > 300
    assert first["Lead"] == 420
    assert first["Ticket"] > 100
    assert first["Segment"] == 3

    async with in_tenant(cast.slug) as (s, ref):
        # The marketer's campaigns, with leads and deals credited to them.
        campaigns = list((await s.execute(select(Campaign))).scalars())
        assert {c.owner_id for c in campaigns} == {cast.marketer}
        for name in ("New season launch", "Canton Fair booth"):
            c = next(c for c in campaigns if c.name == name)
            assert (await s.scalar(select(func.count()).where(Lead.campaign_id == c.id)) or 0) > 5
            assert (await s.scalar(select(func.count()).where(Opportunity.campaign_id == c.id)) or 0) > 0

        # The rep's own accounts; the service agent's team's tickets.
        rep = await load_user_principal(s, ref, cast.rep)
        assert rep is not None
        owners = set((await s.execute(visible_accounts(rep).with_only_columns(Account.owner_id))).scalars())
        assert owners == {cast.rep}
        assert (await s.scalar(select(func.count()).where(Ticket.owner_id == cast.agent)) or 0) > 10

        # The customer: linked to a contact of one of the rep's accounts, with orders (one on its
        # way), an open ticket and a survey waiting.
        customer = await load_user_principal(s, ref, cast.customer)
        assert customer is not None
        me = await current_customer(s, customer)
        contact = await s.get(Contact, me.contact_id)
        account = await s.get(Account, me.account_id)
        assert contact is not None
        assert account is not None
        assert (contact.portal_user_id, contact.email) == (cast.customer, f"customer@{cast.slug}.example")
        assert account.owner_id == cast.rep
        home = await customer_portal.home_summary(s, me)
        assert home.open_orders
        assert home.open_tickets
        assert home.waiting_surveys
        orders = list((await s.execute(customer_portal.orders_query(me))).scalars())
        assert len(orders) >= 3
        assert all(o.account_id == account.id and o.status != "draft" for o in orders)
