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


async def test_revoking_an_api_client_empties_every_process_token_cache(acme):
    """Bearer tokens are cached per process (app/security/api_tokens.py); a revocation committed
    anywhere reaches the cache at once, while the token endpoint's bookkeeping does not flush it."""
    from app.security.api_tokens import TOKEN_CACHE, TokenCache, TokenInfo
    from tests.api.conftest import new_client

    issued = await new_client(acme, ["admin.users.read"])
    cache = TokenCache()
    listener = RegistryListener(cache)
    await listener.start()
    info = TokenInfo(tenant_id=acme.id, client_pk=issued.client.id, client_id="x", scopes=[])
    try:
        assert await _wait_for(lambda: asyncio.sleep(0, cache.listening))
        cache.put("k", info, None)
        async with get_database().engine.begin() as conn:  # what the token endpoint writes on issue
            await conn.execute(
                text("UPDATE public.api_clients SET last_used_at = now() WHERE id = :id"),
                {"id": issued.client.id},
            )
        await asyncio.sleep(0.3)
        assert cache.get("k") == info
        async with get_database().engine.begin() as conn:  # a revocation by another process
            await conn.execute(
                text("UPDATE public.api_clients SET revoked_at = now() WHERE id = :id"),
                {"id": issued.client.id},
            )

        async def emptied() -> bool:
            return cache.get("k") is None

        assert await _wait_for(emptied, within=3.0)
    finally:
        await listener.stop()
    assert cache.listening is False
    assert TOKEN_CACHE is not cache


def test_cached_tokens_never_outlive_the_token():
    import time

    from app.security.api_tokens import TokenCache, TokenInfo

    cache = TokenCache()
    cache.listening = True
    info = TokenInfo(tenant_id=1, client_pk=1, client_id="x", scopes=[])
    cache.put("expired", info, time.time() - 1)
    cache.put("soon", info, time.time() + 0.05)
    cache.put("later", info, time.time() + 3600)
    assert cache.get("expired") is None
    assert cache.get("soon") == info
    time.sleep(0.08)
    assert cache.get("soon") is None
    assert cache.get("later") == info
