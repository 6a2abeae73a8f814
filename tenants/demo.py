"""The demo tenant ``acme`` (README quick start): one user per built-in role, a couple of teams.

Idempotent: running it again adds what is missing and changes nothing else. Contexts add their
own demo data through ``DEMO_SEEDERS`` (each seeder must be idempotent too).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.interface import seed_demo as seed_crm_demo
from app.finance.interface import seed_demo as seed_finance_demo
from app.kernel.context import Actor
from app.kernel.db import get_database
from app.kernel.errors import Conflict
from app.security.models import Team, User
from app.security.services.teams import create_team
from app.security.services.users import create_user
from tenants.models import Operator
from tenants.operators import create_operator
from tenants.provisioning import ProvisionRequest, provision_tenant
from tenants.service import in_tenant

DEMO_SLUG = "acme"
DEMO_PASSWORD = "tessera-demo-2026"  # noqa: S105 — published demo credentials
DEMO_OPERATOR = "ops@tessera.example"

# (role key, e-mail, full name, team)
DEMO_USERS: list[tuple[str, str, str, str | None]] = [
    ("tenant_admin", "admin@acme.example", "Ada Wang 王雅", None),
    ("sales_rep", "alice@acme.example", "Alice Chen 陈丽", "East sales"),
    ("sales_manager", "sam@acme.example", "Sam Zhou 周山", "East sales"),
    ("marketer", "maya@acme.example", "Maya Lin 林玛", None),
    ("service_agent", "sid@acme.example", "Sid Huang 黄思", "Service desk"),
    ("accountant", "bob@acme.example", "Bob Li 李博", None),
    ("buyer", "bea@acme.example", "Bea Xu 徐蓓", None),
    ("warehouse_clerk", "wes@acme.example", "Wes Ma 马文", None),
    ("production_planner", "paul@acme.example", "Paul Guo 郭鹏", None),
    ("hr_manager", "hana@acme.example", "Hana Sun 孙涵", None),
    ("recruiter", "rita@acme.example", "Rita He 何瑞", None),
    ("employee", "eve@acme.example", "Eve Zhao 赵怡", None),
    ("clinician", "dr.lin@acme.example", "Dr. Lin Wei 林伟", "Cardiology"),
    ("nurse", "nina@acme.example", "Nina Yang 杨宁", "Cardiology"),
    ("pharmacist", "phil@acme.example", "Phil Wu 吴飞", None),
    ("cashier", "cara@acme.example", "Cara Tang 唐佳", None),
    ("hospital_admin", "hugo@acme.example", "Hugo Feng 冯浩", None),
    ("customer", "carol@customer.example", "Carol Customer", None),
]
TEAM_MANAGERS = {
    "East sales": "sam@acme.example",
    "Service desk": "sid@acme.example",
    "Cardiology": "dr.lin@acme.example",
}

DemoSeeder = Callable[[AsyncSession], Awaitable[None]]
DEMO_SEEDERS: list[DemoSeeder] = [seed_crm_demo, seed_finance_demo]  # finance books CRM's orders


async def _ensure_tenant() -> None:
    with contextlib.suppress(Conflict):  # already there
        await provision_tenant(
            get_database().engine,
            ProvisionRequest(
                slug=DEMO_SLUG,
                name="Acme Manufacturing & Health 艾克美",
                admin_email=DEMO_USERS[0][1],
                admin_password=DEMO_PASSWORD,
                admin_name=DEMO_USERS[0][2],
                locale="en",
                timezone="Asia/Shanghai",
                currency="CNY",
                edition="enterprise",
                chart="cas",  # a company in Shanghai keeps its books on 企业会计准则
            ),
        )


async def ensure_demo() -> list[tuple[str, str]]:
    await _ensure_tenant()
    async with get_database().shared_session() as s:
        has_operator = await s.scalar(select(Operator.id).where(Operator.email == DEMO_OPERATOR))
    if not has_operator:
        await create_operator(email=DEMO_OPERATOR, full_name="Tessera Operations", password=DEMO_PASSWORD)
    async with in_tenant(DEMO_SLUG, Actor.system("demo")) as (session, _ref):
        teams = {t.name: t for t in (await session.execute(select(Team))).scalars()}
        for name in TEAM_MANAGERS:
            if name not in teams:
                teams[name] = await create_team(session, name=name, manager_id=None)
        existing = set((await session.execute(select(func.lower(User.email)))).scalars())
        users: dict[str, User] = {}
        for role, email, name, team in DEMO_USERS:
            if email not in existing:
                users[email] = await create_user(
                    session,
                    email=email,
                    full_name=name,
                    password=DEMO_PASSWORD,
                    role_keys=[role],
                    team_id=teams[team].id if team else None,
                )
        await session.flush()
        for team_name, manager_email in TEAM_MANAGERS.items():
            managed = teams[team_name]
            if managed.manager_id is None:
                manager = (
                    await session.execute(select(User).where(User.email == manager_email))
                ).scalar_one()
                managed.manager_id = manager.id
        for seed in DEMO_SEEDERS:
            await seed(session)
    return [(role, email) for role, email, _n, _t in DEMO_USERS]
