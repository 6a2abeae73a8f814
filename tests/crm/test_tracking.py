"""Tracking links of campaign e-mails (CRM-7): open pixel, signed clicks, RFC 8058 unsubscribe,
responses — and the whole journey through the real relay, worker and SMTP server."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlsplit

from sqlalchemy import select

from app.crm.models import Campaign, CampaignRecipient, EmailSuppression
from app.crm.services import segments, tracking
from portals.marketing.tracking import PIXEL
from tests.crm.factories.marketing import add_account, add_contact
from tests.crm.support import acting_as, count_rows
from tests.crm.test_campaigns_sending import inbox  # noqa: F401 — the SMTP server fixture
from tests.helpers import browser, signed_in
from tests.workers.conftest import relay_all, running_worker

ORIGIN = "http://acme.tessera.test"


async def new_recipient(acme, locale: str = "en") -> CampaignRecipient:
    async with acting_as(acme, "ada") as (s, _):
        c = Campaign(name=f"Track {uuid.uuid4().hex[:6]}", currency="CNY", status="sent")
        s.add(c)
        await s.flush()
        r = CampaignRecipient(
            campaign_id=c.id, email=f"Reader-{uuid.uuid4().hex[:8]}@Example.com", name="Reader",
            token=uuid.uuid4().hex + uuid.uuid4().hex[:11], status="sent", locale=locale,
        )  # fmt: skip
        s.add(r)
        await s.flush()
        return r


async def reload(acme, recipient_id: int) -> CampaignRecipient:
    async with acting_as(acme, "ada") as (s, _):
        r = await s.get(CampaignRecipient, recipient_id)
        assert r is not None
        return r


async def test_the_open_pixel_records_the_first_open(app, acme):
    r = await new_recipient(acme)
    async with browser(app, acme) as b:
        first = await b.get(f"/t/o/{r.token}.gif")
        assert first.status_code == 200
        assert first.headers["content-type"] == "image/gif"
        assert first.headers["cache-control"] == "no-store"
        assert "set-cookie" not in first.headers
        assert first.content == PIXEL
        opened = (await reload(acme, r.id)).opened_at
        assert opened is not None
        await asyncio.sleep(0.01)
        assert (await b.get(f"/t/o/{r.token}.gif")).status_code == 200
        assert (await reload(acme, r.id)).opened_at == opened
        for path in (f"/t/o/{r.token[:-1]}x.gif", "/t/o/short.gif", f"/t/o/{r.token}.png", f"/t/o/{r.token}"):
            assert (await b.get(path)).status_code == 404, path


async def test_clicks_redirect_only_to_signed_urls(app, acme):
    r = await new_recipient(acme)
    target = "https://shop.example/offer?id=7&src=mail"
    link = urlsplit(tracking.click_url(ORIGIN, r.token, target))
    async with browser(app, acme) as b:
        forged = link.query.replace("offer", "evil")
        for bad in (
            f"{link.path}?{forged}",
            f"{link.path}?u=https%3A%2F%2Fevil.example",
            f"/t/c/{uuid.uuid4().hex + uuid.uuid4().hex[:11]}?{link.query}",
            f"/t/c/{r.token}?u=javascript%3Aalert(1)&s={tracking.link_signature('javascript:alert(1)')}",
        ):
            assert (await b.get(bad)).status_code == 404, bad
        assert (await reload(acme, r.id)).clicked_at is None
        ok = await b.get(f"{link.path}?{link.query}")
    assert ok.status_code == 302
    assert ok.headers["location"] == target
    after = await reload(acme, r.id)
    assert after.clicked_at is not None
    assert after.opened_at == after.clicked_at  # a click is also an open


async def test_unsubscribe_page_and_one_click(app, acme):
    r = await new_recipient(acme, locale="zh_Hans")
    address = r.email.lower()
    async with browser(app, acme) as b:
        page = await b.get(f"/u/{r.token}")
        assert page.status_code == 200
        assert '<html lang="zh-Hans">' in page.text
        assert r.email in page.text
        assert f'action="/u/{r.token}"' in page.text
        assert page.headers["cache-control"] == "no-store"
    assert await count_rows(acme, "crm_email_suppressions", "email = :e", e=address) == 0
    # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click" — no cookie, no CSRF token.
    async with browser(app, acme) as client:
        for _ in range(2):
            done = await client.post(f"/u/{r.token}", {"List-Unsubscribe": "One-Click"}, csrf=False)
            assert done.status_code == 200
    async with acting_as(acme, "ada") as (s, _):
        row = await s.get(EmailSuppression, address)
        assert row is not None
        assert (row.reason, row.campaign_id) == ("unsubscribed", r.campaign_id)
    assert (await reload(acme, r.id)).unsubscribed_at is not None
    async with browser(app, acme) as b:
        again = await b.get(f"/u/{r.token}")
        assert "data-done" in again.text
        fake = uuid.uuid4().hex + uuid.uuid4().hex[:11]
        assert (await b.get(f"/u/{fake}")).status_code == 404
        assert (await b.post(f"/u/{fake}", {"List-Unsubscribe": "One-Click"}, csrf=False)).status_code == 404


async def test_record_response_for_web_forms(acme):
    r = await new_recipient(acme)
    async with acting_as(acme, "ada") as (s, _):
        found = await tracking.record_response(s, r.token)
        assert found is not None
        assert (found.id, found.campaign_id) == (r.id, r.campaign_id)
        assert await tracking.record_response(s, uuid.uuid4().hex + uuid.uuid4().hex[:11]) is None
        assert await tracking.record_response(s, "not-a-token") is None
    assert (await reload(acme, r.id)).responded_at is not None


async def test_the_whole_journey_through_relay_worker_and_smtp(app, acme, inbox):  # noqa: F811
    region = f"J-{uuid.uuid4().hex[:8]}"
    address = f"journey-{region.lower()}@example.com"
    async with acting_as(acme, "mia") as (s, mia):
        a = await add_account(s, f"Journey {region}", region=region)
        await add_contact(s, a.id, address, "Jo Journey")
        seg = await segments.create_segment(
            s,
            mia,
            {"name": f"Journey {region}", "rules": [{"field": "region", "op": "in", "value": [region]}]},
        )
    async with running_worker():
        await relay_all()  # the segment's refresh
        async with signed_in(app, acme, "mia") as b:
            await b.get("/marketing/campaigns/new")
            r = await b.post(
                "/marketing/campaigns",
                {"name": f"Journey {region}", "segment_id": str(seg.id), "subject": "Hi {name}",
                 "body": "Look: https://shop.example/journey"},
            )  # fmt: skip
            cid = int(r.headers["location"].rsplit("/", 1)[1])
            for _ in range(40):  # the segment refresh may still be on its way
                sent = await b.post(f"/marketing/campaigns/{cid}/send")
                if sent.status_code == 303:
                    break
                await relay_all()
                await asyncio.sleep(0.25)
            assert sent.status_code == 303
        status = ""
        for _ in range(80):
            await relay_all()
            async with acting_as(acme, "ada") as (s, _):
                status = (await s.get(Campaign, cid)).status  # type: ignore[union-attr]
            if status == "sent":
                break
            await asyncio.sleep(0.25)
        assert status == "sent"
    [msg] = inbox.to(address)
    assert msg["Subject"] == "Hi Jo Journey"
    html = msg.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    pixel = urlsplit(html.split('<img src="', 1)[1].split('"', 1)[0])
    click = urlsplit(html.split('<a href="', 1)[1].split('"', 1)[0].replace("&amp;", "&"))
    unsubscribe = urlsplit(msg["List-Unsubscribe"].strip().strip("<>"))
    async with browser(app, acme) as reader:
        assert (await reader.get(pixel.path)).status_code == 200
        assert (await reader.get(f"{click.path}?{click.query}")).headers[
            "location"
        ] == "https://shop.example/journey"
        assert (
            await reader.post(unsubscribe.path, {"List-Unsubscribe": "One-Click"}, csrf=False)
        ).status_code == 200
    async with signed_in(app, acme, "mia") as b:
        results = await b.get(f"/marketing/campaigns/{cid}/results")
    figures = {
        key: results.text.split(f'data-figure="{key}">', 1)[1].split("<", 1)[0]
        for key in ("recipients", "delivered", "open_rate", "ctr")
    }
    assert figures == {"recipients": "1", "delivered": "1", "open_rate": "100.0%", "ctr": "100.0%"}
    assert "1 unsubscribed" in results.text
    async with acting_as(acme, "ada") as (s, _):
        row = (
            await s.execute(select(CampaignRecipient).where(CampaignRecipient.campaign_id == cid))
        ).scalar_one()
        assert (row.status, row.opened_at is not None, row.clicked_at is not None) == ("sent", True, True)
