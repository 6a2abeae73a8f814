"""Assignment rules (CRM-2): matching by source and region, round-robin under a row lock (tested with
concurrent sessions), fixed owners, the unassigned fallback, notifications, and the admin page."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import any_, delete, select

from app.crm.models import AssignmentRule, Lead
from app.crm.services import lead_assignment, leads
from app.kernel.errors import ValidationFailed
from app.notifications.models import Notification
from tenants.service import in_tenant
from tests.crm.support import count_rows
from tests.helpers import signed_in


def marker() -> str:
    return uuid.uuid4().hex[:10]


def errors_of(exc: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {e.field: e.message.format(**e.params) for e in exc.value.errors}


@pytest.fixture
async def region(acme) -> AsyncIterator[str]:
    """A region of this test's own: its rules route only its leads, and are removed afterwards."""
    name = f"R-{marker()}"
    yield name
    async with in_tenant(acme.slug) as (s, _):
        await s.execute(delete(AssignmentRule).where(any_(AssignmentRule.match_regions) == name))


async def _rule(acme, **values) -> int:
    async with in_tenant(acme.slug) as (s, _):
        rule = await lead_assignment.create_rule(s, values)
        return rule.id


async def _capture(acme, region: str, n: int = 1, source: str = "api") -> list[int | None]:
    owners = []
    async with in_tenant(acme.slug) as (s, _):  # anonymous capture, as from a web form
        for i in range(n):
            lead = await leads.create_lead(
                s,
                None,
                {"full_name": f"L{i}", "email": f"l{i}@x.example", "region": region, "source": source},
            )
            owners.append(lead.owner_id)
    return owners


async def test_round_robin_hands_leads_to_each_person_in_turn(acme, region):
    alice, sam, dave = acme.users["alice"], acme.users["sam"], acme.users["dave"]
    await _rule(
        acme,
        name="Rotation",
        strategy="round_robin",
        active="1",
        match_regions=region,
        user_ids=[alice, sam, dave],
    )
    assert await _capture(acme, region, 5) == [alice, sam, dave, alice, sam]


async def test_concurrent_captures_alternate_because_the_rule_row_is_locked(acme, region):
    alice, dave = acme.users["alice"], acme.users["dave"]
    await _rule(
        acme, name="Pair", strategy="round_robin", active="1", match_regions=region, user_ids=[alice, dave]
    )
    started = asyncio.Event()

    async def capture(i: int) -> int | None:
        async with in_tenant(acme.slug) as (s, _):
            routed = await lead_assignment.owner_by_rules(s, source="web_form", region=region)
            started.set()
            await asyncio.sleep(0.2)  # hold the lock: the other session must wait, not read a stale pointer
            s.add(Lead(full_name=f"C{i}", email=f"c{i}@x.example", region=region, owner_id=routed.owner_id))
            return routed.owner_id

    first = asyncio.create_task(capture(1))
    await started.wait()
    second = asyncio.create_task(capture(2))
    owners = await asyncio.gather(first, second)
    assert sorted(owners) == sorted([alice, dave])
    # and eight at once still split evenly
    results = await asyncio.gather(*(capture(10 + i) for i in range(8)))
    assert sorted(results) == sorted([alice, dave] * 4)


async def test_the_first_matching_rule_wins_and_sources_must_match(acme, region):
    alice, dave = acme.users["alice"], acme.users["dave"]
    await _rule(
        acme,
        name="Web to Dave",
        strategy="fixed",
        active="1",
        match_sources=["web_form"],
        match_regions=region,
        user_ids=[dave],
    )
    await _rule(
        acme,
        name="Rest to Alice",
        strategy="fixed",
        active="1",
        match_regions=region.lower(),
        user_ids=[alice],
    )
    assert await _capture(acme, region, 2, source="web_form") == [dave, dave]
    assert await _capture(acme, region.upper(), 1, source="event") == [alice]  # regions ignore case


async def test_no_matching_rule_leaves_the_lead_unassigned(acme, region):
    await _rule(
        acme, name="Off", strategy="fixed", active="", match_regions=region, user_ids=[acme.users["alice"]]
    )
    assert await _capture(acme, region, 1) == [None]
    assert await _capture(acme, f"{region}-elsewhere", 1) == [None]


async def test_inactive_people_are_skipped(acme, region):
    from app.security.models import User

    async with in_tenant(acme.slug) as (s, _):
        from app.security.services.users import create_user

        gone = await create_user(
            s,
            email=f"gone{marker()}@acme.example",
            full_name="Gone",
            password="x" * 12,
            role_keys=["sales_rep"],
        )
        gone_id = gone.id
    alice = acme.users["alice"]
    await _rule(
        acme,
        name="With a leaver",
        strategy="round_robin",
        active="1",
        match_regions=region,
        user_ids=[gone_id, alice],
    )
    async with in_tenant(acme.slug) as (s, _):
        (await s.get(User, gone_id)).is_active = False
    assert await _capture(acme, region, 3) == [alice, alice, alice]


async def test_the_new_owner_is_notified_in_the_same_transaction(acme, region):
    m = marker()
    dave = acme.users["dave"]
    await _rule(acme, name="Dave", strategy="fixed", active="1", match_regions=region, user_ids=[dave])
    async with in_tenant(acme.slug) as (s, _):
        lead = await leads.create_lead(
            s,
            None,
            {"full_name": f"N {m}", "email": f"{m}@x.example", "region": region, "source": "web_form"},
        )
        lead_id = lead.id
        note = await s.scalar(select(Notification).where(Notification.link == f"/sales/leads/{lead_id}"))
        assert note is not None
        assert note.user_id == dave
    captured: list[int] = []

    async def capture_then_fail() -> None:
        async with in_tenant(acme.slug) as (s, _):
            lead = await leads.create_lead(
                s, None, {"full_name": f"R {m}", "email": f"r{m}@x.example", "region": region}
            )
            captured.append(lead.id)
            raise RuntimeError("the capture fails later")

    with pytest.raises(RuntimeError):
        await capture_then_fail()
    rolled_back = captured[0]
    assert await count_rows(acme, "notifications", "link = :l", l=f"/sales/leads/{rolled_back}") == 0


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"name": "", "user_ids": ["2"]}, {"name": "This field is required."}),
        ({"name": "X", "user_ids": []}, {"user_ids": "Choose who receives the leads."}),
        (
            {"name": "X", "user_ids": ["999999"]},
            {"user_ids": "Choose active staff members who work on leads."},
        ),
        ({"name": "X", "user_ids": ["abc"]}, {"user_ids": "Choose active staff members who work on leads."}),
        (
            {"name": "X", "user_ids": ["2"], "strategy": "random"},
            {"strategy": "Choose one of: round_robin, fixed."},
        ),
        (
            {"name": "X", "user_ids": ["2"], "match_sources": ["tv"]},
            {"match_sources": "Unknown lead source: tv."},
        ),
        (
            {"name": "X", "user_ids": ["2", "7"], "strategy": "fixed"},
            {"user_ids": "A rule for one person names exactly one person."},
        ),
    ],
)
async def test_bad_rules_are_refused(acme, data, expected):
    before = await count_rows(acme, "crm_assignment_rules")
    with pytest.raises(ValidationFailed) as exc:
        async with in_tenant(acme.slug) as (s, _):
            await lead_assignment.create_rule(s, data)
    assert errors_of(exc) == expected
    assert await count_rows(acme, "crm_assignment_rules") == before


@pytest.mark.parametrize("persona", ["carol", "bob", "sue"])
async def test_only_people_who_work_on_leads_can_receive_them(acme, persona):
    """A customer, an accountant, a service agent: none holds crm.lead.read."""
    with pytest.raises(ValidationFailed) as exc:
        async with in_tenant(acme.slug) as (s, _):
            await lead_assignment.create_rule(s, {"name": "X", "user_ids": [str(acme.users[persona])]})
    assert errors_of(exc) == {"user_ids": "Choose active staff members who work on leads."}
    async with in_tenant(acme.slug) as (s, _):
        names = [u.full_name for u in await lead_assignment.lead_staff(s)]
    assert {"Ada Admin", "Alice Rep", "Sam Manager", "Dave Rep", "Mia Marketer"} <= set(names)
    assert not {"Carol Customer", "Bob Accountant", "Sue Agent", "Nora Noroles"} & set(names)


async def test_the_rules_page(app, acme, region):
    alice, dave = acme.users["alice"], acme.users["dave"]
    async with signed_in(app, acme, "sam") as b:
        page = await b.get("/sales/assignment")
        assert page.status_code == 200
        r = await b.post(
            "/sales/assignment",
            {
                "name": f"East web {region}",
                "strategy": "round_robin",
                "active": "1",
                "match_regions": region,
                "match_sources": "web_form",
                "user_ids": [str(alice), str(dave)],
            },
        )
        assert r.status_code == 303
        page = await b.get("/sales/assignment")
        assert f"East web {region}" in page.text
        assert "Next: Alice Rep" in page.text
        bad = await b.post("/sales/assignment", {"name": "No people", "strategy": "fixed"})
        assert bad.status_code == 422
        assert "Choose who receives the leads." in bad.text
    async with in_tenant(acme.slug) as (s, _):
        rule = await s.scalar(select(AssignmentRule).where(AssignmentRule.name == f"East web {region}"))
        assert (rule.match_sources, rule.match_regions, rule.user_ids) == (
            ["web_form"],
            [region],
            [alice, dave],
        )
        rule_id = rule.id
    await _capture(acme, region, 1, source="web_form")
    async with signed_in(app, acme, "sam") as b:
        assert "Next: Dave Rep" in (await b.get("/sales/assignment")).text
        edit = await b.get(f"/sales/assignment/{rule_id}")
        assert edit.status_code == 200
        r = await b.post(
            f"/sales/assignment/{rule_id}",
            {
                "name": "Renamed",
                "strategy": "fixed",
                "active": "1",
                "match_regions": region,
                "user_ids": str(dave),
            },
        )
        assert r.status_code == 303
        r = await b.post(f"/sales/assignment/{rule_id}/delete", {})
        assert r.status_code == 303
    assert await count_rows(acme, "crm_assignment_rules", "id = :id", id=rule_id) == 0
    async with signed_in(app, acme, "alice") as b:  # reps do not manage the rules
        assert (await b.get("/sales/assignment")).status_code == 403


async def test_moving_rules_changes_their_order(app, acme, region):
    alice = acme.users["alice"]
    first = await _rule(
        acme, name="First", strategy="fixed", active="1", match_regions=region, user_ids=[alice]
    )
    second = await _rule(
        acme, name="Second", strategy="fixed", active="1", match_regions=region, user_ids=[alice]
    )
    async with signed_in(app, acme, "ada") as b:
        assert (await b.post(f"/sales/assignment/{second}/move", {"direction": "up"})).status_code == 303
    async with in_tenant(acme.slug) as (s, _):
        order = [r.id for r in await lead_assignment.list_rules(s) if r.id in (first, second)]
        assert order == [second, first]
