"""Driving the operator console over HTTP on the platform host (the bare base domain)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from tests.helpers import Browser, browser
from tests.world import BASE_DOMAIN, PASSWORD


async def operator_login(b: Browser, email: str, password: str = PASSWORD) -> httpx.Response:
    await b.get("/operator/login")
    return await b.post("/operator/login", {"email": email, "password": password})


@asynccontextmanager
async def console(app: Any, email: str) -> AsyncIterator[Browser]:
    async with browser(app, BASE_DOMAIN) as b:
        r = await operator_login(b, email)
        assert r.status_code == 303, (r.status_code, r.text[:500])
        assert (await b.get("/operator")).status_code == 200  # picks up the rotated session's CSRF token
        yield b
