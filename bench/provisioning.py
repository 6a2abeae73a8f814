"""Benchmark: provisioning a tenant with the full tenant schema (target p50 < 300 ms, p95 < 1 s).

    .venv/bin/python bench/provisioning.py [-n 50] [--keep]

What is timed: ``tenants.provisioning.provision_tenant`` — registry row, CREATE SCHEMA, the whole
tenant DDL, built-in roles and the first administrator, in one transaction — as the sign-up and
`tessera tenants create` call it. Figures are its own ``elapsed_ms`` (and the wall time of the
call around it, which adds request validation).

* cold: the first provisioning in a fresh process (renders the tenant Alembic track offline
  once, opens the first pooled connection) — reported on its own and not counted below;
* series A: ``n`` provisions with an administrator password (argon2id RFC 9106 low-memory hash,
  what a real sign-up does) — the target figure;
* series B: ``n`` provisions without a password (a set-password link instead), which isolates the
  database part from the password hash.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from _common import header, migrate_shared, out, scratch_database, summary_ms

PASSWORD = "bench-password-0123456789"  # a throw-away tenant's admin


async def _series(n: int, with_password: bool, tag: str) -> tuple[list[float], list[float], int]:
    from app.kernel.db import get_database
    from tenants.provisioning import ProvisionRequest, provision_tenant

    elapsed: list[float] = []
    wall: list[float] = []
    tables = 0
    engine = get_database().engine
    for i in range(n):
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
    return elapsed, wall, tables


async def _run(n: int) -> None:
    from app.kernel.db import close_database
    from app.kernel.redis import close_redis
    from tenants import migrations

    try:
        cold_elapsed, cold_wall, tables = await _series(1, True, "cold")
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
        a, a_wall, tables = await _series(n, True, "a")
        out(f"A with admin password (argon2id):  {summary_ms(a)}  [wall {summary_ms(a_wall)}]")
        b, b_wall, tables_b = await _series(n, False, "b")
        out(f"B without password (link instead): {summary_ms(b)}  [wall {summary_ms(b_wall)}]")
        out(f"tables created per tenant: {tables} (A) / {tables_b} (B)")
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
