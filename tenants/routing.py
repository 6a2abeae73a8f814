"""Host → tenant (PLAT-1): ``<slug>.<base domain>`` and verified custom domains.

Resolution is cached in-process (registry reads would otherwise be the hottest query in the
system). A statement trigger on the registry tables NOTIFYs ``tessera_registry`` at commit;
every web process LISTENs (``RegistryListener``, started with the app) and drops its cache at
once, so entries may live ``LISTENING_TTL`` seconds. Without a working listener (start-up, a
lost connection, tests without the app lifespan) entries live ``FALLBACK_TTL`` seconds, and a
change made in this same process always drops the cache immediately.

Routes declare where they live with ``opt={"host": ...}``: ``"tenant"`` (default — a tenant's
host), ``"platform"`` (the bare base domain: operator console, sign-up) or ``"any"``
(health, static files, the OAuth token endpoint).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Protocol

import asyncpg
import structlog
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy import select

from app.kernel import context
from app.kernel.context import TenantRef
from app.kernel.db import get_database
from app.kernel.errors import DomainError, NotFound
from app.kernel.i18n import lazy
from app.kernel.logging import get_logger
from app.kernel.web import header
from app.security.api_tokens import TOKEN_CACHE
from app.settings import get_settings
from tenants.models import Tenant, TenantDomain

REGISTRY_CHANNEL = "tessera_registry"
FALLBACK_TTL = 5.0
LISTENING_TTL = 300.0  # a safety net only: changes arrive by NOTIFY
log = get_logger("tessera.tenants")


class TenantSuspended(DomainError):
    status = 403
    title = lazy("Organisation suspended")

    def __init__(self) -> None:
        super().__init__(
            "tenant_suspended",
            lazy(
                "This organisation's access is suspended. "
                "Please contact your administrator or Tessera support."
            ),
        )


class UnknownHost(NotFound):
    def __init__(self) -> None:
        super().__init__(lazy("organisation"), code="unknown_tenant")


@dataclass(frozen=True, slots=True)
class HostMatch:
    kind: str  # "tenant" | "platform" | "unknown"
    tenant: TenantRef | None = None


def tenant_ref(t: Tenant) -> TenantRef:
    return TenantRef(
        id=t.id,
        slug=t.slug,
        schema=t.schema_name,
        name=t.name,
        status=t.status,
        locale=t.locale,
        timezone=t.timezone,
        currency=t.currency,
    )


class TenantDirectory:
    def __init__(self) -> None:
        self._by_host: dict[str, tuple[float, HostMatch]] = {}
        self._by_id: dict[int, tuple[float, TenantRef | None]] = {}
        self.listening = False  # set by RegistryListener while its LISTEN connection is healthy

    def invalidate(self) -> None:
        self._by_host.clear()
        self._by_id.clear()

    @property
    def ttl(self) -> float:
        return LISTENING_TTL if self.listening else FALLBACK_TTL

    async def resolve(self, host: str) -> HostMatch:
        now = time.monotonic()
        hit = self._by_host.get(host)
        if hit and hit[0] > now:
            return hit[1]
        match = await self._lookup(host)
        if len(self._by_host) > 50_000:
            self._by_host.clear()
        self._by_host[host] = (now + self.ttl, match)
        return match

    async def by_id(self, tenant_id: int) -> TenantRef | None:
        now = time.monotonic()
        hit = self._by_id.get(tenant_id)
        if hit and hit[0] > now:
            return hit[1]
        async with get_database().shared_session() as s:
            t = await s.get(Tenant, tenant_id)
            ref = tenant_ref(t) if t and t.status != "purged" else None
        self._by_id[tenant_id] = (now + self.ttl, ref)
        return ref

    async def _lookup(self, host: str) -> HostMatch:
        base = get_settings().base_domain
        if host == base:
            return HostMatch("platform")
        async with get_database().shared_session() as s:
            if host.endswith("." + base) and "." not in (label := host[: -len(base) - 1]):
                t = (await s.execute(select(Tenant).where(Tenant.slug == label))).scalar_one_or_none()
            else:
                t = (
                    await s.execute(
                        select(Tenant)
                        .join(TenantDomain, TenantDomain.tenant_id == Tenant.id)
                        .where(TenantDomain.domain == host, TenantDomain.verified_at.is_not(None))
                    )
                ).scalar_one_or_none()
        if t is None or t.status == "purged":
            return HostMatch("unknown")
        return HostMatch("tenant", tenant_ref(t))


directory = TenantDirectory()


class Invalidatable(Protocol):
    listening: bool

    def invalidate(self) -> None: ...


class RegistryListener:
    """Keeps one LISTEN connection per process and empties its caches on every registry change:
    the host directory, and the API token cache (revocations: app/security/api_tokens.py).

    Reconnects with back-off; while disconnected the caches fall back to short-lived entries
    (and empty themselves on reconnect, since notifications may have been missed meanwhile).
    """

    def __init__(self, *caches: Invalidatable) -> None:
        self.caches = caches
        self._task: asyncio.Task[None] | None = None

    def _set_listening(self, on: bool) -> None:
        for cache in self.caches:
            cache.listening = on

    def _invalidate(self, *_: object) -> None:
        for cache in self.caches:
            cache.invalidate()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="tessera-registry-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._set_listening(False)

    async def _run(self) -> None:
        delay = 0.5
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(_dsn(), server_settings={"application_name": "tessera-registry"})
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, ev=lost: ev.set())
                await conn.add_listener(REGISTRY_CHANNEL, self._invalidate)
                self._invalidate()  # anything could have changed while we were not listening
                self._set_listening(True)
                delay = 0.5
                while not lost.is_set():  # a dead TCP peer only shows when we talk to it
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), timeout=15)
                    if not lost.is_set():
                        await conn.execute("SELECT 1")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: fall back, retry
                log.warning("registry listener disconnected", error=repr(exc))
            finally:
                self._set_listening(False)
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=2)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


def _dsn() -> str:
    url = get_settings().database_url or ""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


registry_listener = RegistryListener(directory, TOKEN_CACHE)


def request_host(scope: Scope) -> str:
    raw = (header(scope, b"host") or "").strip().lower()
    if raw.startswith("["):  # IPv6 literal
        return raw.split("]")[0] + "]"
    return raw.rsplit(":", 1)[0] if ":" in raw else raw


def route_host_kind(scope: Scope) -> str:
    handler = scope.get("route_handler")
    return (getattr(handler, "opt", None) or {}).get("host", "tenant")


class TenantMiddleware(ASGIMiddleware):
    """Binds the request to its tenant (or to the platform), or answers 404/403 itself."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        wanted = route_host_kind(scope)
        host = request_host(scope)
        scope["state"]["host"] = host
        match = await directory.resolve(host) if host and host not in _LOOPBACK else HostMatch("unknown")
        if wanted == "any":
            # Health, static files, the token endpoint and the API (whose bearer token names the
            # tenant) work on any host; a live tenant host still binds its tenant.
            if match.tenant is not None and match.tenant.status == "deleted" and not _skips_auth(scope):
                raise UnknownHost()  # a deleted organisation is gone for its API too (PLAT-1)
            if match.tenant is not None and match.tenant.status == "active":
                bind_tenant(scope, match.tenant)
            await next_app(scope, receive, send)
            return
        if match.kind != wanted or match.kind == "unknown":
            raise UnknownHost() if match.kind == "unknown" else NotFound(lazy("page"))
        if match.tenant is not None:
            if match.tenant.status == "deleted":
                raise UnknownHost()
            if match.tenant.status == "suspended":
                raise TenantSuspended()
            bind_tenant(scope, match.tenant)
        await next_app(scope, receive, send)


_LOOPBACK = frozenset({"127.0.0.1", "[::1]"})


def _skips_auth(scope: Scope) -> bool:
    """Health, readiness, metrics and static files answer on every host, whatever its tenant's state."""
    return bool((getattr(scope.get("route_handler"), "opt", None) or {}).get("skip_auth"))


def bind_tenant(scope: Scope, tenant: TenantRef) -> None:
    scope["state"]["tenant"] = tenant
    context.update_context(tenant=tenant)
    structlog.contextvars.bind_contextvars(tenant=tenant.slug)
