"""The Dramatiq broker (PLAT-6): Redis, one namespace per deployment, explicit middleware.

Every process that sends or runs jobs uses the broker built here: the web process never does
(it only writes outbox rows), the relay and the scheduler enqueue, the workers consume.

    broker = get_broker()          # the process's broker, built from settings on first use
    other = build_broker(url)      # a second one (tests point one at a Redis they stop and start)

Queues: ``events`` carries outbox events to their handlers (workers/actors.py ``handle_event``),
``jobs`` carries periodic jobs (workers/jobs.py). Messages that exhaust their retries move to
Dramatiq's dead-letter set of their queue (``<namespace>:<queue>.XQ``), see workers/deadletters.py.
"""

from __future__ import annotations

import os

import dramatiq
import redis
from dramatiq.brokers.redis import DEFAULT_MAINTENANCE_CHANCE, RedisBroker
from dramatiq.middleware import (
    AgeLimit,
    AsyncIO,
    Callbacks,
    CurrentMessage,
    Middleware,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from app.settings import get_settings

EVENTS_QUEUE = "events"
JOBS_QUEUE = "jobs"
QUEUES = (EVENTS_QUEUE, JOBS_QUEUE)

# Defaults for every actor; an actor or an event subscription may set its own.
MAX_RETRIES = 10
MIN_BACKOFF_MS = 15_000
MAX_BACKOFF_MS = 3_600_000
TIME_LIMIT_MS = 10 * 60_000


def maintenance_chance() -> int:
    """How many broker commands in a million also requeue messages of dead workers.

    Dramatiq's default (1 in 1,000) recovers a killed worker's messages within minutes in
    production. Tests that kill workers set ``DRAMATIQ_MAINTENANCE_CHANCE=1000000`` so the
    next command recovers them (a candidate for app/settings.py once it is used elsewhere).
    """
    raw = os.environ.get("DRAMATIQ_MAINTENANCE_CHANCE", "")
    return int(raw) if raw.strip() else DEFAULT_MAINTENANCE_CHANCE


def redis_client(url: str) -> redis.Redis:
    """A client that fails fast when Redis is down: the relay then records the error and backs
    off (redis-py's default retries would block each enqueue for seconds)."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=2,
        socket_timeout=10,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
    )


def standard_middleware() -> list[Middleware]:
    return [
        AgeLimit(),
        TimeLimit(time_limit=TIME_LIMIT_MS),
        ShutdownNotifications(),
        Callbacks(),
        Retries(max_retries=MAX_RETRIES, min_backoff=MIN_BACKOFF_MS, max_backoff=MAX_BACKOFF_MS),
        CurrentMessage(),
        AsyncIO(),
    ]


def build_broker(
    url: str | None = None, *, namespace: str | None = None, heartbeat_timeout_ms: int | None = None
) -> RedisBroker:
    settings = get_settings()
    url = url or settings.redis_url
    if not url:
        raise RuntimeError("REDIS_URL is not set (the `tessera` CLI starts an embedded Redis)")
    broker = RedisBroker(
        client=redis_client(url),
        middleware=standard_middleware(),
        namespace=namespace or settings.dramatiq_namespace,
        heartbeat_timeout=heartbeat_timeout_ms or settings.worker_heartbeat_timeout_ms,
        maintenance_chance=maintenance_chance(),
    )
    for queue in QUEUES:
        broker.declare_queue(queue)
    return broker


_broker: RedisBroker | None = None


def get_broker() -> RedisBroker:
    """The process's broker, also installed as Dramatiq's global one (``dramatiq workers.actors``
    finds it there)."""
    global _broker
    if _broker is None:
        _broker = build_broker()
        dramatiq.set_broker(_broker)
    return _broker
