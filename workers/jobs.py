"""The periodic jobs the scheduler fires (workers/scheduler.py), one line each.

A job names its actor; a per-tenant job is fanned out as one message per active tenant, a global
one is a single message with ``tenant_id=None``. Slots are aligned to the Unix epoch in UTC, so
a daily job's slot is midnight UTC and an hourly one the top of the hour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import dramatiq

from app.kernel.periodic import all_periodic_tasks
from workers.actors import ACTORS

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Job:
    name: str
    interval: timedelta
    per_tenant: bool
    actor: dramatiq.Actor
    kwargs: dict[str, Any] = field(default_factory=dict)  # besides tenant_id and slot
    options: dict[str, Any] = field(default_factory=dict)  # message options (retries, time limit)

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
    # What the contexts declare with @periodic (app/kernel/periodic.py), e.g. app/crm/jobs.py.
    *(
        Job(
            task.name,
            task.every,
            per_tenant=task.per_tenant,
            actor=ACTORS["run_periodic_task"],
            kwargs={"task": task.name},
            options={"max_retries": task.max_retries, "time_limit": task.time_limit_ms},
        )
        for task in all_periodic_tasks()
    ),
]
