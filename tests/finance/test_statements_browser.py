"""The statement pages in a real browser (headless Chromium): they render under the portal's
Content-Security-Policy without console errors, a figure's link opens its account ledger, the
ledger's voucher opens the entry, and the pages read in 简体中文 for a CAS tenant.

With TESSERA_SCREENSHOTS=<dir> the pages are also saved as PNG files there (to look at them).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.finance.statement_books import cas_books, ifrs_books
from tests.helpers import CHROMIUM, needs_chromium
from tests.tenants.conftest import make_tenant  # noqa: F401  (fixture)
from tests.world import BASE_DOMAIN, PASSWORD

pytestmark = [pytest.mark.e2e, needs_chromium]
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    f"--host-resolver-rules=MAP *.{BASE_DOMAIN} 127.0.0.1",
]
SHOTS = os.environ.get("TESSERA_SCREENSHOTS")


@pytest.fixture(scope="module")
async def port(app) -> AsyncIterator[int]:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
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


async def _signed_in(chromium, port, tenant):
    context = await chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    base = f"http://{tenant.host}:{port}"
    await page.goto(f"{base}/login")
    await page.fill("input[name=email]", tenant.email("ada"))
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/")
    return context, page, base, errors


async def _shot(page, name: str) -> None:
    if SHOTS:  # playwright creates the folder
        await page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


async def test_from_a_figure_to_the_ledger_to_the_entry(chromium, port, make_tenant):  # noqa: F811
    books = await ifrs_books(await make_tenant("fsb"))
    context, page, base, errors = await _signed_in(chromium, port, books.tenant)
    try:
        await page.goto(f"{base}/finance/profit-and-loss?from=2026-01-01&to=2026-03-31&compare=year")
        assert "1,850.00" in await page.inner_text("tr[data-key=net_profit]")
        await _shot(page, "pnl")
        await page.click("#fin-profit-and-loss tr.account >> text=3,000.00")
        await page.wait_for_url("**/ledger?from=2026-01-01&to=2026-03-31")
        assert "Revenue from sales of goods" in await page.inner_text("h1")
        await _shot(page, "ledger")
        await page.click("#fin-account-ledger tbody td.mono a >> nth=0")
        await page.wait_for_url("**/finance/entries/*")
        assert "Invoice #11" in await page.inner_text("#entry-source")
        await page.goto(f"{base}/finance/balance-sheet?as_of=2026-03-31&compare=year_start")
        assert "Balanced" in await page.inner_text("#bs-balanced")
        await _shot(page, "balance-sheet")
        await page.goto(f"{base}/finance/cash-report?from=2026-01-01&to=2026-03-31&compare=previous")
        await _shot(page, "cash-report")
        await page.select_option("#f-compare", "none")
        await page.click("form.statement-filters button[type=submit]")
        await page.wait_for_url("**compare=none**")
        assert await page.locator("#fin-cash-summary th").count() == 2  # line item, amount
    finally:
        await context.close()
    assert errors == []


async def test_a_cas_tenant_reads_its_statements_in_chinese(chromium, port, make_tenant):  # noqa: F811
    books = await cas_books(await make_tenant("fsz", locale="zh_Hans"))
    context, page, base, errors = await _signed_in(chromium, port, books.tenant)
    try:
        await page.goto(f"{base}/finance/profit-and-loss?from=2026-01-01&to=2026-03-31&compare=previous")
        async with page.expect_navigation():
            await page.select_option("#lang-select", "zh_Hans")
        await page.goto(f"{base}/finance/profit-and-loss?from=2026-01-01&to=2026-03-31&compare=previous")
        assert await page.get_attribute("html", "lang") == "zh-Hans"
        assert "管理费用-办公费" in await page.inner_text("#fin-profit-and-loss")
        await _shot(page, "pnl-zh")
        await page.goto(f"{base}/finance/balance-sheet?as_of=2026-03-31&compare=previous")
        assert "应交税费" in await page.inner_text("#fin-balance-sheet")
        await _shot(page, "balance-sheet-zh")
        await page.goto(
            f"{base}/finance/accounts/{books.accounts['1002']}/ledger?from=2026-01-01&to=2026-03-31"
        )
        await _shot(page, "ledger-zh")
    finally:
        await context.close()
    assert errors == []
