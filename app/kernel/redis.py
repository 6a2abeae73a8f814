"""The process's Redis client (sessions, throttling, API tokens, live badges)."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from app.settings import get_settings

_client: aioredis.Redis | None = None


def get_redis() -> aioredis.Redis:
    global _client
    if _client is None:
        url = get_settings().redis_url
        if not url:
            raise RuntimeError("REDIS_URL is not set (the `tessera` CLI starts an embedded Redis)")
        # Fail fast when Redis is away (one quick retry), rather than hold a request for seconds.
        _client = aioredis.Redis.from_url(
            url,
            decode_responses=False,
            socket_timeout=2,
            socket_connect_timeout=1,
            health_check_interval=30,
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), retries=1),
        )
    return _client


async def close_redis() -> None:
    global _client
    if _client is not None:
        await _client.aclose()
        _client = None
