"""Satisfaction results (CRM-11) per agent and per team, for surveys sent in a period.

* responses / surveys = response rate;
* average CSAT over the answers, and CSAT % = share of answers scoring 4 or 5;
* NPS = % promoters (9–10) − % detractors (0–6), from −100 to 100.

Surveys are read under ``crm.survey.read`` record rules (agents: their team's), and the agent
and team are those who had the ticket when it closed (app/crm/services/surveys.py).

    results = await satisfaction_results(session, principal, start, end)
    results.total.nps, [(s.label, s.csat_percent) for s in results.by_agent]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Survey, Ticket
from app.kernel import i18n
from app.security.models import Team, User
from app.security.permissions import CRM_SURVEY_READ
from app.security.principal import Principal
from app.security.record_rules import restrict, visibility_clause

_ONE_PLACE = Decimal("0.1")
_TWO_PLACES = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Scores:
    key: int | None  # the user or team id (None: nobody / no team, or the total)
    label: str
    surveys: int
    responses: int
    csat_answers: int
    csat_sum: int
    satisfied: int  # CSAT 4 or 5
    nps_answers: int
    promoters: int  # NPS 9–10
    detractors: int  # NPS 0–6

    @property
    def response_rate(self) -> Decimal | None:
        """Fraction 0–1 (format_percent shows it), None without surveys."""
        return _ratio(self.responses, self.surveys)

    @property
    def average_csat(self) -> Decimal | None:
        if not self.csat_answers:
            return None
        return (Decimal(self.csat_sum) / self.csat_answers).quantize(_TWO_PLACES, ROUND_HALF_UP)

    @property
    def csat_percent(self) -> Decimal | None:
        return _ratio(self.satisfied, self.csat_answers)

    @property
    def nps(self) -> Decimal | None:
        if not self.nps_answers:
            return None
        score = Decimal(100 * (self.promoters - self.detractors)) / self.nps_answers
        return score.quantize(_ONE_PLACE, ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Results:
    total: Scores
    by_agent: list[Scores]
    by_team: list[Scores]


def _ratio(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) / whole).quantize(Decimal("0.0001"), ROUND_HALF_UP) if whole else None


def _measures() -> list[Any]:
    answered = Survey.answered_at.is_not(None)
    return [
        func.count().label("surveys"),
        func.count().filter(answered).label("responses"),
        func.count(Survey.csat).filter(answered).label("csat_answers"),
        func.coalesce(func.sum(Survey.csat).filter(answered), 0).label("csat_sum"),
        func.count().filter(answered, Survey.csat >= 4).label("satisfied"),
        func.count(Survey.nps).filter(answered).label("nps_answers"),
        func.count().filter(answered, Survey.nps >= 9).label("promoters"),
        func.count().filter(answered, Survey.nps <= 6).label("detractors"),
    ]


def _scores(key: int | None, label: str, row: Any) -> Scores:
    return Scores(
        key,
        label,
        int(row.surveys),
        int(row.responses),
        int(row.csat_answers),
        int(row.csat_sum),
        int(row.satisfied),
        int(row.nps_answers),
        int(row.promoters),
        int(row.detractors),
    )


async def _labels(session: AsyncSession, key: Any, label: Any, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {k: v for k, v in (await session.execute(select(key, label).where(key.in_(ids)))).all()}


async def satisfaction_results(
    session: AsyncSession, principal: Principal, start: datetime, end: datetime
) -> Results:
    """Results for surveys sent in [start, end): three aggregate statements, whatever the size."""

    def base(*group: Any) -> Any:
        stmt = select(*group, *_measures()).where(Survey.created_at >= start, Survey.created_at < end)
        stmt = restrict(stmt, Survey, principal, CRM_SURVEY_READ)
        return stmt.group_by(*group) if group else stmt

    total_row = (await session.execute(base())).one()
    agent_rows = (await session.execute(base(Survey.owner_id))).all()
    team_rows = (await session.execute(base(Survey.team_id))).all()
    user_ids = [r.owner_id for r in agent_rows if r.owner_id is not None]
    team_ids = [r.team_id for r in team_rows if r.team_id is not None]
    names = await _labels(session, User.id, User.full_name, user_ids)
    teams = await _labels(session, Team.id, Team.name, team_ids)
    nobody, no_team = i18n.gettext("Unassigned"), i18n.gettext("No team")
    by_agent = [_scores(r.owner_id, names.get(r.owner_id, nobody), r) for r in agent_rows]
    by_team = [_scores(r.team_id, teams.get(r.team_id, no_team), r) for r in team_rows]
    return Results(
        total=_scores(None, i18n.gettext("All"), total_row),
        by_agent=sorted(by_agent, key=lambda s: (s.key is None, s.label.casefold())),
        by_team=sorted(by_team, key=lambda s: (s.key is None, s.label.casefold())),
    )


@dataclass(frozen=True, slots=True)
class Comment:
    survey: Survey
    ticket_number: str
    ticket_id: int
    agent: str


async def recent_comments(
    session: AsyncSession, principal: Principal, start: datetime, end: datetime, *, limit: int = 10
) -> list[Comment]:
    """The latest answers with a comment in the period (what customers actually said)."""
    stmt = (
        select(Survey, Ticket.number, Ticket.id, User.full_name)
        .join(Ticket, Ticket.id == Survey.ticket_id)
        .outerjoin(User, User.id == Survey.owner_id)
        .where(
            Survey.created_at >= start,
            Survey.created_at < end,
            Survey.answered_at.is_not(None),
            Survey.comment != "",
        )
        .order_by(Survey.answered_at.desc(), Survey.id.desc())
        .limit(limit)
    )
    visible = visibility_clause(Survey, principal, CRM_SURVEY_READ)  # restrict() for multi-column rows
    rows = await session.execute(stmt if visible is None else stmt.where(visible))
    return [Comment(s, number, tid, name or "") for s, number, tid, name in rows.all()]
