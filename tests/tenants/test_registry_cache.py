"""Host → tenant answers are cached per process; a registry change made anywhere reaches every
process at once through NOTIFY (tenants/routing.py RegistryListener)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from app.kernel.db import get_database
from tenants.routing import FALLBACK_TTL, LISTENING_TTL, RegistryListener, TenantDirectory


async def _wait_for(condition, within: float = 5.0) -> bool:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if await condition():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_change_committed_elsewhere_empties_the_cache_at_once(globex):
    directory = TenantDirectory()
    listener = RegistryListener(directory)
    await listener.start()
    try:
        assert await _wait_for(lambda: asyncio.sleep(0, directory.listening))
        assert directory.ttl == LISTENING_TTL
        host = f"{globex.slug}.tessera.test"
        assert (await directory.resolve(host)).tenant.name == "Globex Ltd"
        # Another process renames the tenant: plain SQL on another connection, no in-process hook.
        async with get_database().engine.begin() as conn:
            await conn.execute(
                text("UPDATE public.tenants SET name = 'Globex Renamed' WHERE id = :id"), {"id": globex.id}
            )

        async def renamed() -> bool:
            return (await directory.resolve(host)).tenant.name == "Globex Renamed"

        assert await _wait_for(renamed, within=3.0)
    finally:
        async with get_database().engine.begin() as conn:
            await conn.execute(
                text("UPDATE public.tenants SET name = 'Globex Ltd' WHERE id = :id"), {"id": globex.id}
            )
        await listener.stop()
    assert directory.listening is False
    assert directory.ttl == FALLBACK_TTL
