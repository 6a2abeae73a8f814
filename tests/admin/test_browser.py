"""The admin portal in a real browser (headless Chromium): the htmx flows work under the portal's
Content-Security-Policy — no inline script — and only the table is swapped.

The app is served by uvicorn on a free local port inside the test's event loop; the browser maps
the test tenants' host names to it.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from tests.admin.support import marker
from tests.helpers import CHROMIUM, needs_chromium
from tests.world import BASE_DOMAIN, PASSWORD

pytestmark = [
    pytest.mark.e2e,
    needs_chromium,
]
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    f"--host-resolver-rules=MAP *.{BASE_DOMAIN} 127.0.0.1",
]


@pytest.fixture(scope="module")
async def port(app) -> AsyncIterator[int]:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    # lifespan off: the app's shutdown would close the database the rest of the session uses.
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", ws="none", log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 — uvicorn exposes a flag, not an event
        await asyncio.sleep(0.02)
    yield sock.getsockname()[1]
    server.should_exit = True
    await task


@pytest.fixture(scope="module")
async def chromium() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def page(chromium, port, acme):
    context = await chromium.new_context()
    page = await context.new_page()
    page.set_default_timeout(10_000)
    base = f"http://{acme.host}:{port}"
    await page.goto(f"{base}/login")
    await page.fill("input[name=email]", acme.email("ada"))
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/")
    page.base = base  # type: ignore[attr-defined]
    yield page
    await context.close()


async def test_invite_form_shows_errors_then_swaps_the_table(page):
    await page.goto(f"{page.base}/admin/invitations")
    await page.fill("#f-email", "alice@acme.example")  # a user already: refused, 422
    await page.check("#invite-form input[value=employee]")
    await page.click("#invite-form button[type=submit]")
    alert = page.locator("#invite-form .alert-error")
    await alert.wait_for()
    assert await alert.inner_text() == "A user with the e-mail alice@acme.example already exists."
    assert await page.locator("#toasts .toast").count() == 0  # a 422 form answer is not a failure
    assert await page.is_checked("#invite-form input[value=employee]")  # what was ticked stays
    email = f"{marker('e2e')}@newhire.example"
    await page.fill("#f-email", email)
    await page.click("#invite-form button[type=submit]")
    sent = page.locator("#invite-form .alert-success")
    await sent.wait_for()
    assert await sent.inner_text() == f"Invitation sent to {email}."
    assert await page.input_value("#f-email") == ""  # the form was reset
    assert await page.locator("#invitations-table tr", has_text=email).count() == 1
    assert page.url == f"{page.base}/admin/invitations"  # no navigation: a partial update


async def test_user_search_swaps_only_the_table_and_keeps_the_url(page):
    from playwright.async_api import expect

    await page.goto(f"{page.base}/admin/users")
    sidebar = await page.locator(".sidebar").element_handle()
    await page.fill("input[name=q]", "alice@acme")
    await expect(page.locator("#users-table tbody tr")).to_have_count(1)
    assert "alice@acme.example" in await page.inner_text("#users-table")
    assert "q=alice%40acme" in page.url  # shareable state
    assert await sidebar.evaluate("el => el.isConnected")  # the layout was not re-rendered
