"""What every actor does around the domain function it calls (PLAT-6).

Actors stay thin: bind the message's tenant (or none, for platform jobs), open a session, call
the domain function, commit. The exactly-once rule for outbox handlers lives here too:

    await apply_event(handler_name, event)   # runs the handler unless (handler, event) is recorded

``(handler, event_id)`` is inserted into ``processed_messages`` with ON CONFLICT DO NOTHING in the
*same* transaction as the handler's effect. A redelivered message (a worker killed before its
ack, a relay that enqueued twice) finds the row and changes nothing; two deliveries running at
once serialise on the primary key, and the second sees the first's committed row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import structlog
from dramatiq.middleware import CurrentMessage
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel import context
from app.kernel.context import Actor, TenantRef
from app.kernel.db import asyncpg_url, get_database, unit_of_work, utcnow
from app.kernel.events import Event, subscription
from app.kernel.logging import get_logger
from app.settings import get_settings
from tenants.routing import directory
from workers.models import ProcessedMessage

log = get_logger("workers")
T = TypeVar("T")


class UnknownHandler(Exception):
    """The message names a handler this worker does not know (removed or not deployed yet).
    Retrying cannot help: the message goes straight to the dead letters, from where an operator
    can re-enqueue it once the code is there (``tessera dead-letters retry``)."""


def asyncpg_dsn() -> str:
    """DATABASE_URL for a dedicated asyncpg connection (the relay's LISTEN, the scheduler's lock):
    those must outlive any pooled session, so they do not come from the SQLAlchemy pool."""
    url = get_settings().database_url
    if not url:
        raise RuntimeError("DATABASE_URL is not set (the `tessera` CLI starts an embedded PostgreSQL)")
    return asyncpg_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)


def _message_labels() -> dict[str, object]:
    message = CurrentMessage.get_current_message()
    if message is None:
        return {}
    return {"message_id": message.message_id, "retries": message.options.get("retries", 0)}


async def tenant_for_job(tenant_id: int, *, even_if_inactive: bool) -> TenantRef | None:
    """The tenant a message is for, or None (logged) when the work must be skipped: the tenant was
    purged (its schema is gone), or it is suspended or soft-deleted and the work is optional."""
    ref = await directory.by_id(tenant_id)
    if ref is None:
        log.info("skipped: the tenant is gone", tenant_id=tenant_id)
        return None
    if ref.status != "active" and not even_if_inactive:
        log.info("skipped: the tenant is not active", tenant_id=tenant_id, status=ref.status)
        return None
    return ref


@contextmanager
def job_scope(tenant: TenantRef | None, label: str, request_id: str | None = None) -> Iterator[None]:
    """Context for one job: the tenant, the system actor named after the job, and log labels."""
    labels = {"job": label, "tenant": tenant.slug if tenant else None, **_message_labels()}
    with (
        context.bound(tenant=tenant, actor=Actor.system(label), request_id=request_id),
        structlog.contextvars.bound_contextvars(**labels),
    ):
        yield


async def run_in_tenant(
    tenant_id: int,
    label: str,
    work: Callable[[AsyncSession], Awaitable[T]],
    *,
    even_if_inactive: bool = False,
) -> T | None:
    """Run ``work`` in one transaction in the tenant's schema; skipped (and logged) when the tenant
    is gone, or not active unless ``even_if_inactive``."""
    tenant = await tenant_for_job(tenant_id, even_if_inactive=even_if_inactive)
    if tenant is None:
        return None
    with job_scope(tenant, label):
        async with unit_of_work(get_database().tenant_session(tenant.schema)) as session:
            return await work(session)


async def run_on_platform(label: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction on the shared schema, as the system."""
    with job_scope(None, label):
        async with unit_of_work(get_database().shared_session()) as session:
            return await work(session)


async def apply_event(handler: str, event: Event) -> bool:
    """Run one subscription's handler for one event, exactly once in effect.

    Returns False when nothing was done: the event was already applied, or its tenant is gone.
    Raises whatever the handler raises, so Dramatiq retries with back-off (nothing is kept).
    """
    sub = subscription(handler)
    if sub is None:
        raise UnknownHandler(handler)
    tenant: TenantRef | None = None
    if event.tenant_id is not None:
        # A suspended tenant, or one in its deletion grace period, may come back: its business
        # reactions still happen so its data stays consistent. Handlers that only notify people
        # check the status themselves (app/security/handlers.py).
        tenant = await tenant_for_job(event.tenant_id, even_if_inactive=True)
        if tenant is None:
            return False
    db = get_database()
    session = db.tenant_session(tenant.schema) if tenant else db.shared_session()
    with job_scope(tenant, handler, request_id=str(event.event_id)):
        async with unit_of_work(session):
            claimed = await session.execute(
                insert(ProcessedMessage)
                .values(handler=handler, event_id=event.event_id, processed_at=utcnow())
                .on_conflict_do_nothing()
                .returning(ProcessedMessage.event_id)
            )
            if claimed.first() is None:
                log.info("event already applied", event_id=str(event.event_id), topic=event.topic)
                return False
            await sub.handler(event, session)
            log.info("event applied", event_id=str(event.event_id), topic=event.topic)
            return True
