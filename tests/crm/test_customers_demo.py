"""The customer-master demo seeder (CRM-1): hundreds of accounts with contacts and history, owned
by the sales staff, with planted near-duplicates — and seeded once."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from app.crm.models import Account, Activity, Contact
from app.crm.services import duplicates
from app.crm.services.customers_demo import ACCOUNTS, DUPLICATES, seed_customers_demo
from app.security.principal import load_user_principal
from app.security.services.users import create_user
from tenants.service import in_tenant


async def count(session, model) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_the_demo_seeder_builds_believable_customers_once(world):
    from app.kernel.db import get_database
    from tenants.provisioning import ProvisionRequest, provision_tenant

    slug = f"demo{uuid.uuid4().hex[:8]}"
    provisioned = await provision_tenant(
        get_database().engine, ProvisionRequest(slug=slug, name="Demo", admin_email=f"a@{slug}.example")
    )
    async with in_tenant(slug) as (s, _):
        rep = await create_user(
            s,
            email=f"rep@{slug}.example",
            full_name="Rep",
            password="correct horse battery",
            role_keys=["sales_rep"],
        )
        await seed_customers_demo(s)
        first = {m.__name__: await count(s, m) for m in (Account, Contact, Activity)}
        await seed_customers_demo(s)
        second = {m.__name__: await count(s, m) for m in (Account, Contact, Activity)}
        owned = await s.scalar(select(func.count()).select_from(Account).where(Account.owner_id == rep.id))
        people = await s.scalar(select(func.count()).select_from(Account).where(Account.kind == "person"))
        no_primary = await s.scalar(
            select(func.count())
            .select_from(Account)
            .where(~select(Contact.id).where(Contact.account_id == Account.id, Contact.is_primary).exists())
        )
    assert first == second
    assert first["Account"] == ACCOUNTS + len(DUPLICATES)
    assert first["Contact"] >= first["Account"]
    assert first["Activity"] > first["Account"]
    assert owned == 270 + len(DUPLICATES)  # every account but one in ten goes to the sales staff
    assert people > 30
    assert no_primary == 0  # every account has its primary contact
    async with in_tenant(slug) as (s, ref):
        admin = await load_user_principal(s, ref, provisioned.admin_user_id)
        assert admin is not None
        pairs, _ = await duplicates.duplicate_account_pairs(s, admin)
    names = {(p.first.name, p.second.name) for p in pairs}
    assert ("上海明辉贸易有限公司", "上海明辉贸易") in names
    assert ("上海明辉贸易有限公司", "SHANGHAI MINGHUI TRADING") in names  # the same e-mail address
