"""Leads in a real browser (headless Chromium) under the portal's CSP: the list, the lead page, the
conversion page's account choice (leads.js), the rules page, the web-form admin page's copy
button, and a visitor sending the public form after reading it for a few seconds.

Set TESSERA_SCREENSHOTS=/some/dir to keep screenshots of the pages for a visual review.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app.crm.models import Account, Activity, Lead, WebForm
from tenants.service import in_tenant
from tests.crm.factories.leads import add_lead, add_web_form
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
    "--no-first-run",
    f"--host-resolver-rules=MAP *.{BASE_DOMAIN} 127.0.0.1",
]


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


@pytest.fixture(scope="module")
async def seeded(acme) -> dict[str, int]:
    m = uuid.uuid4().hex[:6]
    async with in_tenant(acme.slug) as (s, _):
        east = acme.teams["East"]
        people = [
            ("王芳", f"上海明辉贸易有限公司 {m}", "采购经理", "web_form", "qualified", 80, "alice"),
            ("Li Lei", "Globe Tea Trading", "Owner", "event", "contacted", 55, "alice"),
            ("陈静", "深圳星河电子", "IT 主管", "referral", "new", 30, None),
            ("Olivia Stone", "Stone & Co", "CFO", "campaign", "disqualified", 10, "sam"),
        ]
        ids: dict[str, int] = {}
        for name, company, title, source, status, score, owner in people:
            lead = await add_lead(
                s, name, company=company, title=title, source=source, status=status, score=score,
                owner_id=acme.users[owner] if owner else None, team_id=east if owner else None,
                phone="+86 21 5555 0100", region="华东",
                email=f"b{len(ids)}{uuid.uuid4().hex[:8]}@example.cn",
                message="需要 100 台 A2 打印机，请报价。" if len(ids) == 0 else "",
                disqualified_reason="No budget this year" if status == "disqualified" else None,
            )  # fmt: skip
            ids[name] = lead.id
        s.add(Activity(kind="call", subject="首次电话沟通", body="Interested; wants a quote by Friday.",
                       direction="out", lead_id=ids["王芳"], user_id=acme.users["alice"]))  # fmt: skip
        s.add(Account(name="上海明辉贸易", owner_id=acme.users["alice"], team_id=east, city="上海"))
        form = await add_web_form(
            s, "Contact us", thank_you_message="Thank you! We will call you back today."
        )
        ids["form"] = form.id
        ids["form_key"] = form.key  # type: ignore[assignment]
        ids["marker"] = m  # type: ignore[assignment]
    return ids


async def signed_in_page(chromium, port, tenant, persona):
    context = await chromium.new_context(viewport={"width": 1440, "height": 900})
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


async def test_list_detail_and_conversion_in_the_browser(chromium, port, acme, seeded):
    from playwright.async_api import expect

    context, page = await signed_in_page(chromium, port, acme, "sam")
    try:
        await page.goto(f"{page.base}/sales/leads")
        await shot(page, "leads-list")
        await page.fill("input[name=q]", str(seeded["marker"]))
        await expect(page.locator("#leads-table tbody tr")).to_have_count(1)
        await page.goto(f"{page.base}/sales/leads/{seeded['王芳']}")
        await expect(page.locator("ol.timeline li")).to_have_count(1)
        await shot(page, "lead-detail")
        await page.goto(f"{page.base}/sales/leads/{seeded['王芳']}/convert")
        existing = page.locator("[data-when=existing]")
        new = page.locator("[data-when=new]")
        await expect(existing).to_be_visible()  # a likely match was found, so "existing" is chosen
        await expect(new).to_be_hidden()
        await shot(page, "lead-convert")
        await page.check("input[name=account_mode][value=new]")
        await expect(new).to_be_visible()
        await expect(existing).to_be_hidden()
        await page.uncheck("input[name=create_opportunity]")
        await expect(page.locator("#opportunity-fields")).to_be_hidden()
        await page.click("form[data-convert] button[type=submit]")
        await page.wait_for_url(f"{page.base}/sales/leads/{seeded['王芳']}")
        await expect(page.locator(".alert-success")).to_contain_text("Converted on")
        await shot(page, "lead-converted")
        await page.goto(f"{page.base}/sales/leads/{seeded['Olivia Stone']}")
        await shot(page, "lead-disqualified")
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        await context.close()
    async with in_tenant(acme.slug) as (s, _):
        assert (await s.get(Lead, seeded["王芳"])).status == "converted"


async def test_admin_pages_in_the_browser(chromium, port, acme, seeded):
    context, page = await signed_in_page(chromium, port, acme, "ada")
    try:
        for path, name in [
            ("/sales/leads/new", "lead-new"),
            ("/sales/leads/import", "lead-import"),
            ("/sales/assignment", "assignment"),
            ("/marketing/forms", "webforms"),
            (f"/marketing/forms/{seeded['form']}", "webform-detail"),
        ]:
            response = await page.goto(f"{page.base}{path}")
            assert response.status == 200, path
            await shot(page, name)
        await context.grant_permissions(["clipboard-read", "clipboard-write"])
        await page.click("[data-copy=snippet-html]")
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        await context.close()


async def test_a_visitor_sends_the_public_form(chromium, port, acme, seeded):
    from playwright.async_api import expect

    context = await chromium.new_context(viewport={"width": 640, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        await page.goto(f"http://{acme.host}:{port}/f/{seeded['form_key']}?utm_source=browser")
        await shot(page, "webform-public")
        await page.fill("#wf-full_name", "Browser Visitor")
        await page.fill("#wf-email", "visitor@example.com")
        await page.fill("#wf-message", "Please send your catalogue.")
        await page.wait_for_timeout(2200)  # people take longer than the anti-bot minimum
        await page.click("button[type=submit]")
        await expect(page.locator(".alert-success")).to_contain_text("We will call you back today.")
        await shot(page, "webform-thanks")
        assert (await context.cookies()) == []
        assert errors == []
    finally:
        await context.close()
    async with in_tenant(acme.slug) as (s, _):
        lead = await s.scalar(select(Lead).where(Lead.full_name == "Browser Visitor"))
        assert (lead.source, lead.source_detail) == ("web_form", "Contact us · browser")
        assert (await s.get(WebForm, seeded["form"])).submissions == 1
