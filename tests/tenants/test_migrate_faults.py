"""Migrate-all under faults (PLAT-2): one tenant failing never stops the others, the failure is
reported, recorded and makes the command exit non-zero; a re-run picks up exactly that tenant;
``lock_timeout`` makes a blocked tenant fail fast instead of stalling the rollout."""

from __future__ import annotations

import asyncio
import time

from click.testing import CliRunner

from app.kernel.db import get_database
from tenants.migrations import MigrateReport, migrate_all
from tests.tenants.support import PENDING_REVISION, column_exists, rows, value


async def migrate(*slugs: str, lock_timeout: str = "5s") -> MigrateReport:
    """Only this test's tenants: the shared world's tenants must stay on the default track."""
    return await asyncio.to_thread(
        migrate_all, slugs=list(slugs), parallelism=1, lock_timeout=lock_timeout, include_shared=False
    )


async def set_schema_version(schema: str, revision: str) -> None:
    async with get_database().engine.begin() as conn:
        await conn.exec_driver_sql(f"UPDATE \"{schema}\".alembic_version SET version_num = '{revision}'")


def outcome(report: MigrateReport) -> list[tuple[str, bool, str | None, str | None]]:
    return [(r.slug, r.ok, r.from_revision, r.to_revision) for r in report.results]


async def test_one_failing_tenant_is_reported_and_the_others_still_migrate(make_tenant, pending_migration):
    a, b, c = [await make_tenant(p) for p in ("mig-a", "mig-b", "mig-c")]
    base = pending_migration()
    await set_schema_version(c.schema, "tbogus")

    report = await migrate(a.slug, b.slug, c.slug)

    assert report.ok is False
    assert report.tenant_head == PENDING_REVISION
    assert outcome(report) == [
        (a.slug, True, base, PENDING_REVISION),
        (b.slug, True, base, PENDING_REVISION),
        (c.slug, False, base, None),
    ]
    error = report.failed[0].error
    assert error == "CommandError: Can't locate revision identified by 'tbogus'"
    assert await column_exists(a.schema, "teams", "pending_note")
    assert not await column_exists(c.schema, "teams", "pending_note")
    registry = (
        "SELECT slug, schema_revision, migration_error FROM public.tenants "
        "WHERE id IN (:a, :b, :c) ORDER BY id"
    )
    assert await rows(registry, a=a.id, b=b.id, c=c.id) == [
        (a.slug, PENDING_REVISION, None),
        (b.slug, PENDING_REVISION, None),
        (c.slug, base, error),
    ]
    log = (
        "SELECT tenant_id, from_revision, to_revision, ok, error "
        "FROM public.tenant_migration_log WHERE run_id = :r"
    )
    assert await rows(log + " ORDER BY tenant_id", r=report.run_id) == [
        (a.id, base, PENDING_REVISION, True, None),
        (b.id, base, PENDING_REVISION, True, None),
        (c.id, base, None, False, error),
    ]

    # `tessera migrate` says so and exits non-zero (CI and deploy scripts stop on it)
    from app.cli import migrate_command

    cli = await asyncio.to_thread(
        CliRunner().invoke, migrate_command, ["--tenant", c.slug, "--parallel", "1"]
    )
    assert cli.exit_code == 1
    assert f"FAIL {c.slug}" in cli.output
    assert "1 tenant(s) migrated, 1 failed" in cli.output

    # fixed by hand: the re-run migrates exactly the tenant still behind
    await set_schema_version(c.schema, base)
    again = await migrate(a.slug, b.slug, c.slug)
    assert again.ok is True
    assert outcome(again) == [(c.slug, True, base, PENDING_REVISION)]
    assert await rows(registry, a=a.id, b=b.id, c=c.id) == [
        (a.slug, PENDING_REVISION, None),
        (b.slug, PENDING_REVISION, None),
        (c.slug, PENDING_REVISION, None),
    ]
    assert await column_exists(c.schema, "teams", "pending_note")
    assert (await migrate(a.slug, b.slug, c.slug)).results == []  # nothing left to do


async def test_a_locked_tenant_fails_fast_on_lock_timeout_and_the_others_succeed(
    make_tenant, pending_migration
):
    busy, calm = await make_tenant("busy"), await make_tenant("calm")
    base = pending_migration()
    async with get_database().engine.connect() as blocker:
        await blocker.begin()  # a long report holding a share lock on the table the migration alters
        await blocker.exec_driver_sql(f'LOCK TABLE "{busy.schema}".teams IN ACCESS SHARE MODE')
        started = time.monotonic()
        report = await migrate(busy.slug, calm.slug, lock_timeout="200ms")
        elapsed = time.monotonic() - started
        await blocker.rollback()

    assert elapsed < 5
    assert outcome(report) == [(busy.slug, False, base, None), (calm.slug, True, base, PENDING_REVISION)]
    assert report.failed[0].error.startswith(
        "DBAPIError: (sqlalchemy.dialects.postgresql.asyncpg.Error) canceling statement due to lock timeout\n"
        "[SQL: ALTER TABLE teams ADD COLUMN pending_note TEXT]"
    )
    assert (
        await value("SELECT migration_error FROM public.tenants WHERE id = :i", i=busy.id)
        == report.failed[0].error
    )
    assert not await column_exists(busy.schema, "teams", "pending_note")

    retry = await migrate(busy.slug, calm.slug, lock_timeout="200ms")  # the lock is gone
    assert outcome(retry) == [(busy.slug, True, base, PENDING_REVISION)]


async def test_a_tenant_slug_that_does_not_exist_is_an_error_not_nothing_to_do(world):
    from app.cli import migrate_command

    cli = await asyncio.to_thread(CliRunner().invoke, migrate_command, ["--tenant", "no-such-tenant-x"])
    assert cli.exit_code == 1
    assert "no such live tenant: no-such-tenant-x" in cli.output
