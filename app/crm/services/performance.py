"""Sales performance (CRM-6): per rep and per team, one period against the one before it.

* revenue — the totals of sales orders confirmed, fulfilled or invoiced, by order date;
* win rate — won ÷ (won + lost) among deals closed in the period;
* average deal size — the mean amount of the deals won;
* sales cycle — mean days from a won deal's creation to its win;
* pipeline by stage — what is open now, per stage (a snapshot, not a period figure).

Money is in the organisation's currency; orders and deals in other currencies are counted apart.
Everything is read under ``crm.report.read`` with its record rules: a rep sees their own
figures, a manager the team's, an administrator everybody's.

    period = period_for("quarter", today)           # or Period(date(2026, 1, 5), date(2026, 2, 4))
    report = await performance(session, principal, period, team_id=east_id)
    report.total.current.revenue, report.total.previous.win_rate, report.by_rep, report.pipeline
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Opportunity, PipelineStage, SalesOrder
from app.crm.services.fields import cents, clean_date
from app.crm.services.forecast import add_months, tenant_zone
from app.crm.services.opportunities import base_currency
from app.crm.services.reps import narrowed, team_names, user_names
from app.kernel.errors import FieldError, ValidationFailed
from app.security.permissions import CRM_REPORT_READ
from app.security.principal import Principal

ZERO = Decimal("0")
REVENUE_STATUSES = ("confirmed", "fulfilled", "invoiced")
PRESETS = ("month", "quarter", "year", "custom")
MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class Period:
    """Calendar days ``start`` … ``end``, both included."""

    start: date
    end: date
    preset: str = "custom"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period before: the previous calendar month/quarter/year, else as many days."""
        if self.preset in ("month", "quarter", "year"):
            span = {"month": 1, "quarter": 3, "year": 12}[self.preset]
            start = add_months(self.start, -span)
            return Period(start, self.start - timedelta(days=1), self.preset)
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))


def choose_period(preset: object, start: object, end: object, today: date) -> Period:
    """The period a reader picked: a preset, or custom dates (``ValidationFailed`` if unusable)."""
    choice = str(preset or "month")
    if choice not in PRESETS:
        raise ValidationFailed(
            [FieldError("period", "Choose one of: {choices}.", {"choices": ", ".join(PRESETS)})]
        )
    if choice != "custom":
        return period_for(choice, today)
    errors: list[FieldError] = []
    first = clean_date(start, "start", errors, required=True)
    last = clean_date(end, "end", errors, required=True)
    if first and last and last < first:
        errors.append(FieldError("end", "The end date must be on or after the start date."))
    elif first and last and (last - first).days + 1 > MAX_DAYS:
        errors.append(FieldError("end", "Choose a period of at most {n} days.", {"n": MAX_DAYS}))
    if errors or first is None or last is None:
        raise ValidationFailed(errors)
    return Period(first, last)


def period_for(preset: str, today: date) -> Period:
    """This month, quarter or year (the whole calendar period that contains ``today``)."""
    if preset == "quarter":
        start = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
        return Period(start, add_months(start, 3) - timedelta(days=1), "quarter")
    if preset == "year":
        return Period(date(today.year, 1, 1), date(today.year, 12, 31), "year")
    start = today.replace(day=1)
    return Period(start, add_months(start, 1) - timedelta(days=1), "month")


@dataclass
class Figures:
    revenue: Decimal = ZERO
    orders: int = 0
    won: int = 0
    lost: int = 0
    won_amount: Decimal = ZERO  # deals won in the organisation's currency
    won_counted: int = 0  # … and how many they are (the average's denominator)
    cycle_seconds: float = 0.0

    @property
    def win_rate(self) -> Decimal | None:
        """0.0 … 1.0; None when nothing closed (no rate rather than a misleading 0 %)."""
        closed = self.won + self.lost
        return (Decimal(self.won) / closed).quantize(Decimal("0.0001"), ROUND_HALF_UP) if closed else None

    @property
    def average_deal(self) -> Decimal | None:
        return cents(self.won_amount / self.won_counted) if self.won_counted else None

    @property
    def cycle_days(self) -> Decimal | None:
        if not self.won:
            return None
        return (Decimal(self.cycle_seconds) / self.won / 86400).quantize(Decimal("0.1"), ROUND_HALF_UP)


@dataclass
class PerformanceRow:
    key: int | None
    name: str = ""
    current: Figures = field(default_factory=Figures)
    previous: Figures = field(default_factory=Figures)
    open_pipeline: Decimal = ZERO


@dataclass
class StagePipeline:
    stage: PipelineStage
    count: int = 0
    amount: Decimal = ZERO
    raw_weighted: Decimal = ZERO

    @property
    def weighted(self) -> Decimal:
        return cents(self.raw_weighted / 100)


@dataclass
class Performance:
    period: Period
    previous: Period
    currency: str
    total: PerformanceRow
    by_rep: list[PerformanceRow]
    by_team: list[PerformanceRow]
    pipeline: list[StagePipeline]
    other_currencies: dict[str, int]


class _Rows:
    """The total, per-rep and per-team rows, filled as the query results arrive."""

    def __init__(self) -> None:
        self.total = PerformanceRow(None)
        self.reps: dict[int | None, PerformanceRow] = {}
        self.teams: dict[int | None, PerformanceRow] = {}

    def each(self, owner: int | None, team: int | None) -> tuple[PerformanceRow, ...]:
        rep = self.reps.setdefault(owner, PerformanceRow(owner))
        return self.total, rep, self.teams.setdefault(team, PerformanceRow(team))


async def performance(
    session: AsyncSession,
    principal: Principal,
    period: Period,
    *,
    owner_id: int | None = None,
    team_id: int | None = None,
) -> Performance:
    previous = period.previous()
    currency = base_currency()
    rows = _Rows()
    others: dict[str, int] = {}
    await _revenue(session, principal, period, previous, currency, owner_id, team_id, rows, others)
    await _closed(session, principal, period, previous, currency, owner_id, team_id, rows)
    pipeline = await _pipeline(session, principal, currency, owner_id, team_id, rows, others)
    names = await user_names(session, rows.reps)
    tnames = await team_names(session, rows.teams)
    for key, row in rows.reps.items():
        row.name = names.get(key, "") if key is not None else ""
    for key, row in rows.teams.items():
        row.name = tnames.get(key, "") if key is not None else ""
    return Performance(
        period=period,
        previous=previous,
        currency=currency,
        total=rows.total,
        by_rep=_ordered(rows.reps),
        by_team=_ordered(rows.teams),
        pipeline=pipeline,
        other_currencies=dict(sorted(others.items())),
    )


async def _revenue(
    session: AsyncSession,
    principal: Principal,
    period: Period,
    previous: Period,
    currency: str,
    owner_id: int | None,
    team_id: int | None,
    rows: _Rows,
    others: dict[str, int],
) -> None:
    current = (SalesOrder.order_date >= period.start).label("current")
    result = await session.execute(
        select(
            SalesOrder.owner_id,
            SalesOrder.team_id,
            SalesOrder.currency,
            current,
            func.count(),
            func.sum(SalesOrder.total),
        )
        .where(
            SalesOrder.status.in_(REVENUE_STATUSES),
            SalesOrder.order_date >= previous.start,
            SalesOrder.order_date <= period.end,
            *narrowed(SalesOrder, principal, CRM_REPORT_READ, owner_id, team_id),
        )
        .group_by(SalesOrder.owner_id, SalesOrder.team_id, SalesOrder.currency, current)
    )
    for owner, team, cur, is_current, count, total in result.all():
        if cur != currency:
            if is_current:
                others[cur] = others.get(cur, 0) + int(count)
            continue
        for row in rows.each(owner, team):
            figures = row.current if is_current else row.previous
            figures.revenue += Decimal(total)
            figures.orders += int(count)


def _moment(day: date, zone: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(zone))


async def _closed(
    session: AsyncSession,
    principal: Principal,
    period: Period,
    previous: Period,
    currency: str,
    owner_id: int | None,
    team_id: int | None,
    rows: _Rows,
) -> None:
    """Deals won or lost in either period (by the organisation's calendar day of closing)."""
    zone = tenant_zone()
    current = (Opportunity.closed_at >= _moment(period.start, zone)).label("current")
    in_base = Opportunity.currency == currency
    result = await session.execute(
        select(
            Opportunity.owner_id,
            Opportunity.team_id,
            current,
            PipelineStage.is_won,
            func.count(),
            func.sum(case((in_base, Opportunity.amount), else_=0)),
            func.count().filter(in_base),
            func.sum(func.greatest(func.extract("epoch", Opportunity.closed_at - Opportunity.created_at), 0)),
        )
        .join(PipelineStage, PipelineStage.id == Opportunity.stage_id)
        .where(
            PipelineStage.is_won | PipelineStage.is_lost,
            Opportunity.closed_at >= _moment(previous.start, zone),
            Opportunity.closed_at < _moment(period.end + timedelta(days=1), zone),
            *narrowed(Opportunity, principal, CRM_REPORT_READ, owner_id, team_id),
        )
        .group_by(Opportunity.owner_id, Opportunity.team_id, current, PipelineStage.is_won)
    )
    for owner, team, is_current, is_won, count, amount, counted, seconds in result.all():
        for row in rows.each(owner, team):
            figures = row.current if is_current else row.previous
            if is_won:
                figures.won += int(count)
                figures.won_amount += Decimal(amount)
                figures.won_counted += int(counted)
                figures.cycle_seconds += float(seconds or 0)
            else:
                figures.lost += int(count)


async def _pipeline(
    session: AsyncSession,
    principal: Principal,
    currency: str,
    owner_id: int | None,
    team_id: int | None,
    rows: _Rows,
    others: dict[str, int],
) -> list[StagePipeline]:
    stages = (
        await session.execute(
            select(PipelineStage)
            .where(PipelineStage.is_won.is_(False), PipelineStage.is_lost.is_(False))
            .order_by(PipelineStage.position, PipelineStage.id)
        )
    ).scalars()
    by_stage = {s.id: StagePipeline(s) for s in stages}
    result = await session.execute(
        select(
            Opportunity.stage_id,
            Opportunity.owner_id,
            Opportunity.team_id,
            Opportunity.currency,
            func.count(),
            func.sum(Opportunity.amount),
            func.sum(Opportunity.amount * Opportunity.probability),
        )
        .where(
            Opportunity.stage_id.in_(list(by_stage)),
            *narrowed(Opportunity, principal, CRM_REPORT_READ, owner_id, team_id),
        )
        .group_by(Opportunity.stage_id, Opportunity.owner_id, Opportunity.team_id, Opportunity.currency)
    )
    for stage_id, owner, team, cur, count, amount, weighted in result.all():
        if cur != currency:
            others[cur] = others.get(cur, 0) + int(count)
            continue
        line = by_stage[stage_id]
        line.count += int(count)
        line.amount += Decimal(amount)
        line.raw_weighted += Decimal(weighted)
        for row in rows.each(owner, team):
            row.open_pipeline += Decimal(amount)
    # Inactive stages hold no deals (stages.set_stage_active); show them only if they somehow do.
    return [line for line in by_stage.values() if line.stage.active or line.count]


def _ordered(rows: dict[int | None, PerformanceRow]) -> list[PerformanceRow]:
    """Highest revenue first; the unassigned row last."""
    return sorted(
        rows.values(),
        key=lambda r: (r.key is None, -r.current.revenue, -r.current.won_amount, r.name),
    )


def change(current: Decimal | None, previous: Decimal | None) -> Decimal | None:
    """Relative change (0.25 = +25 %); None when there is nothing to compare with."""
    if current is None or previous is None or previous == 0:
        return None
    return ((current - previous) / previous).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def any_figures(row: PerformanceRow) -> bool:
    return bool(row.current.orders or row.current.won or row.current.lost or row.open_pipeline)
