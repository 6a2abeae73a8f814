"""Periodic work a context owns (PLAT-6): declared beside the domain code, fired by the scheduler.

A context declares what runs on a clock in its own ``jobs.py``; the scheduler (workers/jobs.py)
turns every declaration into a job, and one generic actor runs it in the tenant's transaction:

    @periodic("crm.sla_escalation", every=timedelta(minutes=1))
    async def escalate_overdue_tickets(session: AsyncSession) -> int: ...

Slots are aligned to the Unix epoch in UTC and fire at most once (workers/scheduler.py), but a
task must still be idempotent: a message may be delivered twice, and a slot missed while the
scheduler was down is not replayed. Tasks therefore act on *state* ("tickets past their deadline
not yet escalated"), never on "what happened since the last run".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

TaskFn = Callable[[AsyncSession], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class PeriodicTask:
    name: str  # stable: it keys scheduler slots and log lines ("<context>.<what>")
    every: timedelta
    fn: TaskFn
    per_tenant: bool = True
    max_retries: int = 3
    time_limit_ms: int = 10 * 60_000


_TASKS: dict[str, PeriodicTask] = {}


def periodic(
    name: str,
    *,
    every: timedelta,
    per_tenant: bool = True,
    max_retries: int = 3,
    time_limit_ms: int = 10 * 60_000,
) -> Callable[[TaskFn], TaskFn]:
    """Register ``fn`` to run every ``every`` (once per active tenant unless ``per_tenant=False``)."""
    if every < timedelta(minutes=1):
        raise ValueError("periodic tasks run at most once a minute (the scheduler ticks every 10 s)")

    def register(fn: TaskFn) -> TaskFn:
        existing = _TASKS.get(name)
        if existing is not None and existing.fn is not fn:
            raise ValueError(f"periodic task {name!r} declared twice")
        _TASKS[name] = PeriodicTask(name, every, fn, per_tenant, max_retries, time_limit_ms)
        return fn

    return register


def periodic_task(name: str) -> PeriodicTask | None:
    return _TASKS.get(name)


def all_periodic_tasks() -> list[PeriodicTask]:
    return sorted(_TASKS.values(), key=lambda t: t.name)
