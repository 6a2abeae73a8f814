"""Benchmark: the authenticated JSON API against a bare Litestar handler doing the same read
(target: the API sustains >= 50% of the bare handler's requests/s).

    .venv/bin/python bench/api_vs_bare.py [--connections 16] [--seconds 10] [--rounds 3] [--keep]

* Tessera: ``GET /api/v1/users/{id}`` on ``acme.localhost`` with an OAuth2 client-credentials
  bearer token (scope admin.users.read) from the app's own /oauth/token — the whole stack:
  request context + metrics, host -> tenant, bearer token (Redis), guard, DI, one tenant-schema
  session (the user row and its role keys), commit, msgspec JSON.
* Baseline: bench/bare_app.py — one handler, the same SELECT of the same users row through
  SQLAlchemy async on the same engine settings (schema_translate_map to tenant_acme), msgspec
  JSON; no middleware, no auth. It receives the same headers (Host, Authorization) and ignores them.

Both: uvicorn as `tessera web` runs it (1 worker, uvloop, httptools, --no-access-log,
--proxy-headers), pinned to CPU 0; wrk (1 thread, same connections and duration) pinned to CPU 1.
Each round starts each server fresh, warms it up, then measures; the order alternates between
rounds. The report gives every round and the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics

from _common import create_tenants, db_name, header, migrate_shared, out, scratch_database
from _load import (
    Sampler,
    Target,
    WrkResult,
    check,
    cpu_note,
    create_clients,
    fetch_tokens,
    quiet_notice,
    serve,
    settle,
    wrk,
)

SLUG = "acme"
SCOPES = ["admin.users.read"]
APP = "app.main:create_app"
BARE = "bench.bare_app:create_bare_app"


async def _setup() -> tuple[str, int, tuple[str, str]]:
    from app.kernel.db import close_database
    from app.kernel.redis import close_redis

    try:
        [tenant] = await create_tenants(1, prefix=SLUG)
        [client] = await create_clients([SLUG], SCOPES)
        return tenant.schema, tenant.admin_user_id, client
    finally:
        await close_database()
        await close_redis()


def _median(results: list[WrkResult]) -> WrkResult:
    """The run with the median requests/s (its own latencies, not a mix of runs)."""
    return sorted(results, key=lambda r: r.rps)[len(results) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=3, help="seconds of load before each measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    header("authenticated API vs bare Litestar handler")
    out(cpu_note())
    with scratch_database("api", keep=args.keep) as url:
        migrate_shared(url)
        db = db_name(url)
        schema, user_id, (client_id, secret) = asyncio.run(_setup())
        host = f"{SLUG}.localhost"
        with serve("app-token", APP) as app:
            [token] = asyncio.run(fetch_tokens(app.port, [(host, client_id, secret)]))
        targets = {
            "api": (APP, {}, Target(host, token, f"/api/v1/users/{user_id}")),
            "bare": (BARE, {"BENCH_TENANT_SCHEMA": schema}, Target(host, token, f"/users/{user_id}")),
        }
        out(
            f"load: wrk -t1 -c{args.connections} -d{args.seconds:g}s after {args.warmup:g}s warm-up, "
            f"{args.rounds} rounds; Host {host}, Bearer token (scope {' '.join(SCOPES)})"
        )
        results: dict[str, list[WrkResult]] = {"api": [], "bare": []}
        cpu: dict[str, list[tuple[float, float]]] = {"api": [], "bare": []}
        for rnd in range(args.rounds):
            quiet_notice()
            order = ["api", "bare"] if rnd % 2 == 0 else ["bare", "api"]
            for kind in order:
                spec, env, target = targets[kind]
                with serve(kind, spec, env) as server:
                    body = check(server.port, target)
                    if rnd == 0:
                        out(f"  {kind} answers {target.path}: {body}")
                    wrk(server.port, [target], connections=args.connections, seconds=args.warmup)
                    with Sampler(server, db) as s:
                        r = wrk(server.port, [target], connections=args.connections, seconds=args.seconds)
                results[kind].append(r)
                cpu[kind].append((s.cpu_s / max(1, r.requests), s.pg_cpu_s / max(1, r.requests)))
                out(f"  round {rnd + 1} {kind:<4} {r.line()}")
                out(f"      {s.per_request(r.requests)}; RSS {s.end_rss:.0f} MB")
                settle()
        api, bare = _median(results["api"]), _median(results["bare"])
        ratios = [a.rps / b.rps for a, b in zip(results["api"], results["bare"], strict=True)]
        out("median run of each:")
        out(f"  bare  {bare.line()}")
        out(f"  api   {api.line()}")
        out(
            f"ratio api/bare requests/s: {api.rps / bare.rps:.2f} (target >= 0.50); per round: "
            + ", ".join(f"{x:.2f}" for x in ratios)
            + f"; median of per-round ratios {statistics.median(ratios):.2f}"
        )
        for kind in ("bare", "api"):
            server_ms = statistics.median(c for c, _ in cpu[kind]) * 1000
            pg_ms = statistics.median(p for _, p in cpu[kind]) * 1000
            out(f"CPU per request, {kind:<4} (median): server {server_ms:.2f} ms, PostgreSQL {pg_ms:.2f} ms")


if __name__ == "__main__":
    main()
