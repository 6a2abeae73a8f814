"""Server-side sessions in Redis (PLAT-3).

The browser holds only a random id in a host-only, HttpOnly cookie; Redis holds the data under
the id's SHA-256 (a Redis dump reveals no usable cookie). A session is bound to one host's
tenant — a cookie replayed on another tenant's host is ignored. Log-in *rotates* the id (no
session fixation); log-out deletes it. Sliding expiry: each use pushes the TTL forward.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from app.kernel.redis import get_redis
from app.settings import get_settings

COOKIE_NAME = "tessera_sid"
_PREFIX = "tessera:sess:"
ANONYMOUS_TTL = 2 * 3600


@dataclass
class SessionData:
    id: str
    host: str
    tenant_id: int | None = None
    user_id: int | None = None
    operator_id: int | None = None
    epoch: int = 0
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    created_at: float = field(default_factory=time.time)
    authenticated_at: float | None = None
    locale: str | None = None
    flashes: list[tuple[str, str]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    # not persisted: whether this request changed anything worth writing back
    dirty: bool = field(default=False, compare=False)
    is_new: bool = field(default=False, compare=False)

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None or self.operator_id is not None

    def flash(self, level: str, message: str) -> None:
        self.flashes.append((level, message))
        self.dirty = True

    def pop_flashes(self) -> list[tuple[str, str]]:
        out, self.flashes = self.flashes, []
        if out:
            self.dirty = True
        return out

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.dirty = True

    def pop(self, key: str, default: Any = None) -> Any:
        if key in self.data:
            self.dirty = True
        return self.data.pop(key, default)

    def to_json(self) -> bytes:
        d = asdict(self)
        for transient in ("id", "dirty", "is_new"):
            d.pop(transient)
        return json.dumps(d, separators=(",", ":")).encode()


def _key(sid: str) -> str:
    return _PREFIX + hashlib.sha256(sid.encode()).hexdigest()


def new_session(host: str, tenant_id: int | None) -> SessionData:
    return SessionData(id=secrets.token_urlsafe(32), host=host, tenant_id=tenant_id, dirty=True, is_new=True)


def _ttl(s: SessionData) -> int:
    return get_settings().session_ttl_seconds if s.authenticated else ANONYMOUS_TTL


async def load(sid: str | None, host: str) -> SessionData | None:
    if not sid or len(sid) > 100:
        return None
    raw = await get_redis().get(_key(sid))
    if raw is None:
        return None
    try:
        d = json.loads(raw)
        d["flashes"] = [tuple(f) for f in d.get("flashes", [])]
        session = SessionData(id=sid, **d)
    except (ValueError, TypeError):
        return None
    return session if session.host == host else None


async def save(session: SessionData) -> None:
    await get_redis().set(_key(session.id), session.to_json(), ex=_ttl(session))
    session.dirty = False


async def touch(session: SessionData) -> None:
    await get_redis().expire(_key(session.id), _ttl(session))


async def destroy(session: SessionData) -> None:
    await get_redis().delete(_key(session.id))


async def rotate(session: SessionData) -> SessionData:
    """A fresh id and CSRF token for the same visitor (call at every privilege change)."""
    await destroy(session)
    fresh = new_session(session.host, session.tenant_id)
    fresh.locale = session.locale
    fresh.data = {k: v for k, v in session.data.items() if k in {"next"}}
    return fresh
