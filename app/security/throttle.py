"""Log-in throttling per account and per IP address (PLAT-3).

Fixed windows in Redis: every failed attempt increments ``fail:acct:<tenant>:<email>`` and
``fail:ip:<ip>``; past the limit, attempts are refused *before* the password is checked (so a
locked account cannot be used as a password oracle) with the time left in the window.
A success clears the account counter, not the IP counter.
"""

from __future__ import annotations

import hashlib

from app.kernel.redis import get_redis
from app.security.errors import LoginThrottled
from app.settings import get_settings


def _account_key(tenant_id: int, email: str) -> str:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return f"tessera:fail:acct:{tenant_id}:{digest}"


def _ip_key(ip: str | None) -> str:
    return f"tessera:fail:ip:{ip or 'unknown'}"


async def check(tenant_id: int, email: str, ip: str | None) -> None:
    s = get_settings()
    r = get_redis()
    acct, ipk = _account_key(tenant_id, email), _ip_key(ip)
    async with r.pipeline(transaction=False) as p:
        p.get(acct)
        p.ttl(acct)
        p.get(ipk)
        p.ttl(ipk)
        acct_n, acct_ttl, ip_n, ip_ttl = await p.execute()
    if acct_n is not None and int(acct_n) >= s.login_max_failures_per_account:
        raise LoginThrottled(max(int(acct_ttl), 1))
    if ip_n is not None and int(ip_n) >= s.login_max_failures_per_ip:
        raise LoginThrottled(max(int(ip_ttl), 1))


async def record_failure(tenant_id: int, email: str, ip: str | None) -> None:
    window = get_settings().login_window_seconds
    r = get_redis()
    async with r.pipeline(transaction=True) as p:
        for key in (_account_key(tenant_id, email), _ip_key(ip)):
            # SET NX EX starts the window on the first failure (works on Redis 6 too, unlike EXPIRE NX).
            p.set(key, 0, ex=window, nx=True)
            p.incr(key)
        await p.execute()


async def record_success(tenant_id: int, email: str) -> None:
    await get_redis().delete(_account_key(tenant_id, email))
