"""The CRM pages with the demo data, as a person on a 1366 px laptop sees them (headless Chromium):
the lists and reports fit their cards — no table scrolled sideways with its last columns out of
sight, as the accounts, orders, deals, forecast, performance, tickets, segment and recipients
tables were before the demo review. Runs on a tenant of its own filled by the CRM demo seeder.

Set TESSERA_SCREENSHOTS=/some/dir to keep screenshots of the pages.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from app.crm.models import Campaign, Segment
from tenants.service import in_tenant
from tests.crm.demo_support import seeded_world_tenant
from tests.crm.test_pipeline_browser import chromium, port, shot  # noqa: F401 — fixtures
from tests.helpers import needs_chromium
from tests.world import PASSWORD

pytestmark = [
    pytest.mark.e2e,
    needs_chromium,
]
# Every table wrapper whose content is wider than the wrapper (it would scroll sideways).
OVERFLOWING = """() => Array.from(document.querySelectorAll('.table-wrap'))
  .filter(w => w.scrollWidth > w.clientWidth + 1)
  .map(w => (w.querySelector('table') || w).id || w.parentElement.id || w.className)"""


@pytest.fixture(scope="module")
async def demo(world):
    tenant: Any = await seeded_world_tenant()
    async with in_tenant(tenant.slug) as (s, _):
        segment = await s.scalar(select(Segment.id).order_by(Segment.id).limit(1))
        campaign = await s.scalar(select(Campaign.id).where(Campaign.status == "sent").limit(1))
    tenant.segment, tenant.campaign = segment, campaign
    return tenant


async def overflowing_tables(chromium, port, tenant, persona, paths):  # noqa: F811
    context = await chromium.new_context(viewport={"width": 1366, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(10_000)
    base = f"http://{tenant.host}:{port}"
    try:
        await page.goto(f"{base}/login")
        await page.fill("input[name=email]", tenant.email(persona))
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{base}/")
        found = {}
        for path in paths:
            response = await page.goto(base + path)
            assert response is not None
            assert response.status == 200, path
            await page.wait_for_load_state("networkidle")
            await shot(page, f"demo-{persona}-{path.strip('/').replace('/', '-')}")
            if wide := await page.evaluate(OVERFLOWING):
                found[path] = wide
        return found
    finally:
        await context.close()


async def test_sales_lists_and_reports_fit_a_laptop_screen(chromium, port, demo):  # noqa: F811
    paths = [
        "/crm/accounts",
        "/sales/orders",
        "/sales/opportunities",
        "/sales/forecast",
        "/sales/performance",
    ]
    assert await overflowing_tables(chromium, port, demo, "alice", paths) == {}
    assert (
        await overflowing_tables(chromium, port, demo, "ada", ["/sales/performance", "/sales/forecast"]) == {}
    )


async def test_service_and_marketing_tables_fit_a_laptop_screen(chromium, port, demo):  # noqa: F811
    assert await overflowing_tables(chromium, port, demo, "sue", ["/service/tickets"]) == {}
    paths = [f"/marketing/segments/{demo.segment}", f"/marketing/campaigns/{demo.campaign}"]
    assert await overflowing_tables(chromium, port, demo, "mia", paths) == {}
