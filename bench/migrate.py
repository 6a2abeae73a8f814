"""Benchmark: `tessera migrate` across 1,000 tenants (targets: nothing to do < 5 s; one additive
migration < 60 s).

    .venv/bin/python bench/migrate.py [--tenants 1000] [--runs 3] [--parallel N] [--keep]

Steps (all in one scratch database):

1. shared schema to head, then 1,000 tenants provisioned without an administrator password (no
   argon2 hash; a set-password link instead), ``--create-concurrency`` at a time — timed;
2. nothing to do: ``tessera migrate`` as a user runs it (a subprocess: interpreter start, imports,
   shared track check, the one "who is behind" query) — wall time — and ``migrate_all()`` called
   in this process; ``--runs`` times each;
3. one additive migration: a copy of migrations/tenant in a temporary directory plus one revision
   that adds a nullable column to ``teams`` and an index on it, selected with
   TESSERA_TENANT_SCRIPT_LOCATION (tenants/migrations.py). Timed as ``tessera migrate`` (subprocess)
   and as ``migrate_all()`` in this process; between two runs every tenant is put back to the old
   head with plain SQL (drop the column, rewind alembic_version and the registry).

Parallelism is the application's (MIGRATE_PARALLELISM, default 4 worker processes) unless
``--parallel`` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, create_tenants, dsn, header, migrate_shared, out, scratch_database

EXTRA_REVISION = "tbench1"
EXTRA_MIGRATION = '''"""bench: one additive migration (nullable column and an index)

Revision ID: {revision}
Revises: {down}
"""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("teams", sa.Column("bench_note", sa.Text(), nullable=True))
    op.create_index("ix_teams_bench_note", "teams", ["bench_note"])


def downgrade() -> None:
    op.drop_index("ix_teams_bench_note", table_name="teams")
    op.drop_column("teams", "bench_note")
'''


async def _create(count: int, concurrency: int) -> None:
    from app.kernel.db import close_database

    try:
        await create_tenants(count, concurrency, prefix="m")
    finally:
        await close_database()


def tessera_migrate(parallel: int | None) -> tuple[float, str]:
    """`tessera migrate` as a user runs it; returns (wall seconds, last line of its output)."""
    exe = str(Path(sys.executable).with_name("tessera"))
    argv = [exe, "migrate"] + (["--parallel", str(parallel)] if parallel else [])
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=os.environ.copy(), check=False, cwd=ROOT)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"tessera migrate failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr}")
    return wall, proc.stdout.strip().splitlines()[-1]


def in_process(url: str, parallel: int | None) -> tuple[float, int]:
    from tenants.migrations import migrate_all

    report = migrate_all(url, parallelism=parallel)
    if not report.ok:
        raise RuntimeError(f"{len(report.failed)} tenants failed: {report.failed[0].error}")
    return report.elapsed_s, len(report.results)


async def rewind(url: str, base: str) -> float:
    """Put every tenant back to ``base`` without Alembic: drop the column (and so its index)."""
    import asyncpg

    started = time.perf_counter()
    conn = await asyncpg.connect(dsn(url))
    try:
        schemas = [r[0] for r in await conn.fetch("SELECT schema_name FROM public.tenants ORDER BY id")]
        async with conn.transaction():
            for schema in schemas:
                await conn.execute(
                    f'ALTER TABLE "{schema}".teams DROP COLUMN IF EXISTS bench_note;'
                    f"UPDATE \"{schema}\".alembic_version SET version_num = '{base}'"
                )
            await conn.execute("UPDATE public.tenants SET schema_revision = $1", base)
    finally:
        await conn.close()
    return time.perf_counter() - started


def _clear_caches() -> None:
    from tenants import migrations

    migrations._script.cache_clear()
    migrations.tenant_ddl_script.cache_clear()


def _med(xs: list[float]) -> str:
    return f"median {statistics.median(xs):.2f} s (runs: {', '.join(f'{x:.2f}' for x in xs)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3, help="repetitions of each measurement")
    parser.add_argument("--parallel", type=int, default=None, help="worker processes (default: the app's)")
    parser.add_argument("--create-concurrency", type=int, default=4)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    header(f"tessera migrate across {args.tenants} tenants")
    with scratch_database("migrate", keep=args.keep) as url:
        from app.settings import get_settings
        from tenants.migrations import head

        par = args.parallel or get_settings().migrate_parallelism
        out(f"migrate parallelism: {par} worker processes")
        out(f"shared schema migrated in {migrate_shared(url):.2f} s")
        started = time.perf_counter()
        asyncio.run(_create(args.tenants, args.create_concurrency))
        took = time.perf_counter() - started
        out(
            f"created {args.tenants} tenants (no password hash, {args.create_concurrency} at a time) in "
            f"{took:.1f} s = {took / args.tenants * 1000:.1f} ms/tenant"
        )

        # -- nothing to do ------------------------------------------------------------------
        sub = [tessera_migrate(args.parallel) for _ in range(args.runs)]
        out(f"no-op `tessera migrate` (subprocess, wall): {_med([w for w, _ in sub])}")
        out(f"    its last line: {sub[-1][1]}")
        inproc = [in_process(url, args.parallel) for _ in range(args.runs)]
        out(f"no-op migrate_all() in-process:              {_med([e for e, _ in inproc])}")
        assert all(n == 0 for _, n in inproc)

        # -- one additive migration ---------------------------------------------------------
        base = head("tenant")
        with tempfile.TemporaryDirectory(prefix="tessera-bench-") as tmp:
            track = Path(tmp) / "tenant"
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(ROOT / "migrations" / "tenant", track, ignore=ignore)
            (track / "versions" / f"29991231_{EXTRA_REVISION}_bench_column.py").write_text(
                EXTRA_MIGRATION.format(revision=EXTRA_REVISION, down=base)
            )
            os.environ["TESSERA_TENANT_SCRIPT_LOCATION"] = str(track)
            _clear_caches()
            try:
                assert head("tenant") == EXTRA_REVISION
                sub_add: list[float] = []
                in_add: list[float] = []
                rewinds: list[float] = []
                for i in range(args.runs):
                    wall, last = tessera_migrate(args.parallel)
                    sub_add.append(wall)
                    out(f"  run {i + 1}: `tessera migrate` {wall:.2f} s — {last}")
                    rewinds.append(asyncio.run(rewind(url, base)))
                    elapsed, n = in_process(url, args.parallel)
                    in_add.append(elapsed)
                    out(f"  run {i + 1}: migrate_all() {elapsed:.2f} s, {n} tenants migrated")
                    if i < args.runs - 1:
                        rewinds.append(asyncio.run(rewind(url, base)))
                out(f"additive migration, `tessera migrate` (subprocess, wall): {_med(sub_add)}")
                out(f"additive migration, migrate_all() in-process:              {_med(in_add)}")
                per_tenant = statistics.fmean(in_add) / args.tenants * 1000
                out(
                    f"    ({per_tenant:.1f} ms per tenant at {par} processes; rewinding {args.tenants} "
                    f"tenants by SQL took {statistics.median(rewinds):.1f} s)"
                )
            finally:
                del os.environ["TESSERA_TENANT_SCRIPT_LOCATION"]
                _clear_caches()


if __name__ == "__main__":
    main()
