"""The pipeline in a real browser (headless Chromium): a card dragged to another column and within
its column under the portal's CSP (board.js, no inline script), the lost-reason dialog, and the
charts drawn by charts.js. Runs on a tenant of its own with a seeded pipeline.

Set TESSERA_SCREENSHOTS=/some/dir to keep screenshots of the pages for a visual review.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app.crm.models import Opportunity
from tests.admin.support import one
from tests.crm.factories.pipeline import private_tenant, seed_pipeline, stage_ids
from tests.helpers import CHROMIUM, needs_chromium
from tests.world import BASE_DOMAIN, PASSWORD

SHOTS = os.environ.get("TESSERA_SCREENSHOTS")

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
async def umbra(world):
    tenant = await private_tenant("umbra")
    tenant.deals = await seed_pipeline(tenant)  # type: ignore[attr-defined]
    return tenant


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


async def signed_in_page(chromium, port, tenant, persona):
    context = await chromium.new_context(viewport={"width": 1920, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    base = f"http://{tenant.host}:{port}"
    await page.goto(f"{base}/login")
    await page.fill("input[name=email]", tenant.email(persona))
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/")
    page.base = base  # type: ignore[attr-defined]
    page.errors = errors  # type: ignore[attr-defined]
    return context, page


async def shot(page, name: str) -> None:
    if SHOTS:
        await asyncio.to_thread(Path(SHOTS).mkdir, parents=True, exist_ok=True)
        await page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


async def _stage_of(tenant, opp_id: int) -> int:
    return int(await one(tenant, select(Opportunity.stage_id).where(Opportunity.id == opp_id)))


async def test_drag_a_card_to_another_stage_and_within_its_column(chromium, port, umbra):
    from playwright.async_api import expect

    stages = await stage_ids(umbra)
    deal = umbra.deals["Point-of-sale refresh"]  # alice's, in Prospecting
    context, page = await signed_in_page(chromium, port, umbra, "alice")
    try:
        await page.goto(f"{page.base}/sales/pipeline")
        await shot(page, "board-alice")
        card = page.locator(f'.board-card[data-card-id="{deal}"]')
        proposal = page.locator(f"#col-{stages['proposal']}")
        await expect(proposal.locator(".board-count")).to_have_text("1")
        await card.drag_to(proposal.locator(".board-cards"))
        moved = proposal.locator(f'.board-card[data-card-id="{deal}"]')
        await expect(moved).to_be_visible()
        await expect(proposal.locator(".board-count")).to_have_text("2")
        await expect(page.locator(f"#col-{stages['prospecting']} .board-count")).to_have_text("1")
        assert await _stage_of(umbra, deal) == stages["proposal"]

        # Within the column: drop the first card below the second one.
        names = proposal.locator(".board-card .card-name")
        first, second = await names.nth(0).inner_text(), await names.nth(1).inner_text()
        box = await proposal.locator(".board-card").nth(1).bounding_box()
        await (
            proposal.locator(".board-card")
            .nth(0)
            .drag_to(
                proposal.locator(".board-card").nth(1), target_position={"x": 20, "y": box["height"] - 4}
            )
        )
        await expect(names.nth(0)).to_have_text(second)
        await expect(names.nth(1)).to_have_text(first)
        await page.reload()  # the order is stored, not just shown
        await expect(page.locator(f"#col-{stages['proposal']} .board-card .card-name").nth(0)).to_have_text(
            second
        )
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        await context.close()


async def test_dropping_on_lost_asks_why_and_cancel_changes_nothing(chromium, port, umbra):
    from playwright.async_api import expect

    stages = await stage_ids(umbra)
    deal = umbra.deals["Service contract 2027"]
    context, page = await signed_in_page(chromium, port, umbra, "alice")
    try:
        await page.goto(f"{page.base}/sales/pipeline")
        card = page.locator(f'.board-card[data-card-id="{deal}"]')
        lost = page.locator(f"#col-{stages['lost']} .board-cards")
        await card.drag_to(lost)
        dialog = page.locator("#lost-dialog")
        await expect(dialog).to_be_visible()
        await shot(page, "board-lost-dialog")
        await dialog.locator("[data-dialog-cancel]").click()
        await expect(dialog).to_be_hidden()
        assert await _stage_of(umbra, deal) == stages["needs_analysis"]

        await card.drag_to(lost)
        await page.fill("#lost-reason-input", "Budget frozen until 2028")
        await dialog.locator("button[type=submit]").click()
        await expect(
            page.locator(f'#col-{stages["lost"]} .board-card[data-card-id="{deal}"]')
        ).to_be_visible()
        reason = await one(umbra, select(Opportunity.lost_reason).where(Opportunity.id == deal))
        assert reason == "Budget frozen until 2028"
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        await context.close()


async def test_keyboard_moves_a_card_to_the_next_stage(chromium, port, umbra):
    from playwright.async_api import expect

    stages = await stage_ids(umbra)
    deal = umbra.deals["Lab printers, phase 2"]  # Qualification
    context, page = await signed_in_page(chromium, port, umbra, "alice")
    try:
        await page.goto(f"{page.base}/sales/pipeline")
        await page.locator(f'.board-card[data-card-id="{deal}"]').focus()
        await page.keyboard.press("Shift+ArrowRight")
        moved = page.locator(f'#col-{stages["needs_analysis"]} .board-card[data-card-id="{deal}"]')
        await expect(moved).to_be_focused()
        assert await _stage_of(umbra, deal) == stages["needs_analysis"]
    finally:
        await context.close()


async def test_report_pages_draw_their_charts(chromium, port, umbra):
    from playwright.async_api import expect

    context, page = await signed_in_page(chromium, port, umbra, "ada")
    try:
        for path, charts in (("/sales/forecast", 1), ("/sales/performance", 3)):
            await page.goto(f"{page.base}{path}")
            await expect(page.locator("canvas[data-chart-ready]")).to_have_count(charts)
            await shot(page, path.rsplit("/", 1)[-1])
        opp = umbra.deals["100 台 A2 打印机"]
        for path in (
            f"/sales/opportunities/{opp}",
            f"/sales/opportunities/{opp}/edit",
            "/sales/opportunities",
            "/sales/opportunities/new",
            "/sales/stages",
            "/sales/pipeline",
        ):
            await page.goto(f"{page.base}{path}")
            await shot(page, path.strip("/").replace("/", "-"))
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        await context.close()
