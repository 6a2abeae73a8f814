"""CSV export of Service › Satisfaction (CRM issue: "CSV export of every list honouring filters
and record rules"): the page's total, per-agent and per-team figures for the same period, under
the reader's crm.survey.read record rules."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime

import httpx

from app.crm.models import Survey
from app.crm.services.surveys import survey_token
from tenants.service import in_tenant
from tests.crm.factories.service import add_ticket, new_team
from tests.helpers import browser, login, signed_in

# Months no other test writes surveys into (they use March 2021 or "now").
JUNE = datetime(2019, 6, 10, 12, 0, tzinfo=UTC)
AUGUST = datetime(2019, 8, 10, 12, 0, tzinfo=UTC)
SUMMER = "from=2019-06-01&to=2019-08-31"
HEADER = [
    "Scope", "Name", "Surveys", "Responses", "Response rate (%)", "Average CSAT", "Satisfied, CSAT 4–5 (%)",
    "NPS",
]  # fmt: skip


def table(r: httpx.Response) -> list[list[str]]:
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith("attachment; filename=")
    return list(csv.reader(io.StringIO(r.text.removeprefix("\ufeff"))))


def marker() -> str:
    return uuid.uuid4().hex[:8]


async def _surveys(tenant, rows):
    """rows: (sent, owner_id, team_id, csat, nps); csat None = not answered."""
    async with in_tenant(tenant.slug) as (s, _):
        for sent, owner, team, csat, nps in rows:
            t = await add_ticket(s, f"Exported {marker()}", status="closed", owner_id=owner, team_id=team)
            s.add(
                Survey(
                    ticket_id=t.id, token=survey_token(marker()), owner_id=owner, team_id=team, csat=csat,
                    nps=nps, comment="", created_at=sent, answered_at=sent if csat is not None else None,
                )
            )  # fmt: skip


def agents_on(page: str) -> list[str]:
    """The names in the page's "By agent" table, in order."""
    section = page.split("<h2>By agent</h2>", 1)[1].split("<h2>By team</h2>", 1)[0]
    return re.findall(r"<td><(?:strong|span class=\"muted\")>([^<]+)</", section)


async def test_the_satisfaction_export_is_the_page(app, acme):
    name = f"SX{marker()}"
    team, (a, b) = await new_team(acme, name)
    other_name = f"SY{marker()}"
    other, (c,) = await new_team(acme, other_name, agents=1)
    await _surveys(
        acme,
        [
            (JUNE, a, team, 5, 10),  # promoter, satisfied
            (JUNE, a, team, 2, 3),  # detractor
            (JUNE, a, team, None, None),  # not answered
            (JUNE, b, team, 4, 8),  # passive, satisfied
            (AUGUST, b, team, 1, 0),  # detractor, in August only
            (JUNE, c, other, 5, 9),  # another team's
        ],
    )
    async with browser(app, acme) as br:
        await login(br, f"agent0.{name.lower()}@{acme.slug}.example")
        page = await br.get(f"/service/satisfaction?{SUMMER}")
        rows = table(await br.get(f"/service/satisfaction/export.csv?{SUMMER}"))
        june = table(await br.get("/service/satisfaction/export.csv?from=2019-06-01&to=2019-06-30"))
    assert page.status_code == 200
    assert f'href="/service/satisfaction/export.csv?{SUMMER.replace("&", "&amp;")}"' in page.text
    assert rows[0] == HEADER
    # The agent sees their team's surveys only (service_agent: team scope): no row for agent c.
    assert rows[1:] == [
        ["Total", "All", "5", "4", "80.0", "3.00", "50.0", "-25.0"],
        ["Agent", f"Agent 0 {name}", "3", "2", "66.7", "3.50", "50.0", "0.0"],
        ["Agent", f"Agent 1 {name}", "2", "2", "100.0", "2.50", "50.0", "-50.0"],
        ["Team", name, "5", "4", "80.0", "3.00", "50.0", "-25.0"],
    ]
    assert [r[1] for r in rows[1:] if r[0] == "Agent"] == agents_on(page.text)
    # The period filter narrows the export as it narrows the page.
    assert june[1:] == [
        ["Total", "All", "4", "3", "75.0", "3.67", "66.7", "0.0"],
        ["Agent", f"Agent 0 {name}", "3", "2", "66.7", "3.50", "50.0", "0.0"],
        ["Agent", f"Agent 1 {name}", "1", "1", "100.0", "4.00", "100.0", "0.0"],
        ["Team", name, "4", "3", "75.0", "3.67", "66.7", "0.0"],
    ]

    async with signed_in(app, acme, "ada") as br:  # every team: the other team's agent too
        everyone = table(await br.get(f"/service/satisfaction/export.csv?{SUMMER}"))
    agents = {r[1]: r[2:] for r in everyone[1:] if r[0] == "Agent"}
    teams = {r[1]: r[2:] for r in everyone[1:] if r[0] == "Team"}
    assert agents[f"Agent 0 {name}"] == ["3", "2", "66.7", "3.50", "50.0", "0.0"]
    assert agents[f"Agent 0 {other_name}"] == ["1", "1", "100.0", "5.00", "100.0", "100.0"]
    assert teams[other_name] == ["1", "1", "100.0", "5.00", "100.0", "100.0"]


async def test_a_period_the_page_refuses_is_not_exported(app, acme):
    async with signed_in(app, acme, "sue") as br:
        backwards = await br.get("/service/satisfaction/export.csv?from=2019-08-01&to=2019-06-01")
        garbled = await br.get("/service/satisfaction/export.csv?from=June")
        default = table(await br.get("/service/satisfaction/export.csv"))
    for r in (backwards, garbled):
        assert r.status_code == 422
        assert "text/csv" not in r.headers["content-type"]
    assert "The end of the period cannot be before its start." in backwards.text
    assert "Enter a date as YYYY-MM-DD." in garbled.text
    assert default[0] == HEADER
    assert default[1][:2] == ["Total", "All"]
    async with signed_in(app, acme, "alice") as br:  # no crm.survey.read
        assert (await br.get("/service/satisfaction/export.csv")).status_code == 403
