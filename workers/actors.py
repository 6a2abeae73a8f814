"""The actors: thin adapters from a Dramatiq message to a domain function (PLAT-6).

``python -m dramatiq workers.actors`` (``tessera worker``) imports this module: it installs the
broker, imports every context's outbox handlers and declares the actors. Every message carries
its tenant (``tenant_id``, None for platform jobs); the actor binds it, opens a session, calls
the domain function and commits (workers/runtime.py).

    handle_event            one outbox event for one subscribed handler (exactly-once effect)
    purge_due_tenants       tenants.purge_due       global, daily
    clean_up_outbox         outbox.cleanup          global, hourly
    clean_up_notifications  notifications.cleanup   per tenant, daily
    clean_up_idempotency    idempotency.cleanup     per tenant, hourly
    run_periodic_task       every ``@periodic`` task a context declares (app/kernel/periodic.py)
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware

# Subscriptions register on import; the relay and the workers must both know all of them.
import app.crm.handlers
import app.crm.jobs
import app.finance.handlers  # CRM's order listeners: confirming an order in a job invoices it too
import app.notifications.handlers
import app.security.handlers  # noqa: F401
import tenants.spares  # noqa: F401  (registers the spare-schema refill job)
from app.kernel.events import Event
from app.kernel.logging import configure_logging, get_logger
from app.kernel.periodic import periodic_task
from app.settings import get_settings
from tenants.service import purge_due_tenants as purge_due_tenants_now
from workers import housekeeping
from workers.broker import EVENTS_QUEUE, JOBS_QUEUE, get_broker
from workers.runtime import UnknownHandler, apply_event, job_scope, run_in_tenant, run_on_platform

log = get_logger("workers")


async def handle_event(
    handler: str, event_id: str, topic: str, tenant_id: int | None, payload: dict[str, Any], created_at: str
) -> None:
    event = Event(uuid.UUID(event_id), topic, tenant_id, payload, datetime.fromisoformat(created_at))
    await apply_event(handler, event)


async def purge_due_tenants(tenant_id: int | None = None, slot: str | None = None) -> None:
    with job_scope(None, "tenants.purge_due"):
        purged = await purge_due_tenants_now()  # one transaction per tenant, each audited
        log.info("purged tenants past their grace period", tenants=purged, slot=slot)


async def clean_up_outbox(tenant_id: int | None = None, slot: str | None = None) -> None:
    async def work(session: Any) -> tuple[int, int]:
        return (
            await housekeeping.delete_relayed_outbox_events(session),
            await housekeeping.forget_processed_messages(session),
        )

    events, records = await run_on_platform("outbox.cleanup", work)
    log.info("outbox cleaned up", outbox_rows=events, processed_records=records, slot=slot)


async def clean_up_notifications(tenant_id: int, slot: str | None = None) -> None:
    work = housekeeping.delete_old_read_notifications
    deleted = await run_in_tenant(tenant_id, "notifications.cleanup", work)
    if deleted is not None:
        log.info("old read notifications deleted", count=deleted, slot=slot)


async def clean_up_idempotency(tenant_id: int, slot: str | None = None) -> None:
    deleted = await run_in_tenant(
        tenant_id, "idempotency.cleanup", housekeeping.delete_expired_idempotency_keys
    )
    if deleted is not None:
        log.info("expired idempotency keys deleted", count=deleted, slot=slot)


class UnknownTask(Exception):
    """The message names a periodic task this worker does not know (removed or not deployed yet)."""


async def run_periodic_task(task: str, tenant_id: int | None = None, slot: str | None = None) -> None:
    declared = periodic_task(task)
    if declared is None:
        raise UnknownTask(task)
    if tenant_id is None:
        result = await run_on_platform(task, declared.fn)
    else:
        result = await run_in_tenant(tenant_id, task, declared.fn)
    log.info("periodic task ran", task=task, result=result, slot=slot)


@dataclass(frozen=True)
class ActorSpec:
    fn: Callable[..., Awaitable[None]]
    queue: str
    options: dict[str, Any] = field(default_factory=dict)


SPECS: dict[str, ActorSpec] = {
    # Per-subscription retries, back-off and time limit travel in each message's options.
    "handle_event": ActorSpec(handle_event, EVENTS_QUEUE, {"throws": (UnknownHandler,)}),
    "purge_due_tenants": ActorSpec(
        purge_due_tenants, JOBS_QUEUE, {"max_retries": 3, "time_limit": 30 * 60_000}
    ),
    "clean_up_outbox": ActorSpec(clean_up_outbox, JOBS_QUEUE, {"max_retries": 3}),
    "clean_up_notifications": ActorSpec(clean_up_notifications, JOBS_QUEUE, {"max_retries": 3}),
    "clean_up_idempotency": ActorSpec(clean_up_idempotency, JOBS_QUEUE, {"max_retries": 3}),
    # Each task's own retries and time limit travel in its messages (workers/jobs.py).
    "run_periodic_task": ActorSpec(run_periodic_task, JOBS_QUEUE, {"throws": (UnknownTask,)}),
}


def declare_actors(broker: dramatiq.Broker) -> dict[str, dramatiq.Actor]:
    """Declare every actor on ``broker`` (the process's own, or a test's second broker)."""
    return {
        name: dramatiq.Actor(
            spec.fn,
            broker=broker,
            actor_name=name,
            queue_name=spec.queue,
            priority=0,
            options=dict(spec.options),
        )
        for name, spec in SPECS.items()
    }


class ConfigureLogging(Middleware):
    """Worker processes log like every other Tessera process (structured, with tenant labels)."""

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        settings = get_settings()
        configure_logging(settings.log_level, settings.log_json)


broker = get_broker()
if not any(isinstance(m, ConfigureLogging) for m in broker.middleware):
    broker.add_middleware(ConfigureLogging())
ACTORS = declare_actors(broker)
