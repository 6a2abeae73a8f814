"""Benchmark: provisioning a tenant with the full tenant schema (target p50 < 300 ms, p95 < 1 s).

    .venv/bin/python bench/provisioning.py [-n 50] [--keep]

What is timed: ``tenants.provisioning.provision_tenant`` — registry row, the full tenant schema,
built-in roles and the first administrator, in one transaction — as the sign-up and
`tessera tenants create` call it. Figures are its own ``elapsed_ms`` (and the wall time of the
call around it, which adds request validation).

The schema comes from the pool of ready spare schemas when one is there (tenants/spares.py: the
platform job keeps ``SPARE_SCHEMAS`` of them), else the tenant DDL is run on the spot:

* cold: the first provisioning in a fresh process (renders the tenant Alembic track offline
  once, opens the first pooled connection), pool empty — reported on its own;
* series A: ``n`` provisions with an administrator password (argon2id RFC 9106 low-memory hash,
  what a real sign-up does) with a spare ready — the target figure. Before each one, untimed,
  the pool is refilled to one spare, as the job does in the background between sign-ups;
* series B: the same with the pool empty — the fallback when sign-ups outrun the job;
* series C: a spare ready, no password (a set-password link instead): the database part alone.

It also times the background job's own work: building one spare schema.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from _common import header, migrate_shared, out, scratch_database, summary_ms

PASSWORD = "bench-password-0123456789"  # a throw-away tenant's admin


async def _series(
    n: int, with_password: bool, tag: str, *, spare: bool
) -> tuple[list[float], list[float], int, list[float]]:
    from app.kernel.db import get_database
    from tenants import spares
    from tenants.provisioning import ProvisionRequest, provision_tenant

    elapsed: list[float] = []
    wall: list[float] = []
    refills: list[float] = []
    tables = 0
    engine = get_database().engine
    for i in range(n):
        if spare:  # the platform job's work, between sign-ups: not part of a sign-up
            started = time.perf_counter()
            await spares.refill(engine, target=1)
            refills.append((time.perf_counter() - started) * 1000)
        slug = f"b{tag}{i}-{uuid.uuid4().hex[:6]}"
        req = ProvisionRequest(
            slug=slug,
            name=f"Bench {tag} {i}",
            admin_email=f"admin@{slug}.example",
            admin_password=PASSWORD if with_password else None,
        )
        started = time.perf_counter()
        result = await provision_tenant(engine, req)
        wall.append((time.perf_counter() - started) * 1000)
        elapsed.append(result.elapsed_ms)
        tables = result.tables
        if result.used_spare != spare:
            raise SystemExit(f"series {tag}: expected used_spare={spare}, got {result.used_spare}")
    return elapsed, wall, tables, refills


async def _run(n: int) -> None:
    from app.kernel.db import close_database
    from app.kernel.redis import close_redis
    from tenants import migrations

    try:
        cold_elapsed, cold_wall, tables, _ = await _series(1, True, "cold", spare=False)
        out(
            f"cold first provisioning (fresh process, renders the DDL, first connection): "
            f"{cold_elapsed[0]:.1f} ms (wall {cold_wall[0]:.1f} ms), {tables} tables"
        )
        migrations.tenant_ddl_script.cache_clear()
        started = time.perf_counter()
        script = migrations.tenant_ddl_script()
        out(
            f"  of which rendering the tenant track offline: {(time.perf_counter() - started) * 1000:.1f} ms "
            f"({len(script):,} characters of SQL, once per process)"
        )
        a, a_wall, tables, refills = await _series(n, True, "a", spare=True)
        out(f"A password, spare schema ready:   {summary_ms(a)}  [wall {summary_ms(a_wall)}]")
        b, b_wall, tables_b, _ = await _series(n, True, "b", spare=False)
        out(f"B password, pool empty (builds):  {summary_ms(b)}  [wall {summary_ms(b_wall)}]")
        c, c_wall, tables_c, _ = await _series(n, False, "c", spare=True)
        out(f"C no password, spare ready:       {summary_ms(c)}  [wall {summary_ms(c_wall)}]")
        out(f"background job, building one spare schema: {summary_ms(refills)}")
        out(f"tables per tenant: {tables} (A) / {tables_b} (B) / {tables_c} (C)")
        from app.security.passwords import hash_password

        started = time.perf_counter()
        for _ in range(10):
            hash_password(PASSWORD)
        out(f"one argon2id hash (RFC 9106 low-memory) alone: {(time.perf_counter() - started) * 100:.1f} ms")
    finally:
        await close_database()
        await close_redis()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50, help="provisions per series (default 50)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    header("tenant provisioning")
    with scratch_database("provisioning", keep=args.keep) as url:
        out(f"shared schema migrated in {migrate_shared(url):.2f} s")
        asyncio.run(_run(args.n))


if __name__ == "__main__":
    main()
