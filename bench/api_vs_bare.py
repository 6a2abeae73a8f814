"""Benchmark: the authenticated JSON API against a bare Litestar handler doing the same read
(target: the API sustains >= 50% of the bare handler's requests/s).

    .venv/bin/python bench/api_vs_bare.py [--connections 8,16] [--seconds 10] [--rounds 3] [--keep]

* api: ``GET /api/v1/users/{id}`` on ``acme.localhost`` with an OAuth2 client-credentials bearer
  token (scope admin.users.read) from the app's own /oauth/token — the whole stack: request
  context + metrics, host -> tenant, bearer token (Redis), guards, DI, one tenant-schema session
  (the user row and its role keys), commit, msgspec JSON.
* bare (the target's baseline): bench/bare_app.py — one handler, the same SELECT of the same users
  row through SQLAlchemy async on the same engine settings (schema_translate_map to tenant_acme),
  msgspec JSON; no middleware, no auth.
* same-work (diagnostic): bench/bare_app.py's second handler — the API handler's own reads (user,
  role keys, commit, the API's response struct) without the request pipeline. api/same-work is
  what the platform's pipeline costs; same-work/bare is what the route reads beyond one row.

All three receive the same headers (Host, Authorization) and run under uvicorn as `tessera web`
runs the app (1 worker, uvloop, httptools, --no-access-log, --proxy-headers), pinned to CPU 0;
wrk (1 thread, same connections and duration) is pinned to CPU 1. Each run starts its server
fresh, warms it up, then measures; the order rotates between rounds. Two concurrencies by
default: 8 (below DB_POOL_SIZE=10) and 16 (above it: SQLAlchemy opens overflow connections and
closes them again as requests finish, so part of the cost there is connection churn — the new
PostgreSQL connections are counted).
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


KINDS = ("api", "bare", "same-work")


def _level(
    targets: dict[str, tuple[str, dict[str, str], Target]],
    db: str,
    args: argparse.Namespace,
    connections: int,
) -> float:
    """``--rounds`` rounds of the three servers at one concurrency; prints them; returns api/bare."""
    out(
        f"{connections} connections: wrk -t1 -c{connections} -d{args.seconds:g}s, "
        f"{args.warmup:g}s warm-up each"
    )
    results: dict[str, list[WrkResult]] = {k: [] for k in KINDS}
    cpu: dict[str, list[tuple[float, float]]] = {k: [] for k in KINDS}
    for rnd in range(args.rounds):
        quiet_notice()
        order = KINDS[rnd % len(KINDS) :] + KINDS[: rnd % len(KINDS)]  # rotate who goes first
        for kind in order:
            spec, env, target = targets[kind]
            with serve(kind, spec, env) as server:
                check(server.port, target)
                wrk(server.port, [target], connections=connections, seconds=args.warmup)
                with Sampler(server, db) as s:
                    r = wrk(server.port, [target], connections=connections, seconds=args.seconds)
            results[kind].append(r)
            cpu[kind].append((s.cpu_s / max(1, r.requests), s.pg_cpu_s / max(1, r.requests)))
            out(f"  round {rnd + 1} {kind:<9} {r.line()}")
            out(f"      {s.per_request(r.requests)}; RSS {s.end_rss:.0f} MB")
            settle()
    med = {k: _median(results[k]) for k in KINDS}
    out("  median run of each:")
    for kind in ("bare", "same-work", "api"):
        server_ms = statistics.median(c for c, _ in cpu[kind]) * 1000
        pg_ms = statistics.median(p for _, p in cpu[kind]) * 1000
        out(f"    {kind:<9} {med[kind].line()}")
        out(f"              CPU per request (median): server {server_ms:.2f} ms, PostgreSQL {pg_ms:.2f} ms")
    ratios = [a.rps / b.rps for a, b in zip(results["api"], results["bare"], strict=True)]
    ratio = med["api"].rps / med["bare"].rps
    out(
        f"  ratio api/bare requests/s: {ratio:.2f} (target >= 0.50); per round: "
        + ", ".join(f"{x:.2f}" for x in ratios)
    )
    out(
        f"  diagnostic: api/same-work {med['api'].rps / med['same-work'].rps:.2f} (the request pipeline), "
        f"same-work/bare {med['same-work'].rps / med['bare'].rps:.2f} (the route's own extra reads)"
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--connections",
        default="8,16",
        help="wrk connections, one level each (default 8,16: below and above DB_POOL_SIZE=10)",
    )
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
        bare_env = {"BENCH_TENANT_SCHEMA": schema}
        targets = {
            "api": (APP, {}, Target(host, token, f"/api/v1/users/{user_id}")),
            "bare": (BARE, bare_env, Target(host, token, f"/users/{user_id}")),
            "same-work": (BARE, bare_env, Target(host, token, f"/users/{user_id}/same-work")),
        }
        out(f"every request: Host {host}, Authorization: Bearer <token> (scope {' '.join(SCOPES)})")
        for kind, (spec, env, target) in targets.items():
            with serve(kind, spec, env) as server:
                out(f"  {kind:<9} GET {target.path} -> {check(server.port, target)}")
        summary = [(c, _level(targets, db, args, c)) for c in (int(x) for x in args.connections.split(","))]
        out("summary:")
        for c, ratio in summary:
            out(f"  {c} connections: api/bare requests/s = {ratio:.2f} (target >= 0.50)")


if __name__ == "__main__":
    main()
