"""Who is acting, for which tenant, from where — carried through a request, job or CLI command.

Set once at the edge (HTTP middleware, worker actor wrapper, CLI) and read by the audit trail,
structured logs and outbox. Values live in context variables so concurrent requests never mix.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class TenantRef:
    """The registry facts about a tenant that request handling needs (not the ORM row)."""

    id: int
    slug: str
    schema: str
    name: str
    status: str = "active"
    locale: str = "en"
    timezone: str = "UTC"
    currency: str = "CNY"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who causes a change: a user, an API client, the system (jobs) or a platform operator."""

    kind: str  # "user" | "api_client" | "system" | "operator" | "anonymous"
    id: int | None = None
    label: str = ""

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(kind="system", label=label)


ANONYMOUS = Actor(kind="anonymous", label="anonymous")


@dataclass(frozen=True, slots=True)
class RequestContext:
    tenant: TenantRef | None = None
    actor: Actor = ANONYMOUS
    request_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None


_current: ContextVar[RequestContext] = ContextVar(
    "tessera_request_context",
    default=RequestContext(),  # noqa: B039 — frozen dataclass, never mutated
)


def current() -> RequestContext:
    return _current.get()


def current_tenant() -> TenantRef | None:
    return _current.get().tenant


def set_context(ctx: RequestContext) -> None:
    _current.set(ctx)


def update_context(**changes: object) -> RequestContext:
    ctx = replace(_current.get(), **changes)  # type: ignore[arg-type]
    _current.set(ctx)
    return ctx


@contextmanager
def bound(**changes: object) -> Iterator[RequestContext]:
    """Temporarily change the context (a job for one tenant, a CLI command acting as system)."""
    token = _current.set(replace(_current.get(), **changes))  # type: ignore[arg-type]
    try:
        yield _current.get()
    finally:
        _current.reset(token)
