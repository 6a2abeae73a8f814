"""Campaigns in the marketing portal: planning, bad input, the campaign page, sending, responses."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.crm.models import Campaign, CampaignRecipient
from app.crm.services import segments
from tests.crm.factories.marketing import add_account, add_contact
from tests.crm.support import acting_as, count_rows, outbox_count
from tests.helpers import signed_in

TABLES = ("crm_campaigns", "crm_campaign_recipients")


async def audience(acme, n: int = 2) -> tuple[int, list[str]]:
    region = f"P-{uuid.uuid4().hex[:8]}"
    emails = [f"p{i}-{region.lower()}@example.com" for i in range(n)]
    async with acting_as(acme, "mia") as (s, mia):
        for i, address in enumerate(emails):
            a = await add_account(s, f"Firm {i} {region}", region=region)
            await add_contact(s, a.id, address, f"Person {i}")
        seg = await segments.create_segment(
            s, mia, {"name": f"Aud {region}", "rules": [{"field": "region", "op": "in", "value": [region]}]}
        )
        await segments.refresh_segment(s, seg.id)
    return seg.id, emails


def plan(segment_id: int | str = "", **changes: str) -> dict[str, str]:
    return {
        "name": f"Spring {uuid.uuid4().hex[:6]}",
        "channel": "email",
        "objective": "Sell the spring range",
        "start_date": "2026-03-01",
        "end_date": "2026-03-31",
        "budget": "5000.00",
        "actual_cost": "1200.50",
        "currency": "CNY",
        "segment_id": str(segment_id),
        "subject": "Spring news for {company}",
        "body": "Hello {name},\n\nSee https://shop.example/spring",
        **changes,
    }


async def counts(acme) -> dict[str, int]:
    return {t: await count_rows(acme, t) for t in TABLES}


async def test_planning_a_campaign(app, acme):
    seg_id, _ = await audience(acme)
    async with signed_in(app, acme, "mia") as b:
        form = await b.get(f"/marketing/campaigns/new?segment_id={seg_id}")
        assert form.status_code == 200
        assert f'<option value="{seg_id}" selected>' in form.text
        data = plan(seg_id)
        r = await b.post("/marketing/campaigns", data)
        assert r.status_code == 303
        async with acting_as(acme, "ada") as (s, _):
            c = (await s.execute(select(Campaign).where(Campaign.name == data["name"]))).scalar_one()
        assert r.headers["location"] == f"/marketing/campaigns/{c.id}"
        assert (c.status, c.segment_id, c.budget, c.actual_cost, c.owner_id) == (
            "planned", seg_id, Decimal("5000.00"), Decimal("1200.50"), acme.users["mia"]
        )  # fmt: skip
        page = await b.get(f"/marketing/campaigns/{c.id}")
        assert page.status_code == 200
        assert "Spring news for Firm 0" in page.text or "Spring news for Firm 1" in page.text
        assert "≈ 2" in page.text
        assert "Send now" in page.text
        preview = await b.htmx(
            "POST", "/marketing/campaigns/preview", {**data, "body": "Hi {name} at {company}"}
        )
        assert re.search(r"Hi Person \d at Firm \d P-", preview.text)
        assert "unsubscribe here:" in preview.text


@pytest.mark.parametrize(
    ("changes", "messages"),
    [
        ({"name": "", "budget": "-5"}, ["This field is required.", "Must be at least 0."]),
        ({"end_date": "2026-02-01"}, ["The end date must not be before the start date."]),
        ({"start_date": "March"}, ["Enter a date as YYYY-MM-DD."]),
        ({"actual_cost": "12.345"}, ["Use at most 2 decimal places."]),
        ({"currency": "yuan"}, ["Use a three-letter currency code (CNY, TWD, USD…)."]),
        ({"channel": "fax"}, ["Choose one of: email, event, advertising, social, other."]),
        ({"segment_id": "999999999"}, ["Choose an existing segment."]),
        ({"segment_id": "abc"}, ["Choose an existing segment."]),
        ({"body": "Hi {first_name}"}, ["Unknown placeholder {first_name}: use {name} or {company}."]),
        ({"owner_id": "999999"}, ["Choose an active colleague."]),
    ],
)
async def test_bad_plans_are_refused_with_the_form_and_nothing_is_saved(app, acme, changes, messages):
    before = await counts(acme)
    async with signed_in(app, acme, "mia") as b:
        await b.get("/marketing/campaigns/new")
        r = await b.post("/marketing/campaigns", plan(**changes))
    assert r.status_code == 422
    for message in messages:
        assert message.replace("{", "{").replace("&", "&amp;") in r.text
    assert "Please correct the highlighted fields." in r.text
    assert await counts(acme) == before


async def test_sending_from_the_campaign_page(app, acme):
    seg_id, emails = await audience(acme, 3)
    async with signed_in(app, acme, "mia") as b:
        await b.get("/marketing/campaigns/new")
        r = await b.post("/marketing/campaigns", plan(seg_id))
        cid = int(r.headers["location"].rsplit("/", 1)[1])
        events = await outbox_count("crm.campaign_send_requested")
        sent = await b.post(f"/marketing/campaigns/{cid}/send")
        assert sent.status_code == 303
        page = await b.get(f"/marketing/campaigns/{cid}")
        assert "Sending to 3 recipients has started." in page.text
        assert '<meta http-equiv="refresh" content="15">' in page.text
        assert all(e in page.text for e in emails)
        again = await b.post(f"/marketing/campaigns/{cid}/send")
        assert again.status_code == 422
        assert "This campaign has already been sent or cancelled." in again.text
    assert await outbox_count("crm.campaign_send_requested") == events + 1
    assert await count_rows(acme, "crm_campaign_recipients", "campaign_id = :c", c=cid) == 3
    # Only people who may send campaigns can: a manager who reads campaigns cannot.
    async with signed_in(app, acme, "sam") as b:
        assert (await b.get(f"/marketing/campaigns/{cid}")).status_code == 200
        assert (await b.post(f"/marketing/campaigns/{cid}/cancel")).status_code == 403


async def test_refused_actions_show_the_page_with_the_reason(app, acme):
    async with signed_in(app, acme, "mia") as b:
        await b.get("/marketing/campaigns/new")
        r = await b.post("/marketing/campaigns", plan("", subject="", body=""))
        cid = int(r.headers["location"].rsplit("/", 1)[1])
        before = await counts(acme)
        page = await b.post(f"/marketing/campaigns/{cid}/send")
        assert page.status_code == 422
        assert "Choose the segment to send to." in page.text
        assert "Write the subject line." in page.text
        early = await b.post(f"/marketing/campaigns/{cid}/schedule", {"scheduled_at": "2020-01-01T09:00"})
        assert early.status_code == 422
        assert "Choose a time in the future." in early.text
        garbled = await b.post(f"/marketing/campaigns/{cid}/schedule", {"scheduled_at": "next week"})
        assert "Enter a date and time." in garbled.text
        done = await b.post(f"/marketing/campaigns/{cid}/complete")
        assert done.status_code == 422
        assert "Only a sent campaign, or one on another channel, can be completed." in done.text
        assert await counts(acme) == before
        planned = await b.post(f"/marketing/campaigns/{cid}/unschedule")
        assert planned.status_code == 422
        assert "Only a scheduled campaign can be unscheduled." in planned.text
        nobody = await b.post(f"/marketing/campaigns/{cid}/responses", {"email": "x@example.com"})
        assert "No recipient of this campaign has this e-mail address." in nobody.text
        assert await counts(acme) == before
        cancelled = await b.post(f"/marketing/campaigns/{cid}/cancel")
        assert cancelled.status_code == 303
        twice = await b.post(f"/marketing/campaigns/{cid}/cancel")
        assert "This campaign can no longer be cancelled." in twice.text


async def test_scheduling_and_content_locked_once_sending(app, acme):
    seg_id, _ = await audience(acme)
    async with signed_in(app, acme, "mia") as b:
        await b.get("/marketing/campaigns/new")
        data = plan(seg_id)
        cid = int((await b.post("/marketing/campaigns", data)).headers["location"].rsplit("/", 1)[1])
        r = await b.post(f"/marketing/campaigns/{cid}/schedule", {"scheduled_at": "2099-06-01T09:30"})
        assert r.status_code == 303
        page = await b.get(f"/marketing/campaigns/{cid}")
        assert "The campaign is scheduled for 1 Jun 2099, 09:30:00." in page.text
        async with acting_as(acme, "ada") as (s, _):
            c = await s.get(Campaign, cid)
            assert c.status == "scheduled"
            assert c.scheduled_at.isoformat() == "2099-06-01T01:30:00+00:00"  # 09:30 in Shanghai
        assert (await b.post(f"/marketing/campaigns/{cid}/unschedule")).status_code == 303
        assert (await b.post(f"/marketing/campaigns/{cid}/send")).status_code == 303
        changed = await b.post(f"/marketing/campaigns/{cid}", {**data, "subject": "Another subject"})
        assert changed.status_code == 422
        assert "This cannot change once sending has started." in changed.text
        cost = await b.post(f"/marketing/campaigns/{cid}", {**data, "actual_cost": "999.00"})
        assert cost.status_code == 303
    async with acting_as(acme, "ada") as (s, _):
        c = await s.get(Campaign, cid)
        assert (c.subject, c.actual_cost) == ("Spring news for {company}", Decimal("999.00"))


async def test_recording_a_response_by_hand(app, acme):
    seg_id, emails = await audience(acme)
    async with signed_in(app, acme, "mia") as b:
        await b.get("/marketing/campaigns/new")
        cid = int((await b.post("/marketing/campaigns", plan(seg_id))).headers["location"].rsplit("/", 1)[1])
        await b.post(f"/marketing/campaigns/{cid}/send")
        unknown = await b.post(f"/marketing/campaigns/{cid}/responses", {"email": "stranger@example.com"})
        assert unknown.status_code == 422
        assert "No recipient of this campaign has this e-mail address." in unknown.text
        invalid = await b.post(f"/marketing/campaigns/{cid}/responses", {"email": "not an address"})
        assert "Enter a valid e-mail address." in invalid.text
        assert (
            await count_rows(
                acme, "crm_campaign_recipients", "responded_at IS NOT NULL AND campaign_id = :c", c=cid
            )
            == 0
        )
        ok = await b.post(f"/marketing/campaigns/{cid}/responses", {"email": emails[1].upper()})
        assert ok.status_code == 303
    async with acting_as(acme, "ada") as (s, _):
        r = CampaignRecipient
        stmt = select(r.email).where(r.campaign_id == cid, r.responded_at.is_not(None))
        got = (await s.execute(stmt)).scalars().all()
    assert got == [emails[1]]


async def test_the_list_compares_campaigns_and_results_explain_themselves(app, acme):
    seg_id, _ = await audience(acme)
    name = f"Compare {uuid.uuid4().hex[:6]}"
    async with signed_in(app, acme, "mia") as b:
        await b.get("/marketing/campaigns/new")
        cid = int(
            (await b.post("/marketing/campaigns", plan(seg_id, name=name)))
            .headers["location"]
            .rsplit("/", 1)[1]
        )
        listing = await b.get(f"/marketing/campaigns?q={name}")
        assert listing.status_code == 200
        row = listing.text.split(f">{name}<", 1)[1].split("</tr>", 1)[0]
        cells = re.findall(r'<td class="num">(.*?)</td>', row, re.S)
        assert [re.sub(r"<[^>]+>|\s+", "", c) for c in cells] == [
            "0", "—", "0", "0", "0", "—", "CN¥0.00CN¥1,200.50", "-100%",
        ]  # fmt: skip
        assert "data-campaign-chart=" in listing.text
        results = await b.get(f"/marketing/campaigns/{cid}/results")
        assert results.status_code == 200
        assert "within 90 days of the conversion" in results.text
        assert '<div class="value roi-down" data-figure="roi">-100%</div>' in results.text
    async with signed_in(app, acme, "sam") as b:
        results = await b.get(f"/marketing/campaigns/{cid}/results")
        assert "your sales-report access covers" in results.text
    async with signed_in(app, acme, "nora") as b:
        assert (await b.get("/marketing/campaigns")).status_code == 403
