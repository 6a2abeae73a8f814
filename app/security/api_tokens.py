"""Opaque bearer tokens for API clients, kept in Redis (PLAT-9).

A token is random; Redis holds, under its SHA-256, the client, its tenant and its scopes. So a
token carries its tenant by construction: whatever host it is presented on, it resolves to its
own tenant only. Revoking a client deletes all of its live tokens at once.

Resolved tokens are cached in-process (``TOKEN_CACHE``): a Redis round trip on every API call
was the largest single cost of an authenticated request (bench/README.md). Revocation reaches
every process at once: revoking writes ``api_clients.revoked_at``, whose statement trigger
NOTIFYs ``tessera_registry`` at commit, and the registry listener (tenants/routing.py) empties
this cache with the host cache. Entries never outlive their token, and live only
``FALLBACK_TTL`` seconds while no listener is connected — the same rule as the host cache.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass

from app.kernel.redis import get_redis

TOKEN_TTL_SECONDS = 3600
_TOKEN = "tessera:tok:"  # noqa: S105 — a Redis key prefix
_CLIENT_TOKENS = "tessera:client-tokens:"


@dataclass(frozen=True, slots=True)
class TokenInfo:
    tenant_id: int
    client_pk: int
    client_id: str
    scopes: list[str]
    user_id: int | None = None  # the user the client acts for (ApiClient.acting_user_id), if any


class TokenCache:
    """Token hash → (expiry on the monotonic clock, info); emptied by registry notifications."""

    FALLBACK_TTL = 5.0
    LISTENING_TTL = 300.0
    MAX_ENTRIES = 100_000

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, TokenInfo]] = {}
        self.listening = False  # set by the registry listener while its LISTEN connection is healthy

    def get(self, key: str) -> TokenInfo | None:
        hit = self._entries.get(key)
        if hit is None:
            return None
        if hit[0] <= time.monotonic():
            self._entries.pop(key, None)
            return None
        return hit[1]

    def put(self, key: str, info: TokenInfo, token_expires_at: float | None) -> None:
        now = time.monotonic()
        ttl = self.LISTENING_TTL if self.listening else self.FALLBACK_TTL
        if token_expires_at is not None:  # the token's own expiry (wall clock) bounds the entry
            ttl = min(ttl, token_expires_at - time.time())
        if ttl <= 0:
            return
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (now + ttl, info)

    def invalidate(self) -> None:
        self._entries.clear()


TOKEN_CACHE = TokenCache()


def _key(raw: str) -> str:
    return _TOKEN + hashlib.sha256(raw.encode()).hexdigest()


async def issue(info: TokenInfo, ttl: int = TOKEN_TTL_SECONDS) -> str:
    raw = secrets.token_urlsafe(32)
    key = _key(raw)
    value = json.dumps(
        {
            "t": info.tenant_id,
            "c": info.client_pk,
            "i": info.client_id,
            "s": info.scopes,
            "u": info.user_id,
            "x": int(time.time()) + ttl,  # expiry, so a process-local cache never outlives the token
        }
    )
    index = f"{_CLIENT_TOKENS}{info.client_pk}"
    async with get_redis().pipeline(transaction=True) as p:
        p.set(key, value, ex=ttl)
        p.sadd(index, key)
        p.expire(index, ttl)
        await p.execute()
    return raw


async def resolve(raw: str) -> TokenInfo | None:
    if not raw or len(raw) > 200:
        return None
    key = _key(raw)
    if (cached := TOKEN_CACHE.get(key)) is not None:
        return cached
    value = await get_redis().get(key)
    if value is None:
        return None
    d = json.loads(value)
    info = TokenInfo(tenant_id=d["t"], client_pk=d["c"], client_id=d["i"], scopes=d["s"], user_id=d.get("u"))
    TOKEN_CACHE.put(key, info, d.get("x"))
    return info


async def revoke_client(client_pk: int) -> None:
    TOKEN_CACHE.invalidate()  # this process at once; the others when the revocation commits
    r = get_redis()
    index = f"{_CLIENT_TOKENS}{client_pk}"
    keys = await r.smembers(index)
    if keys:
        await r.delete(*keys)
    await r.delete(index)
