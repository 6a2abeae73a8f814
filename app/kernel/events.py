"""Subscriptions to outbox events: which handler reacts to which topic.

A context declares its reactions in its own ``handlers.py``:

    @subscribe("security.invitation_created")
    async def mail_invitation(event: Event, session: AsyncSession) -> None: ...

The relay enqueues one Dramatiq message per (event, handler); the worker runs the handler in
a session bound to the event's tenant and records ``(handler, event_id)`` in the same
transaction, so a redelivered message has no second effect (workers/runtime.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class Event:
    event_id: uuid.UUID
    topic: str
    tenant_id: int | None
    payload: dict[str, Any]
    created_at: datetime


Handler = Callable[[Event, AsyncSession], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Subscription:
    name: str  # stable id used in messages and dedupe records: "<module>.<function>"
    topic: str
    handler: Handler
    max_retries: int
    time_limit_ms: int
    # Retry back-off bounds (exponential); None = the broker's defaults (workers/broker.py).
    min_backoff_ms: int | None = None
    max_backoff_ms: int | None = None


_SUBSCRIPTIONS: dict[str, Subscription] = {}


def subscribe(
    topic: str,
    *,
    max_retries: int = 10,
    time_limit_ms: int = 60_000,
    min_backoff_ms: int | None = None,
    max_backoff_ms: int | None = None,
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        name = f"{fn.__module__}.{fn.__name__}"
        if name in _SUBSCRIPTIONS and _SUBSCRIPTIONS[name].handler is not fn:
            raise ValueError(f"handler {name} registered twice")
        _SUBSCRIPTIONS[name] = Subscription(
            name, topic, fn, max_retries, time_limit_ms, min_backoff_ms, max_backoff_ms
        )
        return fn

    return register


def subscriptions_for(topic: str) -> list[Subscription]:
    return [s for s in _SUBSCRIPTIONS.values() if s.topic == topic]


def subscription(name: str) -> Subscription | None:
    return _SUBSCRIPTIONS.get(name)


def all_subscriptions() -> list[Subscription]:
    return list(_SUBSCRIPTIONS.values())
