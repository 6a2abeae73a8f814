"""Operations endpoints and logs (PLAT-12): liveness, readiness, metrics, JSON logs with context."""

from __future__ import annotations

import io
import json
import logging

import structlog

from app.kernel.logging import build_formatter, get_logger
from tests.helpers import http, signed_in


async def test_ready_reports_database_redis_and_migrations(app, world):
    async with http(app, "127.0.0.1") as c:
        r = await c.get("/ready")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "redis", "migrations"}
    assert all(check["ok"] for check in body["checks"].values())


async def test_ready_is_503_when_a_tenant_is_behind(app, acme):
    from sqlalchemy import update

    from app.kernel.db import get_database
    from tenants.models import Tenant

    async with get_database().shared_session() as s:
        before = (await s.get(Tenant, acme.id)).schema_revision
        await s.execute(update(Tenant).where(Tenant.id == acme.id).values(schema_revision="t0000"))
        await s.commit()
    try:
        async with http(app, "127.0.0.1") as c:
            r = await c.get("/ready")
        assert r.status_code == 503
        assert r.json()["checks"]["migrations"]["ok"] is False
        assert "1 tenant(s) behind" in r.json()["checks"]["migrations"]["error"]
    finally:
        async with get_database().shared_session() as s:
            await s.execute(update(Tenant).where(Tenant.id == acme.id).values(schema_revision=before))
            await s.commit()


async def test_metrics_count_requests_by_route(app, acme):
    async with signed_in(app, acme, "alice") as b:
        await b.get("/profile")
    async with http(app, "127.0.0.1") as c:
        r = await c.get("/metrics")
    assert r.status_code == 200
    assert 'tessera_http_requests_total{method="GET",route="/profile",status="200"}' in r.text
    assert "tessera_http_request_duration_seconds_bucket" in r.text


def test_log_lines_are_json_with_tenant_and_request_id():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(build_formatter(json=True))
    logging.getLogger("tessera.test").addHandler(handler)
    logging.getLogger("tessera.test").setLevel(logging.INFO)
    structlog.contextvars.bind_contextvars(tenant="acme", request_id="abc123")
    try:
        get_logger("tessera.test").info("something happened", order=42)
    finally:
        structlog.contextvars.clear_contextvars()
        logging.getLogger("tessera.test").removeHandler(handler)
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert (line["event"], line["tenant"], line["request_id"], line["order"], line["level"]) == (
        "something happened",
        "acme",
        "abc123",
        42,
        "info",
    )


async def test_responses_carry_security_headers(app, acme):
    async with http(app, acme.host) as c:
        r = await c.get("/login")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


async def test_errors_raised_before_the_handler_are_counted_and_headed_correctly(app, world):
    async with http(app, "ghost.tessera.test") as c:
        r = await c.get("/login")
        assert r.status_code == 404
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-request-id"]
        metrics = await c.get("/metrics")
    assert 'tessera_http_requests_total{method="GET",route="/login",status="404"}' in metrics.text
