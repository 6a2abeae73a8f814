"""Helpers shared by the `tessera` command modules (app/cli.py, tenants/cli.py).

Outside the import layers on purpose, like app/embedded.py: it is command-line plumbing.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

T = TypeVar("T")


def services() -> None:
    """Point DATABASE_URL/REDIS_URL somewhere, starting embedded servers when they are unset."""
    from app.embedded import ensure_services

    ensure_services()


def run_async(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run one coroutine and close the process's pools afterwards."""

    async def _wrapped() -> T:
        from app.kernel.db import close_database
        from app.kernel.redis import close_redis

        try:
            return await coro_fn()
        finally:
            await close_database()
            await close_redis()

    return asyncio.run(_wrapped())


def fail(message: str) -> None:
    click.secho(message, fg="red", err=True)
    sys.exit(1)
