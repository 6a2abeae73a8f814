"""A fresh tenant with the demo's cast (a sales rep and the manager of their team, a marketer, a
service agent, an external customer sign-in), for the demo seeders' tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.kernel.db import get_database
from app.security.services.teams import create_team
from app.security.services.users import create_user
from tenants.provisioning import ProvisionRequest, provision_tenant
from tenants.service import in_tenant

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Cast:
    slug: str
    admin: int
    rep: int
    manager: int
    marketer: int
    agent: int
    customer: int
    east: int


async def demo_tenant() -> Cast:
    slug = f"demo{uuid.uuid4().hex[:8]}"
    provisioned = await provision_tenant(
        get_database().engine, ProvisionRequest(slug=slug, name="Demo", admin_email=f"a@{slug}.example")
    )
    async with in_tenant(slug) as (s, _):
        east = await create_team(s, name="East sales", manager_id=None)
        desk = await create_team(s, name="Service desk", manager_id=None)
        await s.flush()
        users = {}
        for key, role, team in (
            ("rep", "sales_rep", east.id),
            ("manager", "sales_manager", east.id),
            ("marketer", "marketer", None),
            ("agent", "service_agent", desk.id),
            ("customer", "customer", None),
        ):
            user = await create_user(
                s,
                email=f"{key}@{slug}.example",
                full_name=f"{key.title()} Person",
                password=PASSWORD,
                role_keys=[role],
                team_id=team,
            )
            await s.flush()
            users[key] = user.id
        east.manager_id = users["manager"]
        desk.manager_id = users["agent"]
    return Cast(slug=slug, admin=provisioned.admin_user_id, east=east.id, **users)


_SEEDED: dict[str, object] = {}


async def seeded_world_tenant(slug: str = "demoview") -> object:
    """A tenant of the test world's shape (personas ada, alice, sam, ... and their teams) filled
    once per test run by the whole CRM demo seeder: pages show what they show on a live tenant,
    every card and chart with data. Shared by the tests that only read it."""
    if slug not in _SEEDED:
        from app.crm.interface import seed_demo
        from tests.crm.factories.pipeline import private_tenant

        tenant = await private_tenant(slug)
        async with in_tenant(tenant.slug) as (s, _):
            await seed_demo(s)
        _SEEDED[slug] = tenant
    return _SEEDED[slug]
