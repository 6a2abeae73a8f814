"""Opaque bearer tokens for API clients, kept in Redis (PLAT-9).

A token is random; Redis holds, under its SHA-256, the client, its tenant and its scopes. So a
token carries its tenant by construction: whatever host it is presented on, it resolves to its
own tenant only. Revoking a client deletes all of its live tokens at once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
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


def _key(raw: str) -> str:
    return _TOKEN + hashlib.sha256(raw.encode()).hexdigest()


async def issue(info: TokenInfo, ttl: int = TOKEN_TTL_SECONDS) -> str:
    raw = secrets.token_urlsafe(32)
    key = _key(raw)
    value = json.dumps({"t": info.tenant_id, "c": info.client_pk, "i": info.client_id, "s": info.scopes})
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
    value = await get_redis().get(_key(raw))
    if value is None:
        return None
    d = json.loads(value)
    return TokenInfo(tenant_id=d["t"], client_pk=d["c"], client_id=d["i"], scopes=d["s"])


async def revoke_client(client_pk: int) -> None:
    r = get_redis()
    index = f"{_CLIENT_TOKENS}{client_pk}"
    keys = await r.smembers(index)
    if keys:
        await r.delete(*keys)
    await r.delete(index)
