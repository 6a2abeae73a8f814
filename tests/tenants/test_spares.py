"""Spare schemas (tenants/spares.py): sign-up renames a ready schema instead of building one; the
tenant it becomes is complete and works, functions follow the rename, a failed sign-up leaves the
spare for the next one, two sign-ups never share a spare, and stale spares are dropped."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from app.kernel.db import get_database
from tenants import provisioning, spares
from tenants.provisioning import ProvisionRequest, provision_tenant
from tests.tenants.support import discard_tenant, registry_row, rows, schema_exists, schema_of, unique_slug
from tests.world import PASSWORD


def request(slug: str) -> ProvisionRequest:
    return ProvisionRequest(
        slug=slug, name="Spare Co", admin_email="ada@spare.example", admin_password=PASSWORD
    )


async def spare_names() -> list[str]:
    return [r[0] for r in await rows("SELECT schema_name FROM public.spare_schemas ORDER BY created_at")]


async def tables_in(schema: str) -> list[str]:
    return [
        r[0] for r in await rows("SELECT tablename FROM pg_tables WHERE schemaname = :s ORDER BY 1", s=schema)
    ]


@pytest.fixture
async def pool(world) -> AsyncIterator[None]:
    """An empty pool before and after each test (other suites rely on provisioning building)."""
    await _empty_pool()
    yield
    await _empty_pool()


async def _empty_pool() -> None:
    async with get_database().engine.begin() as conn:
        for (name,) in (await conn.execute(text("SELECT schema_name FROM public.spare_schemas"))).all():
            await conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        await conn.execute(text("DELETE FROM public.spare_schemas"))


async def test_refill_keeps_the_pool_at_its_size_with_complete_schemas(pool):
    engine = get_database().engine
    assert await spares.refill(engine, target=2) == 2
    assert await spares.refill(engine, target=2) == 0  # already full: nothing more
    names = await spare_names()
    assert len(names) == 2
    assert all(n.startswith("tenant__spare_") for n in names)
    built = await tables_in(names[0])
    assert {"crm_accounts", "users", "alembic_version"} <= set(built)
    version = await rows(f'SELECT version_num FROM "{names[0]}".alembic_version')
    assert version == [(provisioning.head("tenant"),)]


async def test_sign_up_renames_a_spare_and_the_tenant_works(pool, app):
    from tests.helpers import browser, login

    engine = get_database().engine
    await spares.refill(engine, target=1)
    [spare] = await spare_names()
    full_schema = await tables_in(spare)
    slug = unique_slug("spare")
    try:
        done = await provision_tenant(engine, request(slug))
        assert done.used_spare is True
        assert await spare_names() == []
        assert not await schema_exists(spare)
        assert await tables_in(schema_of(slug)) == full_schema
        assert done.tables == len(full_schema)
        assert await registry_row(slug) == (done.tenant_id, "active", provisioning.head("tenant"))
        # The seeded roles, the pipeline defaults and the administrator are in the renamed schema.
        assert await rows(f'SELECT count(*) FROM "{schema_of(slug)}".crm_pipeline_stages') == [(7,)]
        async with browser(app, f"{slug}.tessera.test") as b:
            await login(b, "ada@spare.example")
            assert (await b.get("/admin/users")).status_code == 200
    finally:
        await discard_tenant(slug)


async def test_functions_created_from_the_search_path_follow_the_rename(pool):
    """Tenant migrations create functions with SET search_path FROM CURRENT (docs/architecture.md):
    the setting holds the schema *name*, so the claim re-points it."""
    engine = get_database().engine
    await spares.refill(engine, target=1)
    [spare] = await spare_names()
    async with engine.begin() as conn:
        await conn.exec_driver_sql(f'SET LOCAL search_path TO "{spare}"')
        await conn.exec_driver_sql(
            "CREATE FUNCTION stage_count() RETURNS bigint LANGUAGE sql SET search_path FROM CURRENT "
            "AS 'SELECT count(*) FROM crm_pipeline_stages'"
        )
    slug = unique_slug("fn")
    try:
        await provision_tenant(engine, request(slug))
        schema = schema_of(slug)
        config = await rows(
            "SELECT p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = :s AND p.proname = 'stage_count'",
            s=schema,
        )
        assert config == [([f"search_path={schema}"],)]
        assert await rows(f'SELECT "{schema}".stage_count()') == [(7,)]
    finally:
        await discard_tenant(slug)


async def test_a_failed_sign_up_leaves_the_spare_for_the_next_one(pool, monkeypatch):
    engine = get_database().engine
    await spares.refill(engine, target=1)
    [spare] = await spare_names()

    async def fail(session, **kw):
        raise RuntimeError("mail server on fire")

    monkeypatch.setattr(provisioning, "seed_tenant_security", fail)
    slug = unique_slug("fail")
    with pytest.raises(RuntimeError, match="on fire"):
        await provision_tenant(engine, request(slug))
    assert await spare_names() == [spare]
    assert await schema_exists(spare)
    assert not await schema_exists(schema_of(slug))
    assert await registry_row(slug) is None


async def test_concurrent_sign_ups_never_share_a_spare(pool):
    engine = get_database().engine
    await spares.refill(engine, target=1)
    slugs = [unique_slug("race"), unique_slug("race")]
    try:
        results = await asyncio.gather(*(provision_tenant(engine, request(s)) for s in slugs))
        assert sorted(r.used_spare for r in results) == [False, True]  # one renamed, one built
        for slug in slugs:
            assert "crm_accounts" in await tables_in(schema_of(slug))
        assert await spare_names() == []
    finally:
        for slug in slugs:
            await discard_tenant(slug)


async def test_an_empty_pool_falls_back_to_building_the_schema(pool):
    slug = unique_slug("build")
    try:
        done = await provision_tenant(get_database().engine, request(slug))
        assert done.used_spare is False
        assert "crm_accounts" in await tables_in(schema_of(slug))
    finally:
        await discard_tenant(slug)


async def test_spares_of_an_older_release_are_dropped_and_replaced(pool):
    engine = get_database().engine
    await spares.refill(engine, target=2)
    old, current = await spare_names()
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE public.spare_schemas SET revision = 't0001' WHERE schema_name = :s"), {"s": old}
        )
    assert await spares.drop_stale_spares(engine) == 1
    assert await spare_names() == [current]
    assert not await schema_exists(old)
    assert await spares.refill(engine, target=2) == 1


async def test_a_claimed_spare_is_replaced_by_the_event_it_publishes(pool, monkeypatch):
    """Sign-up publishes tenants.spare_claimed in its transaction; the worker's reaction builds the
    replacement at once, so the next sign-up finds the pool full instead of waiting a minute."""
    from sqlalchemy import select

    from app.kernel.events import Event
    from app.kernel.outbox import OutboxEvent
    from app.settings import get_settings
    from workers.runtime import apply_event

    settings = dataclasses.replace(get_settings(), spare_schemas=1)
    monkeypatch.setattr(spares, "get_settings", lambda: settings)
    engine = get_database().engine
    await spares.refill(engine, target=1)
    slug = unique_slug("claim")
    try:
        done = await provision_tenant(engine, request(slug))
        assert done.used_spare is True
        assert await spare_names() == []
        async with get_database().shared_session() as s:
            row = (
                await s.execute(
                    select(OutboxEvent).where(
                        OutboxEvent.tenant_id == done.tenant_id, OutboxEvent.topic == spares.SPARE_CLAIMED
                    )
                )
            ).scalar_one()
        event = Event(row.event_id, row.topic, row.tenant_id, row.payload, row.created_at)
        assert await apply_event("tenants.spares.refill_after_a_claim", event) is True
        assert len(await spare_names()) == 1
        assert await apply_event("tenants.spares.refill_after_a_claim", event) is False  # once
    finally:
        await discard_tenant(slug)


async def test_one_refill_at_a_time(pool):
    """Two refills at once (the minute job and a claim reaction) build the pool once, not twice."""
    engine = get_database().engine
    built = await asyncio.gather(spares.refill(engine, target=2), spares.refill(engine, target=2))
    assert sorted(built) == [0, 2]
    assert len(await spare_names()) == 2
