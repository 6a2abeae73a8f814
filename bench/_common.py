"""Shared plumbing of the platform benchmarks: environment, scratch database, statistics, output.

Every benchmark run owns a scratch database: DATABASE_URL's name (default ``tessera_bench``; it
must contain ``bench``, so a benchmark can never drop a real database) plus the benchmark and
the process id. It also owns the ``tessera:*`` keys of one Redis db (REDIS_URL, default db 15).
It creates both at start and removes both at the end (``--keep`` leaves the database).

Import this module before anything from ``app``/``tenants``: it fills in the environment the
settings are read from.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/tessera_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
BENCH_ENV = {
    "TESSERA_ENV": "production",
    "SECRET_KEY": "bench-secret-key-not-for-production-0123456789abcdef",
    "BASE_DOMAIN": "localhost",
    "PUBLIC_PORT": "80",
    "LOG_LEVEL": "WARNING",
    "LOG_JSON": "1",
    "DB_POOL_SIZE": "10",
    "DB_MAX_OVERFLOW": "10",
}


def out(*parts: object) -> None:
    """Print a line of the report (the benchmarks' output *is* the result) and flush it."""
    sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
    sys.stdout.flush()


def configure_env(db_suffix: str = "") -> tuple[str, str]:
    """Fill in the settings' environment for a benchmark; returns (database url, admin url).

    ``db_suffix`` gives each benchmark run its own database (``tessera_bench_migrate_<pid>``...)
    so two runs can never trample each other.
    """
    for k, v in BENCH_ENV.items():
        os.environ.setdefault(k, v)
    base = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    head, _, query = base.partition("?")
    prefix, name = head.rsplit("/", 1)
    if "bench" not in name and os.environ.get("BENCH_ALLOW_ANY_DB") != "1":
        sys.exit(f"refusing to use database {name!r}: a benchmark drops its database; use a *bench* name")
    # Each run gets its own database: two people running the same benchmark on one server must
    # not drop each other's data half-way.
    name = f"{name}_{db_suffix}_{os.getpid()}" if db_suffix else name
    url = f"{prefix}/{name}" + (f"?{query}" if query else "")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    os.environ.setdefault("TESSERA_DATA_DIR", str(ROOT / "var" / "bench"))
    admin = f"{prefix}/postgres" + (f"?{query}" if query else "")
    return url, admin


def dsn(url: str) -> str:
    return re.sub(r"^postgres(ql)?(\+asyncpg)?://", "postgresql://", url)


def db_name(url: str) -> str:
    return url.partition("?")[0].rsplit("/", 1)[1]


async def recreate_database(url: str, admin_url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn(admin_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{db_name(url)}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{db_name(url)}"')
    finally:
        await conn.close()


async def drop_database(url: str, admin_url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn(admin_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{db_name(url)}" WITH (FORCE)')
    finally:
        await conn.close()


async def clear_redis() -> None:
    """Remove the keys Tessera writes (all under ``tessera:``) from the benchmark's Redis db."""
    import redis.asyncio as aioredis

    r = aioredis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        batch = [k async for k in r.scan_iter(match="tessera:*", count=1000)]
        for i in range(0, len(batch), 1000):
            await r.delete(*batch[i : i + 1000])
    finally:
        await r.aclose()


@contextlib.contextmanager
def scratch_database(db_suffix: str, *, keep: bool = False) -> Iterator[str]:
    """A fresh, empty database for the benchmark (and a clean Redis namespace); gone afterwards."""
    url, admin = configure_env(db_suffix)
    from app.settings import reset_settings

    reset_settings()  # settings read before this point did not see the scratch database
    asyncio.run(recreate_database(url, admin))
    asyncio.run(clear_redis())
    try:
        yield url
    finally:
        asyncio.run(clear_redis())
        if keep:
            out(f"(kept database {db_name(url)})")
        else:
            asyncio.run(drop_database(url, admin))


def migrate_shared(url: str) -> float:
    """Shared schema to head (no tenants yet); returns seconds."""
    from tenants.migrations import migrate_all

    started = time.perf_counter()
    report = migrate_all(url, include_shared=True)
    if not report.ok:
        raise RuntimeError(f"migration failed: {report.failed}")
    return time.perf_counter() - started


async def create_tenants(
    count: int, concurrency: int = 4, prefix: str = "t", chart: str | None = None
) -> list[Any]:
    """``count`` tenants without an administrator password (no argon2 hash each), ``concurrency``
    at a time; returns the ``Provisioned`` results in slug order. ``chart``: the books' chart of
    accounts ("cas" / "ifrs"; default: by locale)."""
    from app.kernel.db import get_database
    from tenants.provisioning import ProvisionRequest, provision_tenant

    slugs = [f"{prefix}{i:05d}" if count > 1 else prefix for i in range(count)]
    sem = asyncio.Semaphore(concurrency)
    engine = get_database().engine

    async def one(slug: str) -> Any:
        async with sem:
            req = ProvisionRequest(
                slug=slug, name=f"Tenant {slug}", admin_email=f"admin@{slug}.example", chart=chart
            )
            return await provision_tenant(engine, req)

    return list(await asyncio.gather(*(one(s) for s in slugs)))


# --- statistics ---------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) — no interpolation, the value some run really had."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def summary_ms(values: Sequence[float]) -> str:
    return (
        f"n={len(values)} p50={percentile(values, 50):.1f} ms p95={percentile(values, 95):.1f} ms "
        f"max={max(values):.1f} ms mean={statistics.fmean(values):.1f} ms"
    )


# --- machine ------------------------------------------------------------------------------


def machine_report() -> list[str]:
    """What the figures were measured on (printed at the top of every benchmark)."""
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    pg = "?"
    with contextlib.suppress(Exception):
        pg = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "show server_version"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"machine: {os.cpu_count()} CPU ({cpu}), {mem} RAM, {platform.system()} {platform.release()}",
        f"python {platform.python_version()}, PostgreSQL {pg}, load average {load}",
    ]


def header(title: str) -> None:
    out(f"== {title} ==")
    for line in machine_report():
        out(line)
