"""The weighted sales forecast (CRM-3): open deals by expected-close month, by rep and by team.

An open deal counts ``amount × probability / 100`` in the month of its expected close date;
``committed`` is what was won in each month (by the month, in the organisation's time zone, of
the day it was won). Deals whose close date has passed stay visible as *past due*, deals without
a date as *undated*. Figures are in the organisation's currency: deals in other currencies are
counted apart and named, never added at a made-up rate.

    fc = await forecast(session, principal, start=date(2026, 12, 1), months=6, team_id=east_id)
    fc.months, fc.total[month].weighted, fc.committed[month], fc.by_rep[0].weighted[month]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Opportunity, PipelineStage
from app.crm.services.fields import cents
from app.crm.services.opportunities import base_currency
from app.crm.services.reps import narrowed, team_names, user_names
from app.kernel import context
from app.security.permissions import CRM_OPPORTUNITY_READ
from app.security.principal import Principal

ZERO = Decimal("0")
HORIZONS = (3, 6, 12)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def tenant_zone() -> str:
    tenant = context.current_tenant()
    return tenant.timezone if tenant else "UTC"


@dataclass
class Bucket:
    """Open deals in one cell: how many, their amount, their weighted amount (cents at the end)."""

    count: int = 0
    amount: Decimal = ZERO
    raw_weighted: Decimal = ZERO  # Σ amount × probability, divided once so rounding happens once

    def add(self, count: int, amount: Decimal, weighted: Decimal) -> None:
        self.count += count
        self.amount += amount
        self.raw_weighted += weighted

    @property
    def weighted(self) -> Decimal:
        return cents(self.raw_weighted / 100)


@dataclass
class ForecastRow:
    """One rep or team across the horizon."""

    key: int | None
    name: str
    cells: dict[date, Bucket] = field(default_factory=dict)
    won: Decimal = ZERO

    def cell(self, month: date) -> Bucket:
        return self.cells.setdefault(month, Bucket())

    @property
    def total(self) -> Bucket:
        out = Bucket()
        for b in self.cells.values():
            out.add(b.count, b.amount, b.raw_weighted)
        return out


@dataclass
class Forecast:
    months: list[date]
    currency: str
    total: dict[date, Bucket]
    committed: dict[date, Decimal]
    by_rep: list[ForecastRow]
    by_team: list[ForecastRow]
    past_due: Bucket
    undated: Bucket
    other_currencies: dict[str, int]  # currency → number of deals left out

    @property
    def horizon(self) -> Bucket:
        out = Bucket()
        for b in self.total.values():
            out.add(b.count, b.amount, b.raw_weighted)
        return out

    @property
    def committed_total(self) -> Decimal:
        return sum(self.committed.values(), ZERO)


async def forecast(
    session: AsyncSession,
    principal: Principal,
    *,
    start: date,
    months: int = 6,
    owner_id: int | None = None,
    team_id: int | None = None,
) -> Forecast:
    """The forecast for ``months`` calendar months from ``start``'s month, as the principal sees it."""
    first = start.replace(day=1)
    month_list = [add_months(first, i) for i in range(months)]
    end = add_months(first, months)
    currency = base_currency()
    clauses = narrowed(Opportunity, principal, CRM_OPPORTUNITY_READ, owner_id, team_id)
    reps: dict[int | None, ForecastRow] = {}
    teams: dict[int | None, ForecastRow] = {}
    total = {m: Bucket() for m in month_list}
    past_due, undated = Bucket(), Bucket()
    others: dict[str, int] = {}

    def rows_for(owner: int | None, team: int | None) -> tuple[ForecastRow, ForecastRow]:
        return reps.setdefault(owner, ForecastRow(owner, "")), teams.setdefault(team, ForecastRow(team, ""))

    month = func.date_trunc("month", Opportunity.expected_close_date).label("month")
    open_rows = await session.execute(
        select(
            Opportunity.owner_id,
            Opportunity.team_id,
            Opportunity.currency,
            month,
            func.count(),
            func.sum(Opportunity.amount),
            func.sum(Opportunity.amount * Opportunity.probability),
        )
        .join(PipelineStage, PipelineStage.id == Opportunity.stage_id)
        .where(
            PipelineStage.is_won.is_(False),
            PipelineStage.is_lost.is_(False),
            (Opportunity.expected_close_date < end) | Opportunity.expected_close_date.is_(None),
            *clauses,
        )
        .group_by(Opportunity.owner_id, Opportunity.team_id, Opportunity.currency, month)
    )
    for owner, team, cur, bucket_month, count, amount, weighted in open_rows.all():
        if cur != currency:
            others[cur] = others.get(cur, 0) + int(count)
            continue
        values = (int(count), Decimal(amount), Decimal(weighted))
        if bucket_month is None:
            undated.add(*values)
            continue
        m = bucket_month.date() if isinstance(bucket_month, datetime) else bucket_month
        if m < first:
            past_due.add(*values)
            continue
        total[m].add(*values)
        rep, tm = rows_for(owner, team)
        rep.cell(m).add(*values)
        tm.cell(m).add(*values)

    committed = await _committed(session, clauses, first, end, currency, others, rows_for)
    names = await user_names(session, reps)
    tnames = await team_names(session, teams)
    for key, row in reps.items():
        row.name = names.get(key, "") if key is not None else ""
    for key, row in teams.items():
        row.name = tnames.get(key, "") if key is not None else ""
    return Forecast(
        months=month_list,
        currency=currency,
        total=total,
        committed=committed,
        by_rep=_ordered(reps),
        by_team=_ordered(teams),
        past_due=past_due,
        undated=undated,
        other_currencies=dict(sorted(others.items())),
    )


async def _committed(
    session: AsyncSession,
    clauses: list[Any],
    first: date,
    end: date,
    currency: str,
    others: dict[str, int],
    rows_for: Any,
) -> dict[date, Decimal]:
    """Won amounts per month of winning (organisation's time zone), per rep and team too."""
    zone = tenant_zone()
    tz = ZoneInfo(zone)
    month = func.date_trunc("month", func.timezone(zone, Opportunity.closed_at)).label("month")
    rows = await session.execute(
        select(
            Opportunity.owner_id,
            Opportunity.team_id,
            Opportunity.currency,
            month,
            func.count(),
            func.sum(Opportunity.amount),
        )
        .join(PipelineStage, PipelineStage.id == Opportunity.stage_id)
        .where(
            PipelineStage.is_won.is_(True),
            Opportunity.closed_at >= datetime(first.year, first.month, 1, tzinfo=tz),
            Opportunity.closed_at < datetime(end.year, end.month, 1, tzinfo=tz),
            *clauses,
        )
        .group_by(Opportunity.owner_id, Opportunity.team_id, Opportunity.currency, month)
    )
    committed: dict[date, Decimal] = {}
    for owner, team, cur, won_month, count, amount in rows.all():
        if cur != currency:
            others[cur] = others.get(cur, 0) + int(count)
            continue
        m = won_month.date() if isinstance(won_month, datetime) else won_month
        committed[m] = committed.get(m, ZERO) + Decimal(amount)
        rep, tm = rows_for(owner, team)
        rep.won += Decimal(amount)
        tm.won += Decimal(amount)
    return committed


def _ordered(rows: dict[int | None, ForecastRow]) -> list[ForecastRow]:
    """Biggest weighted forecast first; the unassigned row last."""
    return sorted(rows.values(), key=lambda r: (r.key is None, -r.total.raw_weighted, -r.won, r.name))
