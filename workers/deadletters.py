"""Dead letters (PLAT-6): messages that exhausted their retries, and putting them back.

Dramatiq moves a message that failed ``max_retries`` times (or raised one of its actor's
``throws``) to its queue's dead-letter set, ``<namespace>:<queue>.XQ`` with the message bodies in
``<namespace>:<queue>.XQ.msgs``, and keeps it 7 days. Operators look there after fixing the
cause and re-enqueue (``tessera dead-letters list`` / ``retry``). Re-enqueued event messages are
safe to run: the handler's dedupe record (workers/runtime.py) prevents a second effect.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast

from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import q_name

from workers.broker import QUEUES, get_broker

# Bookkeeping Dramatiq adds while a message is tried; a retried dead letter starts afresh.
_ATTEMPT_OPTIONS = frozenset({"retries", "traceback", "eta", "redis_message_id", "requeue_timestamp"})


@dataclasses.dataclass(frozen=True)
class DeadLetter:
    queue: str
    key: str  # the message's id inside Redis (unique per enqueue)
    message: Message[Any]
    failed_at: datetime

    @property
    def handler(self) -> str:
        """The subscription (outbox events) or actor (jobs) that gave up."""
        return str(self.message.kwargs.get("handler") or self.message.actor_name)

    @property
    def tenant_id(self) -> int | None:
        return self.message.kwargs.get("tenant_id")

    @property
    def retries(self) -> int:
        return int(self.message.options.get("retries", 0))

    @property
    def error(self) -> str:
        """The last line of the last traceback: usually the exception and its message."""
        lines = [ln for ln in str(self.message.options.get("traceback") or "").splitlines() if ln.strip()]
        return lines[-1].strip() if lines else ""

    def matches(self, ident: str) -> bool:
        return ident in (self.key, self.message.message_id)


def _keys(broker: RedisBroker, queue: str) -> tuple[str, str]:
    dead = f"{broker.namespace}:{q_name(queue)}.XQ"
    return dead, f"{dead}.msgs"


def list_dead_letters(broker: RedisBroker | None = None, queues: Iterable[str] = QUEUES) -> list[DeadLetter]:
    """Oldest first, across ``queues``."""
    broker = broker or get_broker()
    found: list[DeadLetter] = []
    for queue in queues:
        dead, bodies = _keys(broker, queue)
        entries = cast(list[tuple[bytes, float]], broker.client.zrange(dead, 0, -1, withscores=True))
        if not entries:
            continue
        datas = cast(list[bytes | None], broker.client.hmget(bodies, [key for key, _ in entries]))
        for (key, score), data in zip(entries, datas, strict=True):
            if data is None:  # expired between the two reads
                continue
            found.append(
                DeadLetter(
                    queue=queue,
                    key=key.decode(),
                    message=Message.decode(data),
                    failed_at=datetime.fromtimestamp(score / 1000, UTC),
                )
            )
    return sorted(found, key=lambda d: d.failed_at)


def retry_dead_letters(
    idents: Iterable[str] | None = None, *, broker: RedisBroker | None = None, queues: Iterable[str] = QUEUES
) -> list[DeadLetter]:
    """Re-enqueue the dead letters named by ``idents`` (key or message id), or all of them when
    ``idents`` is None. Each one is taken off the dead-letter set *before* it is enqueued, so two
    operators retrying at once cannot both re-enqueue it; a failed enqueue puts it back."""
    broker = broker or get_broker()
    wanted = None if idents is None else set(idents)
    retried: list[DeadLetter] = []
    for letter in list_dead_letters(broker, queues):
        if wanted is not None and not any(letter.matches(i) for i in wanted):
            continue
        dead, bodies = _keys(broker, letter.queue)
        if not broker.client.zrem(dead, letter.key):
            continue  # someone else took it
        fresh = dataclasses.replace(
            letter.message,
            queue_name=q_name(letter.message.queue_name),
            options={k: v for k, v in letter.message.options.items() if k not in _ATTEMPT_OPTIONS},
        )
        try:
            broker.enqueue(fresh)
        except Exception:
            broker.client.zadd(dead, {letter.key: letter.failed_at.timestamp() * 1000})
            raise
        broker.client.hdel(bodies, letter.key)
        retried.append(letter)
    return retried
