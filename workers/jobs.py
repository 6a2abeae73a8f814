"""The periodic jobs the scheduler fires (workers/scheduler.py), one line each.

A job names its actor; a per-tenant job is fanned out as one message per active tenant, a global
one is a single message with ``tenant_id=None``. Slots are aligned to the Unix epoch in UTC, so
a daily job's slot is midnight UTC and an hourly one the top of the hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dramatiq

from workers.actors import ACTORS

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Job:
    name: str
    interval: timedelta
    per_tenant: bool
    actor: dramatiq.Actor

    def slot(self, now: datetime) -> datetime:
        """The start of the interval ``now`` falls in: the unit that fires at most once."""
        step = int(self.interval.total_seconds())
        elapsed = int((now - EPOCH).total_seconds())
        return EPOCH + timedelta(seconds=elapsed - elapsed % step)


JOBS: list[Job] = [
    Job("tenants.purge_due", timedelta(days=1), per_tenant=False, actor=ACTORS["purge_due_tenants"]),
    Job("outbox.cleanup", timedelta(hours=1), per_tenant=False, actor=ACTORS["clean_up_outbox"]),
    Job("notifications.cleanup", timedelta(days=1), per_tenant=True, actor=ACTORS["clean_up_notifications"]),
    Job("idempotency.cleanup", timedelta(hours=1), per_tenant=True, actor=ACTORS["clean_up_idempotency"]),
]
