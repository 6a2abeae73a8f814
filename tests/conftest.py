"""The shared test world: real PostgreSQL and Redis, two tenants, named personas.

* Servers: DATABASE_URL / REDIS_URL when set (CI: the machine's services), otherwise embedded
  PostgreSQL/Redis started under ``var/test`` (a fresh machine with only Python).
* Database: a fresh ``tessera_test[_gwN]`` database per run, migrated with the real migrations.
* Tenants: ``acme`` and ``globex``, each with personas — ``ada`` (tenant admin), ``alice``
  (sales rep, team East), ``sam`` (sales manager of East), ``bob`` (accountant), ``nora`` (no
  roles), ``carol`` (customer), ``dave`` (sales rep, team West), ``mia`` (marketer), ``sue`` and
  ``tom`` (service agents, team Support).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.world import BASE_DOMAIN, PASSWORD, PERSONAS, TenantWorld

ROOT = Path(__file__).resolve().parent.parent
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
# Several runs may share one PostgreSQL (developers, CI, helpers): each run gets its own database.
DB_NAME = os.environ.get("TESSERA_TEST_DB") or f"tessera_test_{os.getpid()}"

os.environ.update(
    TESSERA_ENV="test",
    TESSERA_FAST_PASSWORD_HASHING="1",
    SECRET_KEY="test-secret-key-not-for-production-0123456789",
    BASE_DOMAIN=BASE_DOMAIN,
    PUBLIC_PORT="80",
    LOG_JSON="0",
    LOG_LEVEL="WARNING",
    TESSERA_DATA_DIR=str(ROOT / "var" / "test"),
    MIGRATE_PARALLELISM="2",
    DB_POOL_SIZE="5",
)


def _with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    head = base.rsplit("/", 1)[0]
    return f"{head}/{name}" + (f"?{query}" if query else "")


def _prepare_servers() -> None:
    """Point DATABASE_URL at a brand-new test database and REDIS_URL at a test Redis db."""
    from app.embedded import start_postgres, start_redis
    from app.settings import reset_settings

    data_dir = Path(os.environ["TESSERA_DATA_DIR"])
    admin_url = os.environ.get("DATABASE_URL") or start_postgres(data_dir, "postgres")
    redis_url = os.environ.get("REDIS_URL") or start_redis(data_dir)

    async def recreate() -> None:
        import asyncpg

        dsn = _with_database(admin_url, "postgres").replace("postgresql+asyncpg://", "postgresql://")
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{DB_NAME}"')
        finally:
            await conn.close()

    asyncio.run(recreate())
    os.environ["DATABASE_URL"] = _with_database(admin_url, DB_NAME)
    db_index = int(os.environ.get("TESSERA_TEST_REDIS_DB", "9"))
    os.environ["REDIS_URL"] = re.sub(r"/\d*$", "", redis_url.rstrip("/")) + f"/{db_index}"
    os.environ["TESSERA_TEST_ADMIN_URL"] = admin_url
    os.environ["DRAMATIQ_NAMESPACE"] = f"tessera-test-{DB_NAME}"
    reset_settings()


_prepare_servers()


async def _build_tenant(slug: str) -> TenantWorld:
    from sqlalchemy import select, update

    from app.kernel.db import get_database
    from app.security.models import Team, User
    from app.security.services.teams import create_team
    from app.security.services.users import create_user
    from tenants.provisioning import ProvisionRequest, provision_tenant
    from tenants.service import in_tenant

    result = await provision_tenant(
        get_database().engine,
        ProvisionRequest(
            slug=slug,
            name=f"{slug.title()} Ltd",
            admin_email=f"ada@{slug}.example",
            admin_password=PASSWORD,
            admin_name="Ada Admin",
        ),
    )
    users = {"ada": result.admin_user_id}
    teams: dict[str, Team] = {}
    async with in_tenant(slug) as (session, _ref):
        for name in dict.fromkeys(p.team for p in PERSONAS if p.team):
            teams[name] = await create_team(session, name=name, manager_id=None)
        for p in PERSONAS[1:]:
            u = await create_user(
                session,
                email=p.email.format(slug=slug),
                full_name=p.name,
                password=PASSWORD,
                role_keys=list(p.roles),
                team_id=teams[p.team].id if p.team else None,
            )
            users[p.key] = u.id
        await session.flush()
        east = teams["East"].id
        await session.execute(update(Team).where(Team.id == east).values(manager_id=users["sam"]))
        assert (await session.execute(select(User).where(User.id == users["alice"]))).scalar_one()
    return TenantWorld(
        slug=slug,
        id=result.tenant_id,
        schema=result.schema,
        users=users,
        teams={name: team.id for name, team in teams.items()},
    )


@pytest.fixture(scope="session")
async def world() -> AsyncIterator[dict[str, TenantWorld]]:
    """Migrated database with tenants acme and globex and their personas."""
    from app.kernel.db import close_database
    from app.kernel.redis import close_redis, get_redis
    from tenants.migrations import migrate_all

    report = await asyncio.to_thread(migrate_all)
    assert report.ok, report.failed
    await get_redis().flushdb()
    tenants = {slug: await _build_tenant(slug) for slug in ("acme", "globex")}
    yield tenants
    await close_database()
    await close_redis()
    await _drop_test_database()


async def _drop_test_database() -> None:
    import asyncpg

    dsn = _with_database(os.environ["TESSERA_TEST_ADMIN_URL"], "postgres").replace(
        "postgresql+asyncpg://", "postgresql://"
    )
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def acme(world: dict[str, TenantWorld]) -> TenantWorld:
    return world["acme"]


@pytest.fixture(scope="session")
async def globex(world: dict[str, TenantWorld]) -> TenantWorld:
    return world["globex"]


@pytest.fixture(scope="session")
async def app(world: dict[str, TenantWorld]):  # type: ignore[no-untyped-def]
    from app.main import create_app

    return create_app()


@pytest.fixture(autouse=True)
async def _clean_throttle(world: dict[str, TenantWorld]) -> None:
    """Failed-login counters are per test: one test's lock-out never leaks into another."""
    from app.kernel.redis import get_redis

    r = get_redis()
    keys = [k async for k in r.scan_iter(match="tessera:fail:*")]
    if keys:
        await r.delete(*keys)
