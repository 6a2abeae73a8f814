"""Worker-test fixtures: a real SMTP server, a real Dramatiq worker, real Redis and PostgreSQL.

* ``mailbox`` — aiosmtpd's Controller on a free port; SMTP_HOST/SMTP_PORT point at it.
* ``worker`` — Dramatiq's own ``Worker`` in this process, consuming the real Redis queues. Its
  async actors run on the test's event loop instead of Dramatiq's loop thread, because the
  process's database pool belongs to that loop (asyncpg connections cannot change loops). The
  tests about processes start real ``dramatiq`` worker processes instead (test_processes.py).
"""

from __future__ import annotations

import asyncio
import email
import logging
import os
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from dramatiq import Broker, Worker
from dramatiq.asyncio import EventLoopThread, set_event_loop_thread
from dramatiq.middleware import AsyncIO, Middleware

import tests.workers.handlers  # noqa: F401 — the test topics' subscriptions
import workers.actors  # noqa: F401 — broker, actors, every context's handlers
from app.settings import reset_settings
from workers.broker import get_broker
from workers.relay import relay_once

LINK_RE = re.compile(r"https?://\S+")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_until(predicate: Callable[[], Any], within: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` (sync or async) until it returns something truthy; fail after ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(interval)


class Mailbox:
    """Everything the SMTP server received, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append(msg)  # type: ignore[arg-type]
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    async def wait_for(self, address: str, within: float = 15.0) -> EmailMessage:
        found = await wait_until(lambda: self.to(address), within)
        return found[0]


def text_of(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())  # type: ignore[attr-defined]


def link_in(msg: EmailMessage) -> str:
    links = LINK_RE.findall(text_of(msg))
    assert links, text_of(msg)
    return str(links[0])


@pytest.fixture(scope="package")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    saved = {k: os.environ.get(k) for k in ("SMTP_HOST", "SMTP_PORT")}
    os.environ.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(port))
    reset_settings()
    yield box
    controller.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    reset_settings()


class _TestLoop:
    """Stands in for Dramatiq's event-loop thread: runs actors' coroutines on the test's loop
    (with Dramatiq's own interrupt handling, borrowed from EventLoopThread)."""

    interrupt_check_ival = 0.05

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.logger = logging.getLogger("tests.workers.loop")

    run_coroutine = EventLoopThread.run_coroutine

    def stop(self) -> None:
        """The test's loop outlives the worker."""

    def join(self, timeout: float | None = None) -> None:
        """Nothing to join."""


class _RunOnTestLoop(Middleware):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.bridge = _TestLoop(loop)

    def before_worker_boot(self, broker: Any, worker: Any) -> None:
        set_event_loop_thread(self.bridge)  # type: ignore[arg-type]

    def after_worker_shutdown(self, broker: Any, worker: Any) -> None:
        set_event_loop_thread(None)


@asynccontextmanager
async def running_worker(
    broker: Broker | None = None, *, queues: set[str] | None = None, threads: int = 2
) -> AsyncIterator[Worker]:
    """A real Dramatiq Worker on ``broker`` (default: the process's) for the block's duration.
    Callers must await (not block) while it works: its actors run on this loop."""
    broker = broker or get_broker()
    original = list(broker.middleware)
    broker.middleware = [
        _RunOnTestLoop(asyncio.get_running_loop()) if isinstance(m, AsyncIO) else m for m in original
    ]
    worker = Worker(broker, queues=queues, worker_threads=threads, worker_timeout=100)
    worker.start()
    try:
        yield worker
    finally:
        await asyncio.to_thread(worker.stop, 10_000)
        broker.middleware = original  # also drops the stopped worker's own middleware


@pytest.fixture
async def worker(world: Any, mailbox: Mailbox) -> AsyncIterator[Worker]:
    async with running_worker() as w:
        yield w


async def relay_all(broker: Broker | None = None) -> int:
    """Relay every pending outbox event (the tests' stand-in for the relay process)."""
    total = 0
    while True:
        result = await relay_once(broker=broker)
        assert result.error is None, result.error
        total += result.published
        if not result.batch_full:
            return total
