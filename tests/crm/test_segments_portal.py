"""Segments in the marketing portal: the rule editor, its live count, members, export, refresh."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.crm.models import Segment
from app.crm.services import segments
from tests.crm.factories.marketing import add_account, add_order
from tests.crm.support import acting_as, count_rows, outbox_count
from tests.helpers import signed_in

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # acme's today


def rows(*conditions: tuple[str, str, str, str, str]) -> dict[str, str]:
    form: dict[str, str] = {}
    for i, (field, op, value, value2, days) in enumerate(conditions):
        form |= {f"rule-{i}-field": field, f"rule-{i}-op": op, f"rule-{i}-value": value,
                 f"rule-{i}-value2": value2, f"rule-{i}-days": days}  # fmt: skip
    return form


async def _region_with_accounts(acme) -> tuple[str, dict[str, int]]:
    """Three accounts in a fresh region: Big (East team, spends), Small (West team), Idle (no orders)."""
    region = f"Reg-{uuid.uuid4().hex[:8]}"
    ids = {}
    async with acting_as(acme, "ada") as (s, _):
        east = {"owner_id": acme.users["alice"], "team_id": acme.teams["East"]}
        west = {"owner_id": acme.users["dave"], "team_id": acme.teams["West"]}
        for name, owner, spend in (
            ("Big", east, "12000.00"),
            ("Small", west, "800.00"),
            ("Idle", west, None),
        ):
            a = await add_account(
                s, f"{name} {region}", region=region, tags=["vip"], lifecycle_stage="customer", **owner
            )
            ids[name] = a.id
            if spend:
                await add_order(s, a.id, spend, TODAY - timedelta(days=3), **owner)
    return region, ids


async def test_a_marketer_builds_a_segment_in_the_editor(app, acme):
    region, _ = await _region_with_accounts(acme)
    name = f"Big spenders {region}"
    before = await outbox_count("crm.segment_refresh_requested")
    async with signed_in(app, acme, "mia") as b:
        page = await b.get("/marketing/segments/new")
        assert page.status_code == 200
        assert 'id="rule-template"' in page.text
        assert "/static/js/marketing.js" in page.text
        form = {"name": name, "description": "Who spent most", "match": "all"} | rows(
            ("region", "in", region.lower(), "", ""),
            ("monetary", "gte", "1000", "", "90"),
            ("", "gte", "", "", ""),  # the editor's empty last row
        )
        preview = await b.htmx("POST", "/marketing/segments/preview", form)
        assert preview.status_code == 200
        assert re.sub(r"\s+", " ", preview.text).strip() == (
            '<strong class="preview-count">1</strong> account matches these conditions now.'
        )
        r = await b.post("/marketing/segments", form)
        assert r.status_code == 303
        async with acting_as(acme, "ada") as (s, _):
            seg = (await s.execute(select(Segment).where(Segment.name == name))).scalar_one()
            assert seg.rules == [
                {"field": "region", "op": "in", "value": [region.lower()]},
                {"field": "monetary", "op": "gte", "value": "1000", "days": 90},
            ]
            await segments.refresh_segment(s, seg.id)  # what the worker does on the published event
        assert r.headers["location"] == f"/marketing/segments/{seg.id}"
        assert await outbox_count("crm.segment_refresh_requested") == before + 1
        detail = await b.get(r.headers["location"])
        assert "Region is one of " + region.lower() in detail.text
        assert "Spend in the last 90 days at least CN¥1,000.00" in detail.text
        assert f"Big {region}" in detail.text
        assert f"Small {region}" not in detail.text
        assert '<span class="score score-' in detail.text


async def test_bad_conditions_re_render_the_editor_with_row_errors(app, acme):
    before = await count_rows(acme, "crm_segments")
    events = await outbox_count("crm.segment_refresh_requested")
    async with signed_in(app, acme, "mia") as b:
        await b.get("/marketing/segments/new")
        form = {"name": "", "match": "all"} | rows(
            ("monetary", "gte", "a lot", "", ""),
            ("frequency", "between", "9", "2", ""),
            ("lifecycle_stage", "in", "Customer, VIP", "", ""),
            ("colour", "in", "red", "", ""),
        )
        r = await b.post("/marketing/segments", form)
        assert r.status_code == 422
        for message in (
            "This field is required.",
            "Enter a number.",
            "The first value must not be larger than the second.",
            "Choose one of: prospect, customer, partner, churned.",
            "Unknown field: colour.",
        ):
            assert message in r.text
        assert r.text.count('class="rule-row has-error"') == 4
        assert 'value="a lot"' in r.text  # what was typed is kept
        preview = await b.htmx("POST", "/marketing/segments/preview", form)
        assert "Complete the conditions to see how many accounts match." in preview.text
    assert await count_rows(acme, "crm_segments") == before
    assert await outbox_count("crm.segment_refresh_requested") == events


async def test_members_export_and_record_rules(app, acme):
    region, ids = await _region_with_accounts(acme)
    async with acting_as(acme, "mia") as (s, mia):
        seg = await segments.create_segment(
            s,
            mia,
            {"name": f"Region {region}", "rules": [{"field": "region", "op": "in", "value": [region]}]},
        )
        await segments.refresh_segment(s, seg.id)
    async with signed_in(app, acme, "mia") as b:
        page = await b.get(f"/marketing/segments/{seg.id}?sort=monetary&dir=desc")
        names = re.findall(rf'<a href="/crm/accounts/\d+">((?:Big|Small|Idle) {region})</a>', page.text)
        assert names == [f"Big {region}", f"Small {region}", f"Idle {region}"]
        assert "never ordered" in page.text
        export = await b.get(f"/marketing/segments/{seg.id}/members.csv?sort=monetary&dir=desc")
        assert export.status_code == 200
        table = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
        assert table[0][:3] == ["Account ID", "Account", "Region"]
        assert [(r[0], r[1], r[6], r[7], r[8], r[9]) for r in table[1:]] == [
            (str(ids["Big"]), f"Big {region}", "3", "1", "12000.00", "CNY"),
            (str(ids["Small"]), f"Small {region}", "3", "1", "800.00", "CNY"),
            (str(ids["Idle"]), f"Idle {region}", "", "0", "0.00", "CNY"),
        ]
        search = await b.htmx("GET", f"/marketing/segments/{seg.id}?q=small")
        assert f"Small {region}" in search.text
        assert f"Big {region}" not in search.text
    # sam manages East: the list and the export show the East account only; the count is the segment's.
    async with signed_in(app, acme, "sam") as b:
        page = await b.get(f"/marketing/segments/{seg.id}")
        assert f"Big {region}" in page.text
        assert f"Small {region}" not in page.text
        assert f"Idle {region}" not in page.text
        assert '<div class="value" id="member-count">3</div>' in page.text
        export = await b.get(f"/marketing/segments/{seg.id}/members.csv")
        assert [r[1] for r in list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))[1:]] == [
            f"Big {region}"
        ]
        assert (await b.get("/marketing/segments/new")).status_code == 403  # may read, not plan
        assert (await b.post(f"/marketing/segments/{seg.id}/refresh")).status_code == 403
    async with signed_in(app, acme, "nora") as b:
        assert (await b.get("/marketing/segments")).status_code == 403


async def test_refresh_edit_and_delete_from_the_portal(app, acme):
    region, _ = await _region_with_accounts(acme)
    async with acting_as(acme, "mia") as (s, mia):
        seg = await segments.create_segment(s, mia, {"name": f"Edit me {region}", "rules": []})
    async with signed_in(app, acme, "mia") as b:
        before = await outbox_count("crm.segment_refresh_requested")
        r = await b.post(f"/marketing/segments/{seg.id}/refresh")
        assert r.status_code == 303
        assert await outbox_count("crm.segment_refresh_requested") == before + 1
        page = await b.get(f"/marketing/segments/{seg.id}")
        assert "are being recounted" in page.text
        assert f'hx-get="/marketing/segments/{seg.id}/status?was=counting"' in page.text
        async with acting_as(acme, "ada") as (s, _):
            await segments.refresh_segment(s, seg.id)
        status = await b.htmx("GET", f"/marketing/segments/{seg.id}/status?was=counting")
        assert status.headers.get("hx-refresh") == "true"

        edit = await b.get(f"/marketing/segments/{seg.id}/edit")
        assert f'value="Edit me {region}"' in edit.text
        saved = await b.post(
            f"/marketing/segments/{seg.id}",
            {"name": f"Edited {region}", "match": "any"} | rows(("tags", "all", "VIP", "", "")),
        )
        assert saved.status_code == 303
        page = await b.get(f"/marketing/segments/{seg.id}")
        assert "Tags has all of VIP" in page.text
        gone = await b.post(f"/marketing/segments/{seg.id}/delete")
        assert gone.status_code == 303
        assert gone.headers["location"] == "/marketing/segments"
    assert await count_rows(acme, "crm_segments", "id = :id", id=seg.id) == 0


async def test_the_segment_list(app, acme):
    async with acting_as(acme, "mia") as (s, mia):
        seg = await segments.create_segment(
            s, mia, {"name": f"List {uuid.uuid4().hex[:6]}", "match": "any",
                     "rules": [{"field": "r_score", "op": "gte", "value": 4}]}
        )  # fmt: skip
    async with signed_in(app, acme, "mia") as b:
        page = await b.get("/marketing/segments")
    assert page.status_code == 200
    assert f'<a href="/marketing/segments/{seg.id}"><strong>{seg.name}</strong></a>' in page.text
    assert "Recency score (R, 1–5) at least 4" in page.text
    assert "Counting…" in page.text


async def test_refused_segment_changes_leave_it_as_it_was(app, acme):
    from app.crm.models import Campaign

    async with acting_as(acme, "mia") as (s, mia):
        seg = await segments.create_segment(
            s,
            mia,
            {
                "name": f"Kept {uuid.uuid4().hex[:6]}",
                "rules": [{"field": "tags", "op": "any", "value": ["vip"]}],
            },
        )
        s.add(Campaign(name=f"Uses {seg.name}", currency="CNY", segment_id=seg.id, status="planned"))
    events = await outbox_count("crm.segment_refresh_requested")
    async with signed_in(app, acme, "mia") as b:
        bad = await b.post(f"/marketing/segments/{seg.id}", {"name": seg.name, "match": "all"} | rows(
            ("recency", "lte", "soon", "", "")))  # fmt: skip
        assert bad.status_code == 422
        assert "Enter a whole number." in bad.text
        busy = await b.post(f"/marketing/segments/{seg.id}/delete")
        assert busy.status_code == 303
        page = await b.get(busy.headers["location"])
        assert f"The campaign Uses {seg.name} still uses this segment as its audience." in page.text
    async with acting_as(acme, "ada") as (s, _):
        kept = await s.get(Segment, seg.id)
        assert kept is not None
        assert kept.rules == [{"field": "tags", "op": "any", "value": ["vip"]}]
    assert await outbox_count("crm.segment_refresh_requested") == events
