"""Satisfaction results (CRM-11): exact response rate, average CSAT, CSAT share and NPS per agent
and per team for a period, under crm.survey.read record rules — service and results page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from app.crm.models import Survey
from app.crm.services.satisfaction import satisfaction_results
from app.crm.services.surveys import survey_token
from tenants.service import in_tenant
from tests.crm.factories.service import acting_user, add_ticket, new_team
from tests.crm.support import acting_as
from tests.helpers import signed_in

# A period in the past no other test writes surveys into (they are created "now").
DAY = datetime(2021, 3, 10, 12, 0, tzinfo=UTC)
START, END = datetime(2021, 3, 1, tzinfo=UTC), datetime(2021, 4, 1, tzinfo=UTC)


def marker() -> str:
    return uuid.uuid4().hex[:10]


async def _surveys(tenant, rows):  # type: ignore[no-untyped-def]
    """rows: (owner_id, team_id, csat, nps, comment); csat None = not answered."""
    async with in_tenant(tenant.slug) as (s, _):
        for owner, team, csat, nps, comment in rows:
            t = await add_ticket(s, f"Surveyed {marker()}", status="closed", owner_id=owner, team_id=team)
            s.add(
                Survey(
                    ticket_id=t.id, token=survey_token(marker()), owner_id=owner, team_id=team, csat=csat,
                    nps=nps, comment=comment, created_at=DAY, answered_at=DAY if csat is not None else None,
                )
            )  # fmt: skip


async def test_results_per_agent_and_team_are_exact(app, acme):
    team, (a, b) = await new_team(acme, f"SA{marker()}")
    other, (c,) = await new_team(acme, f"SB{marker()}", agents=1)
    await _surveys(
        acme,
        [
            (a, team, 5, 10, "Great"),  # promoter, satisfied
            (a, team, 4, 9, ""),  # promoter, satisfied
            (a, team, 2, 3, "Slow"),  # detractor
            (a, team, None, None, ""),  # not answered
            (b, team, 3, 7, ""),  # passive, neutral
            (b, team, 1, 0, "Rude"),  # detractor
            (c, other, 5, 8, ""),  # another team
        ],
    )
    async with acting_user(acme, a) as (s, agent):
        results = await satisfaction_results(s, agent, START, END)
    by_agent = {r.key: r for r in results.by_agent}
    assert set(by_agent) == {a, b}  # team scope: c's survey is another team's
    ra, rb = by_agent[a], by_agent[b]
    assert (ra.surveys, ra.responses, ra.response_rate) == (4, 3, Decimal("0.7500"))
    assert (ra.average_csat, ra.csat_percent, ra.nps) == (Decimal("3.67"), Decimal("0.6667"), Decimal("33.3"))
    assert (rb.surveys, rb.responses, rb.average_csat, rb.csat_percent, rb.nps) == (
        2, 2, Decimal("2.00"), Decimal("0.0000"), Decimal("-50.0"),
    )  # fmt: skip
    (team_row,) = results.by_team
    assert (team_row.key, team_row.surveys, team_row.responses, team_row.nps) == (team, 6, 5, Decimal("0.0"))
    assert (team_row.average_csat, team_row.csat_percent) == (Decimal("3.00"), Decimal("0.4000"))
    assert (results.total.surveys, results.total.promoters, results.total.detractors) == (6, 2, 2)

    async with acting_as(acme, "ada") as (s, ada):
        everything = await satisfaction_results(s, ada, START, END)
    mine = {r.key: r for r in everything.by_agent if r.key in (a, b, c)}
    assert mine[c].nps == Decimal("0.0")  # one passive
    assert {r.key for r in everything.by_team} >= {team, other}

    async with acting_as(acme, "ada") as (s, ada):
        empty = await satisfaction_results(
            s, ada, datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 2, 1, tzinfo=UTC)
        )
    assert (empty.total.surveys, empty.total.response_rate, empty.total.nps, empty.by_agent) == (
        0,
        None,
        None,
        [],
    )


async def test_the_results_page_shows_the_period_under_the_readers_rules(app, acme):
    comment = f"Lovely {marker()}"
    await _surveys(acme, [(acme.users["sue"], acme.teams["Support"], 5, 10, comment)])
    async with signed_in(app, acme, "sue") as b:
        page = await b.get("/service/satisfaction?from=2021-03-01&to=2021-03-31")
        assert page.status_code == 200
        assert "Sue Agent" in page.text
        assert comment in page.text
        assert 'data-chart="' in page.text
        assert '<script src="/static/js/service.js" defer></script>' in page.text
        assert "<script>" not in page.text
        bad = await b.get("/service/satisfaction?from=2021-04-01&to=2021-03-01")
        assert bad.status_code == 422
        assert "The end of the period cannot be before its start." in bad.text
        assert (await b.get("/service/satisfaction?from=March")).status_code == 422
    async with signed_in(app, acme, "alice") as b:  # no crm.survey.read
        assert (await b.get("/service/satisfaction")).status_code == 403
