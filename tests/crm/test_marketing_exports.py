"""CSV exports of the marketing lists: campaigns, a campaign's recipients, segments, web forms.

Each export is the list as it is filtered, searched and sorted, under the same record rules."""

from __future__ import annotations

import csv
import html
import io
import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx

from app.crm.models import Campaign, CampaignRecipient, Lead, Segment, WebForm
from tests.crm.factories.marketing import add_account, add_order
from tests.crm.support import acting_as
from tests.helpers import signed_in

CAMPAIGN_HEADER = [
    "ID", "Campaign", "Status", "Channel", "Segment", "Start date", "End date", "Currency", "Budget",
    "Actual cost", "Recipients", "Delivered", "Opened", "Clicked", "Open rate (%)", "Click rate, CTR (%)",
    "Responses", "New leads", "New customers", "Conversion rate (%)", "Attributed revenue", "ROI (%)",
]  # fmt: skip
RECIPIENT_HEADER = [
    "E-mail",
    "Name",
    "Status",
    "Sent",
    "Opened",
    "Clicked",
    "Responded",
    "Unsubscribed",
    "Error",
]
SEGMENT_HEADER = ["ID", "Segment", "Description", "Conditions", "Accounts", "Last counted"]
FORM_HEADER = ["ID", "Form", "Form address", "Source", "Campaign", "Submissions", "Status"]


def mark() -> str:
    return uuid.uuid4().hex[:10]


def table(r: httpx.Response) -> list[list[str]]:
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith("attachment;")
    return list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))


def at(hour: int, day: int = 2) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=UTC)


def token() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex[:11]


# --- campaigns -----------------------------------------------------------------------------------


async def _campaigns(acme, m: str) -> dict[str, int]:
    """Alpha (e-mail, sent, with recipients and a lead each from East and West), Beta (an event,
    planned), Gamma (e-mail, cancelled); all named "Exp <m> …"."""
    async with acting_as(acme, "ada") as (s, _):
        seg = Segment(name=f"Seg {m}", rules=[])
        s.add(seg)
        await s.flush()
        alpha = Campaign(
            name=f"Exp {m} Alpha", channel="email", status="sent", currency="CNY", segment_id=seg.id,
            start_date=date(2026, 3, 1), end_date=date(2026, 3, 31),
            budget=Decimal("5000.00"), actual_cost=Decimal("1000.00"),
        )  # fmt: skip
        beta = Campaign(
            name=f"Exp {m} Beta", channel="event", status="planned", currency="CNY",
            start_date=date(2026, 2, 1), budget=Decimal("800.50"),
        )  # fmt: skip
        gamma = Campaign(name=f"Exp {m} Gamma", channel="email", status="cancelled", currency="CNY")
        s.add_all([alpha, beta, gamma])
        await s.flush()

        def recipient(n: int, status: str, **stamps: datetime) -> CampaignRecipient:
            return CampaignRecipient(
                campaign_id=alpha.id, email=f"r{n}-{m}@example.com", name=f"R{n}", token=token(),
                status=status, **stamps,
            )  # fmt: skip

        s.add_all(
            [
                recipient(1, "sent", sent_at=at(1), opened_at=at(2), clicked_at=at(3), responded_at=at(4)),
                recipient(2, "sent", sent_at=at(1), opened_at=at(5)),
                recipient(3, "sent", sent_at=at(1)),
                recipient(4, "failed"),
            ]
        )
        east = {"owner_id": acme.users["alice"], "team_id": acme.teams["East"]}
        west = {"owner_id": acme.users["dave"], "team_id": acme.teams["West"]}
        # East's lead became a customer who ordered within the 90 days: revenue and a new customer.
        customer = await add_account(s, f"Customer {m}", **east)
        await add_order(s, customer.id, "1250.00", date(2026, 3, 5), **east)
        s.add(
            Lead(
                full_name=f"Lead East {m}", campaign_id=alpha.id, source="campaign", status="converted",
                converted_account_id=customer.id, converted_at=at(6), **east,
            )
        )  # fmt: skip
        s.add(Lead(full_name=f"Lead West {m}", campaign_id=alpha.id, source="campaign", **west))
        await s.flush()
        return {"Alpha": alpha.id, "Beta": beta.id, "Gamma": gamma.id, "segment": seg.id}


def _listed_names(page: httpx.Response, m: str) -> list[str]:
    assert page.status_code == 200
    return re.findall(rf"<strong>(Exp {m} \w+)</strong>", page.text)


async def test_campaign_export_is_the_list_with_its_figures(app, acme):
    m = mark()
    ids = await _campaigns(acme, m)
    async with signed_in(app, acme, "mia") as b:
        rows = table(await b.get(f"/marketing/campaigns/export.csv?q=Exp+{m}"))
        assert rows[0] == CAMPAIGN_HEADER
        names = [r[1] for r in rows[1:]]
        # The list's default order (start date, newest first; none last) and its rows.
        assert names == [f"Exp {m} Alpha", f"Exp {m} Beta", f"Exp {m} Gamma"]
        assert names == _listed_names(await b.get(f"/marketing/campaigns?q=Exp+{m}&per_page=100"), m)
        alpha, beta, gamma = rows[1:]
        assert alpha == [
            str(ids["Alpha"]), f"Exp {m} Alpha", "Sent", "E-mail", f"Seg {m}", "2026-03-01", "2026-03-31",
            "CNY", "5000.00", "1000.00", "4", "3", "2", "1", "66.7", "33.3", "1", "2", "1", "33.3",
            "1250.00", "25.0",
        ]  # fmt: skip
        # Not an e-mail campaign: no recipients or rates, as the list shows "—"; no cost, no ROI.
        assert beta == [
            str(ids["Beta"]), f"Exp {m} Beta", "Planned", "Event", "", "2026-02-01", "", "CNY", "800.50",
            "0.00", "", "", "", "", "", "", "0", "0", "0", "", "0.00", "",
        ]  # fmt: skip
        assert gamma[4:8] == ["", "", "", "CNY"]
        assert gamma[10:16] == ["0", "0", "0", "0", "", ""]

        # Filters and sort narrow and order the export as they do the list.
        sent = table(await b.get(f"/marketing/campaigns/export.csv?q=Exp+{m}&f_status=sent"))
        assert [r[1] for r in sent[1:]] == [f"Exp {m} Alpha"]
        event = table(await b.get(f"/marketing/campaigns/export.csv?q=Exp+{m}&f_channel=event"))
        assert [r[1] for r in event[1:]] == [f"Exp {m} Beta"]
        query = f"q=Exp+{m}&sort=name&dir=desc"
        by_name = table(await b.get(f"/marketing/campaigns/export.csv?{query}"))
        assert [r[1] for r in by_name[1:]] == [f"Exp {m} Gamma", f"Exp {m} Beta", f"Exp {m} Alpha"]
        assert [r[1] for r in by_name[1:]] == _listed_names(await b.get(f"/marketing/campaigns?{query}"), m)

        # The list links to the export with its current search, filters and sort.
        page = await b.get(f"/marketing/campaigns?q=Exp+{m}&f_status=sent")
        link = re.search(r'href="([^"]*)" id="campaigns-export"', page.text)
        assert link is not None
        href = html.unescape(link.group(1))
        assert href.startswith("/marketing/campaigns/export.csv?")
        assert f"q=Exp+{m}" in href
        assert "f_status=sent" in href
        assert [r[1] for r in table(await b.get(href))[1:]] == [f"Exp {m} Alpha"]

    # Leads follow the reader's report scope, as on the list: sam (East) counts the East lead only.
    async with signed_in(app, acme, "sam") as b:
        rows = table(await b.get(f"/marketing/campaigns/export.csv?q=Exp+{m}&f_status=sent"))
        assert rows[1][CAMPAIGN_HEADER.index("New leads")] == "1"
        assert rows[1][CAMPAIGN_HEADER.index("Attributed revenue")] == "1250.00"  # East's order
    async with signed_in(app, acme, "alice") as b:  # a sales rep does not read campaigns
        assert (await b.get("/marketing/campaigns/export.csv")).status_code == 403


# --- a campaign's recipients ---------------------------------------------------------------------


async def _recipients_campaign(acme, m: str) -> int:
    """Recipients of accounts in East (a, c) and West (b), and one without an account (d)."""
    async with acting_as(acme, "ada") as (s, _):
        east = await add_account(s, f"East {m}", owner_id=acme.users["alice"], team_id=acme.teams["East"])
        west = await add_account(s, f"West {m}", owner_id=acme.users["dave"], team_id=acme.teams["West"])
        c = Campaign(name=f"Rcp {m}", channel="email", status="sent", currency="CNY")
        s.add(c)
        await s.flush()
        s.add_all(
            [
                CampaignRecipient(
                    campaign_id=c.id, account_id=east.id, email=f"a-{m}@example.com", name="Ann",
                    token=token(), status="sent", sent_at=at(1), opened_at=at(2), clicked_at=at(3),
                    responded_at=at(4), unsubscribed_at=at(5),
                ),
                CampaignRecipient(
                    campaign_id=c.id, account_id=west.id, email=f"b-{m}@example.com", name="=Bob",
                    token=token(), status="failed", error="550 mailbox unavailable",
                ),
                CampaignRecipient(
                    campaign_id=c.id, account_id=east.id, email=f"c-{m}@example.com", name="Cem",
                    token=token(), status="sent", sent_at=at(1),
                ),
                CampaignRecipient(
                    campaign_id=c.id, account_id=None, email=f"d-{m}@example.com", name="Dee",
                    token=token(), status="skipped",
                ),
            ]
        )  # fmt: skip
        await s.flush()
        return c.id


def _listed_emails(page: httpx.Response, m: str) -> list[str]:
    assert page.status_code == 200
    return re.findall(rf">(\w-{m}@example\.com)<", page.text)


async def test_recipient_export_is_the_table_under_its_filters_and_record_rules(app, acme):
    m = mark()
    cid = await _recipients_campaign(acme, m)
    base = f"/marketing/campaigns/{cid}"
    async with signed_in(app, acme, "mia") as b:
        rows = table(await b.get(f"{base}/recipients.csv"))
        assert rows[0] == RECIPIENT_HEADER
        emails = [r[0] for r in rows[1:]]
        assert emails == [f"{x}-{m}@example.com" for x in "abcd"]
        assert emails == _listed_emails(await b.get(f"{base}?per_page=100"), m)
        ann, bob, _, dee = rows[1:]
        assert ann[:3] == [f"a-{m}@example.com", "Ann", "Delivered"]
        stamps = ann[3:8]
        assert all(s.endswith("+08:00") for s in stamps)  # the reader's (acme's) time zone
        assert [datetime.fromisoformat(s) for s in stamps] == [at(h) for h in (1, 2, 3, 4, 5)]
        assert stamps[0] == "2026-03-02T09:00:00+08:00"
        assert bob == [f"b-{m}@example.com", "'=Bob", "Failed", "", "", "", "", "", "550 mailbox unavailable"]
        assert dee[2] == "Skipped"

        # The table's filters, search and sort apply to the export.
        sent = table(await b.get(f"{base}/recipients.csv?f_status=sent"))
        assert [r[0] for r in sent[1:]] == [f"a-{m}@example.com", f"c-{m}@example.com"]
        opened = table(await b.get(f"{base}/recipients.csv?f_activity=opened"))
        assert [r[0] for r in opened[1:]] == [f"a-{m}@example.com"]
        found = table(await b.get(f"{base}/recipients.csv?q=cem"))
        assert [r[0] for r in found[1:]] == [f"c-{m}@example.com"]
        desc = table(await b.get(f"{base}/recipients.csv?sort=email&dir=desc"))
        assert [r[0] for r in desc[1:]] == [f"{x}-{m}@example.com" for x in "dcba"]

        # The page links to the export with the table's current filters.
        page = await b.get(f"{base}?f_status=sent")
        link = re.search(r'href="([^"]*)" id="recipients-export"', page.text)
        assert link is not None
        href = html.unescape(link.group(1))
        assert href.startswith(f"{base}/recipients.csv?")
        assert "f_status=sent" in href
        assert [r[0] for r in table(await b.get(href))[1:]] == [f"a-{m}@example.com", f"c-{m}@example.com"]

    # sam sees East's accounts only: the page and the export leave out West's and the account-less.
    async with signed_in(app, acme, "sam") as b:
        rows = table(await b.get(f"{base}/recipients.csv"))
        assert [r[0] for r in rows[1:]] == [f"a-{m}@example.com", f"c-{m}@example.com"]
        assert [r[0] for r in rows[1:]] == _listed_emails(await b.get(base), m)
    async with signed_in(app, acme, "alice") as b:
        assert (await b.get(f"{base}/recipients.csv")).status_code == 403
    async with signed_in(app, acme, "mia") as b:
        assert (await b.get("/marketing/campaigns/999999999/recipients.csv")).status_code == 404


# --- segments ------------------------------------------------------------------------------------


async def test_segment_list_export(app, acme):
    m = mark()
    async with acting_as(acme, "ada") as (s, _):
        ruled = Segment(
            name=f"Seg {m} ruled", description=f"About {m}", match="any",
            rules=[{"field": "region", "op": "in", "value": [f"R{m}"]}],
            member_count=7, refreshed_at=at(4), refresh_ms=12,
        )  # fmt: skip
        everyone = Segment(name=f"Seg {m} everyone", rules=[])
        s.add_all([ruled, everyone])
        await s.flush()
        ids = (ruled.id, everyone.id)
    async with signed_in(app, acme, "mia") as b:
        rows = table(await b.get("/marketing/segments/export.csv"))
        page = await b.get("/marketing/segments")
        assert rows[0] == SEGMENT_HEADER
        # Every segment the list shows, in its order.
        assert [r[0] for r in rows[1:]] == re.findall(
            r'<a href="/marketing/segments/(\d+)"><strong>', page.text
        )
        mine = {int(r[0]): r for r in rows[1:] if m in r[1]}
        assert mine.keys() == set(ids)
        ruled_row, everyone_row = mine[ids[0]], mine[ids[1]]
        assert ruled_row[1:3] == [f"Seg {m} ruled", f"About {m}"]
        assert ruled_row[3].startswith("any of: ")
        assert f"R{m}" in ruled_row[3]
        assert ruled_row[4:] == ["7", "2026-03-02T12:00:00+08:00"]
        assert everyone_row[1:] == [f"Seg {m} everyone", "", "Every account", "0", ""]
        assert 'href="/marketing/segments/export.csv" id="segments-export"' in page.text
    async with signed_in(app, acme, "alice") as b:
        assert (await b.get("/marketing/segments/export.csv")).status_code == 403


# --- web forms -----------------------------------------------------------------------------------


async def test_web_form_list_export(app, acme):
    m = mark()
    async with acting_as(acme, "ada") as (s, _):
        c = Campaign(name=f"Form campaign {m}", channel="email", status="planned", currency="CNY")
        s.add(c)
        await s.flush()
        on = WebForm(key=f"on-{m}", name=f"Form {m} on", source="web_form", campaign_id=c.id, submissions=3)
        off = WebForm(key=f"off-{m}", name=f"Form {m} off", source="event", active=False)
        s.add_all([on, off])
        await s.flush()
        ids = (on.id, off.id)
    async with signed_in(app, acme, "mia") as b:
        rows = table(await b.get("/marketing/forms/export.csv"))
        page = await b.get("/marketing/forms")
        assert rows[0] == FORM_HEADER
        assert [r[0] for r in rows[1:]] == re.findall(r'<a href="/marketing/forms/(\d+)"><strong>', page.text)
        mine = {int(r[0]): r for r in rows[1:] if m in r[1]}
        assert mine.keys() == set(ids)
        on_row, off_row = mine[ids[0]], mine[ids[1]]
        assert on_row[1] == f"Form {m} on"
        assert on_row[2].startswith("http")
        assert on_row[2].endswith(f"/f/on-{m}")
        assert on_row[3:] == ["Web form", f"Form campaign {m}", "3", "Active"]
        assert off_row[3:] == ["Event", "", "0", "Off"]
        assert 'href="/marketing/forms/export.csv" id="forms-export"' in page.text
    async with signed_in(app, acme, "alice") as b:
        assert (await b.get("/marketing/forms/export.csv")).status_code == 403
