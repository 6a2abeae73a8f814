"""Operations endpoints (PLAT-12): liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotAuthorizedException
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from app.kernel.db import get_database
from app.kernel.redis import get_redis
from app.security.permissions import PUBLIC
from app.settings import get_settings
from tenants.migrations import head, shared_revision

OPS = {"permission": PUBLIC, "host": "any", "skip_auth": True}


@get("/health", opt=OPS, include_in_schema=False)
async def health() -> dict[str, str]:
    """Liveness: the process answers. Never touches dependencies (a DB outage is not a restart)."""
    return {"status": "ok"}


async def _check(name: str, coro: Any) -> tuple[str, dict[str, Any]]:
    try:
        detail = await asyncio.wait_for(coro, timeout=2.0)
        return name, {"ok": True, **(detail or {})}
    except Exception as exc:  # report, don't raise: readiness lists every failing dependency
        return name, {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}


async def _database() -> dict[str, Any]:
    async with get_database().engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return {}


async def _redis() -> dict[str, Any]:
    await get_redis().ping()
    return {}


async def _migrations() -> dict[str, Any]:
    engine = get_database().engine
    shared = await shared_revision(engine)
    target = head("tenant")
    async with engine.connect() as conn:
        behind = await conn.scalar(
            text(
                "SELECT count(*) FROM public.tenants WHERE status IN ('active','suspended','deleted') "
                "AND schema_revision IS DISTINCT FROM :h"
            ),
            {"h": target},
        )
    if shared != head("shared") or behind:
        raise RuntimeError(f"shared at {shared} (head {head('shared')}), {behind} tenant(s) behind {target}")
    return {"shared": shared, "tenant": target}


@get("/ready", opt=OPS, include_in_schema=False)
async def ready() -> Response[dict[str, Any]]:
    """Readiness: database, Redis and migrations at head. 503 lists what is wrong."""
    checks = dict(
        await asyncio.gather(
            _check("database", _database()), _check("redis", _redis()), _check("migrations", _migrations())
        )
    )
    ok = all(c["ok"] for c in checks.values())
    return Response(
        {"status": "ready" if ok else "not ready", "checks": checks}, status_code=200 if ok else 503
    )


@get("/metrics", opt=OPS, include_in_schema=False)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus exposition. With METRICS_TOKEN set, a matching bearer token is required."""
    token = get_settings().metrics_token
    if token:
        sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), token.encode()):
            raise NotAuthorizedException("metrics token required")
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


ROUTES = [health, ready, metrics]
