"""Benchmark: 1,000 tenants hit round-robin (targets: p95 <= 1.3x the single-tenant p95 at the same
load; the web process stays under 300 MB RSS).

    .venv/bin/python bench/many_tenants.py [--tenants 1000] [--connections 8] [--delays 40,20]
                  [--seconds 20] [--warmup 150] [--rounds 3] [--statement-cache N] [--keep]

Setup: 1,000 tenants (no admin password: no argon2 hash each), one OAuth2 client per tenant
(scope admin.users.read) and one client-credentials token each from the app's /oauth/token.

Load: ``GET /api/v1/users/{id}`` (the tenant's administrator) with the tenant's Host and its own
token. wrk (1 thread, pinned to CPU 1) with bench/wrk_targets.lua rotates host + token per request;
the single-tenant run sends the same request to tenant 0 only. Both use the same *fixed* load:
``--connections`` connections, each waiting a think time after every response before its next
request. That keeps the server below saturation (its CPU use is printed), so the latencies
compare the work per request rather than queueing behind a saturated event loop — at saturation
p95 is mostly queue length and says little about per-tenant costs. wrk 4 cannot pace requests at
a fixed rate (wrk2 can), so the rate is set by connections and think time: it is printed per run.
Two load levels by default: 40 ms think time (~190 req/s, server ~45% busy) and 20 ms (~330
req/s, ~75% busy); the closer to saturation, the more any extra CPU per request shows in p95.

One server for everything, so the two sides differ only in the rotation:

1. cold: the first ``--cold-seconds`` of the 1,000-tenant rotation on the fresh server (reported,
   not compared): every pooled connection meets every tenant schema for the first time, and
   PostgreSQL loads that schema's catalog entries into the backend (relcache/catcache);
2. warm-up: ``--warmup`` seconds at saturation over all tenants (~55,000 requests by default),
   so that every pooled connection has served every tenant several times — the state of a
   long-running web process (PostgreSQL needs that long to load the catalog entries of 1,000
   schemas into each of the 8 backends; shorter warm-ups measure that load, not the steady state);
3. per load level, ``--rounds`` rounds of (single, many), order alternating; medians compared.

Reported besides latency: CPU time per request of the server and of its PostgreSQL backends
(robust to other work on the machine, unlike latency), RSS of the uvicorn process (psutil; peak
while measured and at the end) and the private memory of its PostgreSQL backends.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from _common import create_tenants, db_name, header, migrate_shared, out, scratch_database
from _load import (
    Sampler,
    Server,
    Target,
    WrkResult,
    check,
    cpu_note,
    create_clients,
    fetch_tokens,
    pg_backend_memory,
    quiet_notice,
    serve,
    settle,
    wrk,
)

SCOPES = ["admin.users.read"]
APP = "app.main:create_app"


async def _setup(count: int) -> list[tuple[str, int, str, str]]:
    """[(slug, admin user id, client id, secret)] for ``count`` tenants."""
    from app.kernel.db import close_database
    from app.kernel.redis import close_redis

    try:
        started = time.perf_counter()
        tenants = await create_tenants(count, concurrency=4, prefix="t")
        out(f"created {count} tenants in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        clients = await create_clients([t.slug for t in tenants], SCOPES)
        out(f"created {count} API clients in {time.perf_counter() - started:.1f} s")
        return [(t.slug, t.admin_user_id, cid, sec) for t, (cid, sec) in zip(tenants, clients, strict=True)]
    finally:
        await close_database()
        await close_redis()


def _median(results: list[WrkResult]) -> WrkResult:
    """The run with the median p95 (its own figures, not a mix of runs)."""
    return sorted(results, key=lambda r: r.p95_ms)[len(results) // 2]


def _measure(
    server: Server, db: str, sets: dict[str, list[Target]], args: argparse.Namespace, delay_ms: float
) -> tuple[float, float]:
    """``--rounds`` rounds of (single, many) at one load level; prints them; returns (ratio, peak RSS)."""
    load = {"connections": args.connections, "delay_ms": delay_ms}
    out(f"load level: wrk -t1 -c{args.connections}, {delay_ms:g} ms think time, {args.seconds:g} s per run")
    results: dict[str, list[WrkResult]] = {"single": [], "many": []}
    cpu: dict[str, list[tuple[float, float]]] = {"single": [], "many": []}
    peak = 0.0
    for rnd in range(args.rounds):
        quiet_notice()
        for kind in ["single", "many"] if rnd % 2 == 0 else ["many", "single"]:
            with Sampler(server, db) as s:
                r = wrk(server.port, sets[kind], seconds=args.seconds, **load)  # type: ignore[arg-type]
            results[kind].append(r)
            cpu[kind].append((s.cpu_s / max(1, r.requests), s.pg_cpu_s / max(1, r.requests)))
            peak = max(peak, s.peak_rss)
            out(f"  round {rnd + 1} {kind:<6} {r.line()}")
            out(f"      {s.per_request(r.requests)}; RSS {s.end_rss:.0f} MB")
            settle(1)
    single, many = _median(results["single"]), _median(results["many"])
    ratio = many.p95_ms / single.p95_ms
    out("  median run of each (by p95):")
    out(f"    single tenant  {single.line()}")
    out(f"    {len(sets['many'])} tenants   {many.line()}")
    ratios = [m.p95_ms / s.p95_ms for s, m in zip(results["single"], results["many"], strict=True)]
    out(
        f"  p95 ratio many/single: {ratio:.2f} (target <= 1.30); per round: "
        + ", ".join(f"{x:.2f}" for x in ratios)
    )
    for kind in ("single", "many"):
        server_ms = statistics.median(c for c, _ in cpu[kind]) * 1000
        pg_ms = statistics.median(p for _, p in cpu[kind]) * 1000
        out(f"  CPU per request, {kind:<6} (median): server {server_ms:.2f} ms, PostgreSQL {pg_ms:.2f} ms")
    return ratio, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--delays",
        default="40,20",
        help="think times (ms) per connection, one load level each (default 40,20: ~45%% and ~75%% busy)",
    )
    parser.add_argument("--seconds", type=float, default=20, help="length of each measured run")
    parser.add_argument("--cold-seconds", type=float, default=20, help="the first run on a fresh server")
    parser.add_argument("--warmup", type=float, default=150, help="saturating warm-up over all tenants")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--statement-cache",
        type=int,
        default=None,
        help="DB_STATEMENT_CACHE_SIZE for the server (default: app's)",
    )
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    header(f"{args.tenants} tenants round-robin vs one tenant")
    out(cpu_note())
    env: dict[str, str] = {}
    app_spec = APP
    if args.statement_cache is not None:
        env["DB_STATEMENT_CACHE_SIZE"] = str(args.statement_cache)
    with scratch_database("many", keep=args.keep) as url:
        from app.settings import get_settings

        cache = env.get("DB_STATEMENT_CACHE_SIZE") or get_settings().db_statement_cache_size
        out(
            f"server: {app_spec}, DB_STATEMENT_CACHE_SIZE={cache}, DB_POOL_SIZE={get_settings().db_pool_size}"
        )
        migrate_shared(url)
        db = db_name(url)
        rows = asyncio.run(_setup(args.tenants))
        with serve("app-tokens", APP) as app:
            started = time.perf_counter()
            tokens = asyncio.run(
                fetch_tokens(app.port, [(f"{slug}.localhost", cid, sec) for slug, _, cid, sec in rows])
            )
            out(f"fetched {len(tokens)} tokens from /oauth/token in {time.perf_counter() - started:.1f} s")
        targets = [
            Target(f"{slug}.localhost", tok, f"/api/v1/users/{uid}")
            for (slug, uid, _, _), tok in zip(rows, tokens, strict=True)
        ]
        sets = {"single": targets[:1], "many": targets}
        delays = [float(x) for x in args.delays.split(",")]
        out(
            f"{args.rounds} rounds alternating single/many per load level, on one server; "
            "GET /api/v1/users/{id} with each tenant's host and token"
        )
        with serve("many", app_spec, env) as server:
            check(server.port, targets[-1])
            with Sampler(server, db) as s:
                cold = wrk(
                    server.port,
                    targets,
                    connections=args.connections,
                    delay_ms=delays[-1],
                    seconds=args.cold_seconds,
                )
            out(
                f"cold: the first {args.cold_seconds:g} s of {args.tenants} tenants on a fresh server, "
                f"{delays[-1]:g} ms think time"
            )
            out(f"  {cold.line()}")
            out(f"      {s.per_request(cold.requests)}")
            started = time.perf_counter()
            warm = wrk(server.port, targets, connections=args.connections, seconds=args.warmup)
            out(
                f"warm-up: {warm.requests} requests over all tenants in {time.perf_counter() - started:.0f} s"
                f" (wrk -c{args.connections}, no think time: every pooled connection serves every tenant)"
            )
            n, mem = pg_backend_memory(db)
            out(f"  PostgreSQL: {n} backends for this server, {mem:.0f} MB private memory in all")
            summary = [(d, *_measure(server, db, sets, args, d)) for d in delays]
            end_rss = server.rss_mb()
            n, mem = pg_backend_memory(db)
        out("summary:")
        for d, ratio, _ in summary:
            out(
                f"  {d:g} ms think time: p95 ratio {args.tenants} tenants / one tenant = {ratio:.2f}"
                " (target <= 1.30)"
            )
        peak = max(p for _, _, p in summary)
        out(
            f"  uvicorn RSS after serving {args.tenants} tenants: {end_rss:.0f} MB at the end, peak "
            f"{peak:.0f} MB while measured (target < 300 MB)"
        )
        out(f"  PostgreSQL: {n} backends for this server, {mem:.0f} MB private memory in all")


if __name__ == "__main__":
    main()
