"""Real worker processes killed with SIGKILL: the job runs again and its effect happens once.

Workers run as ``python -m dramatiq workers.actors tests.workers.handlers`` (what ``tessera
worker`` runs) with a short heartbeat timeout, and every broker command also recovering the
messages of dead workers, so a killed worker's unacknowledged message comes back in seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.kernel.outbox import publish
from app.kernel.redis import get_redis
from app.notifications.models import Notification
from tenants.service import in_tenant
from tests.workers.conftest import relay_all, wait_until
from tests.workers.handlers import SLOW_EFFECT, runs_key

ROOT = Path(__file__).resolve().parents[2]
WORKER_ENV = {
    "WORKER_HEARTBEAT_TIMEOUT_MS": "1500",
    "DRAMATIQ_MAINTENANCE_CHANCE": "1000000",
    "dramatiq_worker_timeout": "200",  # idle consumers poll (and heartbeat) every 0.2 s
    "LOG_LEVEL": "INFO",
}

pytestmark = pytest.mark.slow


class WorkerProcess:
    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        with log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "dramatiq",
                    "workers.actors",
                    "tests.workers.handlers",
                    "--processes",
                    "1",
                    "--threads",
                    "2",
                    "--queues",
                    "events",
                ],
                cwd=ROOT,
                env={**os.environ, **WORKER_ENV},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """kill -9 the worker and its parent: no shutdown, no ack, no requeue."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        """A graceful stop: SIGTERM to the parent only, which forwards it once to its worker (a
        second SIGTERM makes the worker exit at once, leaving its threads hanging)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[[], WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        started.append(WorkerProcess(tmp_path / f"worker{len(started) + 1}.log"))
        return started[-1]

    yield start
    for w in started:
        w.stop()


async def _effects(marker: str) -> int:
    async with in_tenant("acme") as (session, _):
        stmt = select(func.count()).select_from(Notification).where(Notification.title == marker)
        return int(await session.scalar(stmt) or 0)


async def _publish_slow_effect(acme, **payload: object) -> tuple[str, str]:
    marker = f"effect-{uuid.uuid4().hex[:8]}"
    async with in_tenant("acme") as (session, _):
        event = await publish(
            session, SLOW_EFFECT, {"marker": marker, "user_id": acme.users["bob"], **payload}
        )
    await relay_all()
    return marker, str(event.event_id)


async def test_a_worker_killed_mid_job_or_before_its_ack_leaves_exactly_one_effect(
    acme, mailbox, start_worker
):
    first = start_worker()
    marker, _ = await _publish_slow_effect(acme, sleep=60)
    await wait_until(lambda: get_redis().get(runs_key(marker)), within=30)  # the handler is sleeping

    first.kill()
    assert await _effects(marker) == 0
    second = start_worker()

    await wait_until(lambda: _effects(marker), within=30)
    assert int(await get_redis().get(runs_key(marker))) == 2  # it ran again
    assert await _effects(marker) == 1

    # Now the effect commits but the worker dies before acknowledging the message.
    marker, event_id = await _publish_slow_effect(acme, linger_after_commit=60)
    await wait_until(lambda: _effects(marker), within=30)
    second.kill()
    third = start_worker()

    await wait_until(
        lambda: any(
            "event already applied" in line and event_id in line for line in third.log().splitlines()
        ),
        within=30,
    )
    assert await _effects(marker) == 1
    assert int(await get_redis().get(runs_key(marker))) == 1  # the handler did not run again
