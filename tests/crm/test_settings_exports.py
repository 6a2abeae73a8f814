"""CSV exports of the CRM's settings lists (PLAT-13): pipeline stages, lead assignment rules and
SLA policies — each the rows its page lists, in the page's order, under the page's permission."""

from __future__ import annotations

import csv
import html
import io
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import delete, select

from app.crm.models import AssignmentRule, SlaPolicy
from app.crm.services import sla
from app.crm.services import stages as stage_service
from tenants.service import in_tenant
from tests.crm.factories.pipeline import new_account, new_deal, stage_ids
from tests.helpers import signed_in


def mark() -> str:
    return uuid.uuid4().hex[:10]


def parse(r: Any) -> list[list[str]]:
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith("attachment;")
    return list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))


def links(page: str, base: str) -> list[str]:
    return [html.unescape(n) for n in re.findall(rf'<a href="{base}/\d+"><strong>([^<]+)</strong></a>', page)]


async def refused(app: Any, tenant: Any, persona: str, path: str) -> None:
    async with signed_in(app, tenant, persona) as b:
        r = await b.get(path)
    assert r.status_code == 403, (persona, path)
    assert "text/csv" not in r.headers["content-type"]


# --- pipeline stages -------------------------------------------------------------------------


async def test_stage_export_lists_the_pages_stages_with_their_deals(app, acme):
    m = mark()
    ids = await stage_ids(acme)
    account = await new_account(acme, "alice", f"Stages {m}")
    await new_deal(acme, "alice", account, name=f"Deal {m}", amount="100", stage_id=ids["prospecting"])
    async with in_tenant(acme.slug) as (session, _):  # a stage switched off, placed before won
        parked = await stage_service.create_stage(session, {"name": f"Parked {m}", "probability": "35"})
        await stage_service.set_stage_active(session, parked.id, False)
    async with in_tenant(acme.slug) as (session, _):
        listed = await stage_service.list_stages(session)
        counts = await stage_service.open_counts(session)
    async with signed_in(app, acme, "ada") as b:
        page = await b.get("/sales/stages")
        assert page.status_code == 200
        assert 'href="/sales/stages/export.csv" id="stages-export" download' in page.text
        rows = parse(await b.get("/sales/stages/export.csv"))
    assert rows[0] == ["Position", "Name", "Probability", "Kind", "Deals", "Active"]
    assert [r[1] for r in rows[1:]] == links(page.text, "/sales/stages")  # the page's rows, in order
    kinds = {"open": "Open", "won": "Won", "lost": "Lost"}
    assert rows[1:] == [
        [str(n), s.name, str(s.probability), kinds[stage_service.kind_of(s)], str(counts.get(s.id, 0)),
         "Yes" if s.active else "No"]
        for n, s in enumerate(listed, start=1)
    ]  # fmt: skip
    parked_row = next(r for r in rows if r[1] == f"Parked {m}")
    assert parked_row[2:] == ["35", "Open", "0", "No"]
    assert [r[3] for r in rows[-2:]] == ["Won", "Lost"]  # won and lost come last
    prospecting = next(r for r in rows if r[1] == "Prospecting")
    assert int(prospecting[4]) == counts[ids["prospecting"]] >= 1


async def test_only_administrators_export_the_stages(app, acme):
    for persona in ("sam", "alice"):
        await refused(app, acme, persona, "/sales/stages/export.csv")


# --- assignment rules ------------------------------------------------------------------------


@pytest.fixture
async def rules(acme) -> AsyncIterator[dict[str, Any]]:
    """Two lead rules and a ticket rule of this test's own (a region nobody else uses, so they
    route no other test's leads), removed afterwards."""
    m = mark()
    region = f"R-{m}"
    async with in_tenant(acme.slug) as (session, _):
        last = max([r.position for r in await session.scalars(select(AssignmentRule))] or [0])
        east = AssignmentRule(
            name=f"East web {m}", applies_to="lead", position=last + 10, active=True,
            match_sources=["web_form", "referral"], match_regions=[region, "华东"], strategy="round_robin",
            user_ids=[acme.users["alice"], acme.users["sam"]], team_id=acme.teams["East"],
        )  # fmt: skip
        fallback = AssignmentRule(
            name=f"Fallback {m}", applies_to="lead", position=last + 20, active=False,
            match_sources=[], match_regions=[region], strategy="fixed", user_ids=[acme.users["dave"]],
        )  # fmt: skip
        tickets = AssignmentRule(
            name=f"Tickets {m}", applies_to="ticket", position=last + 30, active=False,
            match_regions=[region], strategy="fixed", user_ids=[acme.users["sue"]],
        )  # fmt: skip
        session.add_all([east, fallback, tickets])
        await session.flush()
    yield {"m": m, "region": region}
    async with in_tenant(acme.slug) as (session, _):
        await session.execute(delete(AssignmentRule).where(AssignmentRule.name.like(f"% {m}")))


async def test_rule_export_lists_the_pages_rules_in_order(app, acme, rules):
    m, region = rules["m"], rules["region"]
    async with signed_in(app, acme, "sam") as b:
        page = await b.get("/sales/assignment")
        assert page.status_code == 200
        assert 'href="/sales/assignment/export.csv" id="assignment-export" download' in page.text
        rows = parse(await b.get("/sales/assignment/export.csv"))
    assert rows[0] == [
        "Position", "Name", "Applies to", "Lead sources", "Regions", "Give the lead to", "People", "Team",
        "Active",
    ]  # fmt: skip
    assert [r[1] for r in rows[1:]] == links(page.text, "/sales/assignment")  # the page's rows, in order
    assert [r[0] for r in rows[1:]] == [str(n) for n in range(1, len(rows))]
    assert f"Tickets {m}" not in {r[1] for r in rows}  # ticket routing rules are not on this page
    by_name = {r[1]: r for r in rows[1:]}
    assert by_name[f"East web {m}"][2:] == [
        "Leads", "Web form, Referral", f"{region}, 华东", "Round-robin", "Alice Rep, Sam Manager", "East",
        "Yes",
    ]  # fmt: skip
    assert by_name[f"Fallback {m}"][2:] == ["Leads", "any", region, "One person", "Dave Rep", "", "No"]
    east, fallback = int(by_name[f"East web {m}"][0]), int(by_name[f"Fallback {m}"][0])
    assert fallback == east + 1


async def test_only_lead_assigners_export_the_rules(app, acme):
    for persona in ("alice", "sue"):
        await refused(app, acme, persona, "/sales/assignment/export.csv")


# --- SLA policies ----------------------------------------------------------------------------


async def test_sla_export_lists_the_policies_for_everyone_who_reads_tickets(app, acme):
    async with in_tenant(acme.slug) as (session, _):
        policies = await sla.list_policies(session)
        ids = {p.id: p for p in (await session.scalars(select(SlaPolicy))).all()}
    assert len(policies) == 4
    for persona in ("ada", "sue"):
        async with signed_in(app, acme, persona) as b:
            page = await b.get("/service/sla")
            assert page.status_code == 200
            assert 'href="/service/sla/export.csv" id="sla-export" download' in page.text
            rows = parse(await b.get("/service/sla/export.csv"))
        assert rows[0] == ["Name", "Priority", "First response (minutes)", "Resolution (minutes)", "Active"]
        on_page = [ids[int(i)] for i in re.findall(r'id="policy-(\d+)"', page.text)]
        assert [r[1] for r in rows[1:]] == ["Urgent", "High", "Normal", "Low"]  # most urgent first
        assert rows[1:] == [
            [p.name, p.priority.title(), str(p.first_response_minutes), str(p.resolution_minutes),
             "Yes" if p.active else "No"]
            for p in on_page
        ]  # fmt: skip


async def test_sla_export_is_refused_without_ticket_access(app, acme):
    for persona in ("mia", "nora"):
        await refused(app, acme, persona, "/service/sla/export.csv")
