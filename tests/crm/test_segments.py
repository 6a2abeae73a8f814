"""Segments (CRM-8), service level: rule validation, the set-based refresh and its exact figures."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.crm.handlers.marketing import refresh_requested_segment
from app.crm.jobs.marketing import refresh_every_segment
from app.crm.models import Campaign, SegmentMember
from app.crm.services import segments
from app.kernel.errors import Conflict, ValidationFailed
from app.kernel.events import Event
from tenants.service import in_tenant
from tests.crm.factories.marketing import add_account, add_order
from tests.crm.support import acting_as, count_rows, outbox_count

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def errors_of(exc: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {e.field: e.message.format(**e.params) for e in exc.value.errors}


@pytest.fixture(scope="module")
async def shop():
    """A tenant of its own, so RFM quintiles are over exactly these customers."""
    from app.kernel.db import get_database
    from tenants.provisioning import ProvisionRequest, provision_tenant

    slug = f"rfm{uuid.uuid4().hex[:8]}"
    await provision_tenant(
        get_database().engine, ProvisionRequest(slug=slug, name="RFM Shop", admin_email=f"a@{slug}.example")
    )
    ids: dict[str, int] = {}
    async with in_tenant(slug) as (s, _):
        # Five customers with distinct recency, frequency and spend, and two who never bought.
        for n, (name, region, tags) in enumerate(
            [
                ("Alpha", "East", ["VIP", "tea"]),
                ("Bravo", "east", ["vip"]),
                ("Charlie", "West", ["tea"]),
                ("Delta", None, []),
                ("Echo", "North", ["wholesale"]),
            ]
        ):
            a = await add_account(s, name, region=region, tags=tags, lifecycle_stage="customer", country="CN")
            ids[name] = a.id
            for k in range(5 - n):  # Alpha 5 orders, Echo 1
                await add_order(s, a.id, f"{(5 - n) * 1000}.00", ago(10 * (n + 1) + k))
        never = await add_account(s, "Foxtrot", region="East", kind="person", country="TW")
        ids["Foxtrot"] = never.id
        old = await add_account(s, "Golf", region="West", lifecycle_stage="churned")
        ids["Golf"] = old.id
        await add_order(s, old.id, "9000.00", ago(400))  # a customer, but not in the last year
        # Orders that never count: draft, cancelled, another currency.
        await add_order(s, ids["Echo"], "50000.00", ago(1), status="draft")
        await add_order(s, ids["Echo"], "50000.00", ago(1), status="cancelled")
        await add_order(s, ids["Echo"], "50000.00", ago(1), currency="USD")
        # A merged-away account is never a member.
        winner = ids["Alpha"]
        await add_account(s, "Merged", region="East", merged_into_id=winner)
    return slug, ids


async def _refresh(slug: str, rules: list[dict], match: str = "all") -> tuple[list[str], int]:
    async with in_tenant(slug) as (s, _):
        from app.crm.models import Account, Segment

        seg = Segment(name=f"S {uuid.uuid4().hex[:6]}", match=match, rules=rules)
        s.add(seg)
        await s.flush()
        preview = await segments.preview_count(s, rules, match)
        result = await segments.refresh_segment(s, seg.id)
        assert result.member_count == preview
        names = await s.execute(
            select(Account.name)
            .join(SegmentMember, SegmentMember.account_id == Account.id)
            .where(SegmentMember.segment_id == seg.id)
            .order_by(Account.name)
        )
        return list(names.scalars()), result.member_count


async def test_refresh_stores_exact_rfm_figures(shop):
    slug, ids = shop
    async with in_tenant(slug) as (s, _):
        from app.crm.models import Segment

        seg = Segment(name="Everyone", match="all", rules=[])
        s.add(seg)
        await s.flush()
        result = await segments.refresh_segment(s, seg.id)
        rows = await s.execute(select(SegmentMember).where(SegmentMember.segment_id == seg.id))
        got = {
            m.account_id: (m.recency_days, m.frequency, m.monetary, m.r_score, m.f_score, m.m_score)
            for m in rows.scalars()
        }
        refreshed = await s.get(Segment, seg.id)
        assert refreshed is not None
        assert refreshed.member_count == 7
        assert refreshed.refreshed_at is not None
        assert refreshed.refresh_ms == result.refresh_ms
    assert result.member_count == 7
    # Six customers (Golf only bought 400 days ago): quintiles over six → sizes 2,1,1,1,1.
    assert got == {
        ids["Alpha"]: (10, 5, Decimal("25000.00"), 5, 5, 5),
        ids["Bravo"]: (20, 4, Decimal("16000.00"), 4, 4, 4),
        ids["Charlie"]: (30, 3, Decimal("9000.00"), 3, 3, 3),
        ids["Delta"]: (40, 2, Decimal("4000.00"), 2, 2, 2),
        ids["Echo"]: (50, 1, Decimal("1000.00"), 1, 1, 1),
        ids["Golf"]: (400, 0, Decimal("0.00"), 1, 1, 1),
        ids["Foxtrot"]: (None, 0, Decimal("0.00"), None, None, None),
    }


@pytest.mark.parametrize(
    ("rules", "match", "expected"),
    [
        (
            [{"field": "monetary", "op": "gte", "value": "9000", "days": 365}],
            "all",
            ["Alpha", "Bravo", "Charlie"],
        ),
        ([{"field": "monetary", "op": "gte", "value": "9000"}], "all", ["Alpha", "Bravo", "Charlie", "Golf"]),
        ([{"field": "monetary", "op": "between", "value": ["1000", "4000"], "days": 45}], "all", ["Delta"]),
        ([{"field": "recency", "op": "lte", "value": 30}], "all", ["Alpha", "Bravo", "Charlie"]),
        ([{"field": "recency", "op": "gt", "value": 100}], "all", ["Golf"]),
        ([{"field": "frequency", "op": "eq", "value": 0}], "all", ["Foxtrot", "Golf"]),
        ([{"field": "r_score", "op": "gte", "value": 4}], "all", ["Alpha", "Bravo"]),
        ([{"field": "m_score", "op": "lte", "value": 1}], "all", ["Echo", "Golf"]),
        ([{"field": "region", "op": "in", "value": ["EAST"]}], "all", ["Alpha", "Bravo", "Foxtrot"]),
        ([{"field": "region", "op": "not_in", "value": "East, West"}], "all", ["Delta", "Echo"]),
        ([{"field": "tags", "op": "any", "value": ["vip"]}], "all", ["Alpha", "Bravo"]),
        ([{"field": "tags", "op": "all", "value": ["vip", "TEA"]}], "all", ["Alpha"]),
        (
            [{"field": "tags", "op": "none", "value": ["vip", "tea"]}],
            "all",
            ["Delta", "Echo", "Foxtrot", "Golf"],
        ),
        ([{"field": "lifecycle_stage", "op": "in", "value": ["churned"]}], "all", ["Golf"]),
        ([{"field": "kind", "op": "in", "value": ["person"]}], "all", ["Foxtrot"]),
        ([{"field": "country", "op": "in", "value": ["tw"]}], "all", ["Foxtrot"]),
        (
            [{"field": "created", "op": "after", "value": TODAY.isoformat()}],
            "all",
            ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf"],
        ),
        ([{"field": "created", "op": "before", "value": "2000-01-01"}], "all", []),
        (
            [
                {"field": "region", "op": "in", "value": ["West"]},
                {"field": "tags", "op": "any", "value": ["vip"]},
            ],
            "any",
            ["Alpha", "Bravo", "Charlie", "Golf"],
        ),
        (
            [
                {"field": "region", "op": "in", "value": ["West"]},
                {"field": "tags", "op": "any", "value": ["tea"]},
            ],
            "all",
            ["Charlie"],
        ),
    ],
)
async def test_each_rule_selects_exactly(shop, rules, match, expected):
    names, count = await _refresh(shop[0], rules, match)
    assert names == expected
    assert count == len(expected)


@pytest.mark.parametrize(
    ("rules", "errors"),
    [
        ("monetary >= 10", {"rules": "Rules must be a list of conditions."}),
        ([{"field": "spend", "op": "gte", "value": 1}], {"rules[0].field": "Unknown field: spend."}),
        (
            [{"field": "monetary", "op": "like", "value": 1}],
            {"rules[0].op": "Choose one of: gte, lte, gt, lt, eq, ne, between."},
        ),
        ([{"field": "monetary", "op": "gte", "value": "lots"}], {"rules[0].value": "Enter a number."}),
        ([{"field": "monetary", "op": "gte", "value": True}], {"rules[0].value": "Enter a number."}),
        (
            [{"field": "monetary", "op": "gte", "value": "1", "days": 0}],
            {"rules[0].days": "Must be at least 1."},
        ),
        (
            [{"field": "recency", "op": "gte", "value": 1, "days": 30}],
            {"rules[0].days": "Unknown key: days."},
        ),
        ([{"field": "recency", "op": "gte", "value": 1.5}], {"rules[0].value": "Enter a whole number."}),
        ([{"field": "r_score", "op": "eq", "value": 6}], {"rules[0].value": "Must be at most 5."}),
        (
            [{"field": "frequency", "op": "between", "value": [5, 2]}],
            {"rules[0].value": "The first value must not be larger than the second."},
        ),
        (
            [{"field": "frequency", "op": "between", "value": 5}],
            {"rules[0].value": "Give two values: from and to."},
        ),
        ([{"field": "region", "op": "in", "value": []}], {"rules[0].value": "Give at least one value."}),
        ([{"field": "region", "op": "in", "value": [3]}], {"rules[0].value": "Each value must be text."}),
        (
            [{"field": "country", "op": "in", "value": ["China"]}],
            {"rules[0].value": "Use the two-letter country code (CN, TW, HK, SG, US…)."},
        ),
        (
            [{"field": "lifecycle_stage", "op": "in", "value": ["lead"]}],
            {"rules[0].value": "Choose one of: prospect, customer, partner, churned."},
        ),
        (
            [{"field": "created", "op": "after", "value": "yesterday"}],
            {"rules[0].value": "Enter a date as YYYY-MM-DD."},
        ),
        (
            [{"field": "tags", "op": "any", "value": ["vip"], "extra": 1}],
            {"rules[0].extra": "Unknown key: extra."},
        ),
        (["region = East"], {"rules[0]": "Each condition is an object with field, op and value."}),
    ],
)
async def test_invalid_rules_are_field_errors_and_nothing_is_saved(acme, rules, errors):
    before = await count_rows(acme, "crm_segments")
    events_before = await outbox_count("crm.segment_refresh_requested")
    with pytest.raises(ValidationFailed) as exc:
        async with acting_as(acme, "mia") as (s, mia):
            await segments.create_segment(s, mia, {"name": f"Bad {uuid.uuid4().hex[:6]}", "rules": rules})
    assert errors_of(exc) == errors
    assert await count_rows(acme, "crm_segments") == before
    assert await outbox_count("crm.segment_refresh_requested") == events_before


async def test_match_mode_and_name_are_checked(acme):
    name = f"Loyal {uuid.uuid4().hex[:6]}"
    async with acting_as(acme, "mia") as (s, mia):
        await segments.create_segment(s, mia, {"name": name, "match": "all", "rules": []})
    before = await count_rows(acme, "crm_segments")
    with pytest.raises(ValidationFailed) as exc:
        async with acting_as(acme, "mia") as (s, mia):
            await segments.create_segment(s, mia, {"name": name.upper(), "match": "some", "rules": []})
    assert errors_of(exc) == {"match": "Choose one of: all, any."}
    with pytest.raises(ValidationFailed) as exc:
        async with acting_as(acme, "mia") as (s, mia):
            await segments.create_segment(s, mia, {"name": name.upper(), "rules": []})
    assert errors_of(exc) == {"name": "A segment with this name already exists."}
    with pytest.raises(ValidationFailed) as exc:
        async with acting_as(acme, "mia") as (s, mia):
            await segments.create_segment(s, mia, {"name": "  ", "rules": []})
    assert errors_of(exc) == {"name": "This field is required."}
    assert await count_rows(acme, "crm_segments") == before


async def test_saved_rules_are_normalised_and_a_refresh_is_requested(acme):
    events_before = await outbox_count("crm.segment_refresh_requested")
    async with acting_as(acme, "mia") as (s, mia):
        seg = await segments.create_segment(
            s,
            mia,
            {
                "name": f"Tea lovers {uuid.uuid4().hex[:6]}",
                "match": "any",
                "rules": [
                    {"field": "tags", "op": "any", "value": " tea ,TEA、 green tea"},
                    {"field": "monetary", "op": "gte", "value": 1000.5, "days": "90"},
                    {"field": "created", "op": "between", "value": ["2026-01-01", "2026-06-30"]},
                ],
            },
        )
        assert seg.rules == [
            {"field": "tags", "op": "any", "value": ["tea", "green tea"]},
            {"field": "monetary", "op": "gte", "value": "1000.5", "days": 90},
            {"field": "created", "op": "between", "value": ["2026-01-01", "2026-06-30"]},
        ]
        assert seg.match == "any"
        assert seg.refresh_requested_at is not None
        assert segments.describe_rules(seg, "CNY") == [
            "Tags has any of tea, green tea",
            "Spend in the last 90 days at least CN¥1,000.50",
            "Account created between 1 Jan 2026 and 30 Jun 2026",
        ]
    assert await outbox_count("crm.segment_refresh_requested") == events_before + 1


async def test_the_refresh_handler_and_the_nightly_job(shop):
    slug, ids = shop
    async with in_tenant(slug) as (s, ref):
        from app.crm.models import Segment

        seg = Segment(name="Tea", match="all", rules=[{"field": "tags", "op": "any", "value": ["tea"]}])
        s.add(seg)
        await s.flush()
        event = Event(
            uuid.uuid4(), "crm.segment_refresh_requested", ref.id, {"segment_id": seg.id}, datetime.now()
        )
        await refresh_requested_segment(event, s)
        assert seg.member_count == 2
        # A segment deleted before its refresh ran is simply gone: nothing to do, no error.
        await refresh_requested_segment(
            Event(
                uuid.uuid4(), "crm.segment_refresh_requested", ref.id, {"segment_id": 10**9}, datetime.now()
            ),
            s,
        )
        seg.rules = [{"field": "tags", "op": "any", "value": ["vip"]}]
        await s.flush()
        refreshed = await refresh_every_segment(s)
        assert refreshed >= 1
        await s.refresh(seg)
        assert seg.member_count == 2
        members = await s.execute(select(SegmentMember.account_id).where(SegmentMember.segment_id == seg.id))
        assert sorted(members.scalars()) == sorted([ids["Alpha"], ids["Bravo"]])


async def test_a_segment_used_by_a_live_campaign_cannot_be_deleted(acme):
    async with acting_as(acme, "mia") as (s, mia):
        seg = await segments.create_segment(s, mia, {"name": f"In use {uuid.uuid4().hex[:6]}", "rules": []})
        s.add(Campaign(name="Spring", currency="CNY", segment_id=seg.id, status="scheduled"))
    with pytest.raises(Conflict) as exc:
        async with acting_as(acme, "mia") as (s, _):
            await segments.delete_segment(s, seg.id)
    assert exc.value.code == "segment_in_use"
    assert exc.value.english == "The campaign Spring still uses this segment as its audience."
    assert await count_rows(acme, "crm_segments", "id = :id", id=seg.id) == 1
