"""Clients and small helpers for driving Tessera over HTTP in tests (real app, real servers)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.world import BASE_DOMAIN, PASSWORD, TenantWorld

# The browser tests drive Debian's Chromium; without it they are skipped, and say how to run them.
CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs the system Chromium at /usr/bin/chromium (`apt-get install chromium`; .ci/run does)",
)


@contextmanager
def sql_sent(containing: str | None = None) -> Iterator[list[str]]:
    """The statements the app sends to PostgreSQL while the block runs (every tenant's engine
    included), whitespace folded; only those ``containing`` a text when it is given."""
    from sqlalchemy import event

    from app.kernel.db import get_database

    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if containing is None or containing in statement:
            seen.append(" ".join(statement.split()))

    engine = get_database().engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
BODY_CSRF_RE = re.compile(r'data-csrf="([^"]*)"')


def csrf_from(html: str) -> str:
    m = CSRF_RE.search(html) or BODY_CSRF_RE.search(html)
    assert m, "page has no CSRF token"
    assert m.group(1), "page has an empty CSRF token"
    return m.group(1)


class Browser:
    """A cookie-keeping client on one host that knows the page's CSRF token."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.csrf: str | None = None

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        r = await self.client.get(path, **kw)
        if "text/html" in r.headers.get("content-type", ""):
            m = CSRF_RE.search(r.text) or BODY_CSRF_RE.search(r.text)
            if m and m.group(1):
                self.csrf = m.group(1)
        return r

    async def post(
        self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kw: Any
    ) -> httpx.Response:
        data = dict(data or {})
        if csrf:
            if self.csrf is None:
                await self.get("/login")
            data.setdefault("csrf_token", self.csrf)
        return await self.client.post(path, data=data, **kw)

    async def htmx(self, method: str, path: str, data: dict[str, Any] | None = None) -> httpx.Response:
        headers = {"HX-Request": "true", "X-CSRF-Token": self.csrf or ""}
        return await self.client.request(method, path, data=data, headers=headers)


@asynccontextmanager
async def http(app: Any, host: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}", follow_redirects=False) as c:
        yield c


@asynccontextmanager
async def browser(app: Any, tenant: TenantWorld | str | None = None) -> AsyncIterator[Browser]:
    host = tenant.host if isinstance(tenant, TenantWorld) else (tenant or BASE_DOMAIN)
    async with http(app, host) as c:
        yield Browser(c)


async def login(b: Browser, email: str, password: str = PASSWORD) -> httpx.Response:
    await b.get("/login")
    r = await b.post("/login", {"email": email, "password": password})
    assert r.status_code == 303, (r.status_code, r.text[:500])
    await b.get("/")  # picks up the rotated session's CSRF token
    return r


@asynccontextmanager
async def signed_in(app: Any, tenant: TenantWorld, persona: str) -> AsyncIterator[Browser]:
    async with browser(app, tenant) as b:
        await login(b, tenant.email(persona))
        yield b
