"""The kanban board (CRM-3): one column per active stage, its cards and totals, and card moves.

    board = await load_board(session, principal, owner_id=None, team_id=east_id)
    for column in board.columns: column.stage, column.cards, column.count, column.amount
    opp = await move_card(session, principal, opp.id, stage_id, before_id=7, lost_reason=None)

Reads go through the record rules (a rep's board shows their deals, a manager's the team's). A
column shows at most ``CARDS_PER_COLUMN`` cards — its totals always cover every card it holds —
and the won and lost columns show the deals closed in the last ``CLOSED_DAYS`` days, newest first.

Query shape (for the 150 ms target with 20,000 deals, see tests/crm/test_board.py): one LATERAL
query per column kind reads each open column in ``(owner_id, stage_id, board_position)`` or
``(stage_id, board_position)`` index order with a LIMIT, so a rep's board never reads the
tenant's other deals; one GROUP BY gives the totals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, literal, or_, select, true, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, Opportunity, PipelineStage
from app.crm.services.fields import cents
from app.crm.services.opportunities import base_currency, get_writable_opportunity, move_to_stage
from app.crm.services.reps import narrowed
from app.kernel.db import utcnow
from app.security.models import User
from app.security.permissions import CRM_OPPORTUNITY_READ
from app.security.principal import Principal

CARDS_PER_COLUMN = 25
CLOSED_DAYS = 90
# Below this gap two neighbours are renumbered before a card goes between them (float precision).
MIN_GAP = 1e-6
SPACING = 1024.0


@dataclass(frozen=True)
class Card:
    id: int
    name: str
    account_id: int
    account_name: str
    amount: Decimal
    currency: str
    probability: int
    expected_close_date: date | None
    owner_id: int | None
    owner_name: str | None
    closed_at: datetime | None
    lost_reason: str | None

    @property
    def weighted(self) -> Decimal:
        return cents(self.amount * self.probability / 100)


@dataclass
class Column:
    stage: PipelineStage
    cards: list[Card] = field(default_factory=list)
    count: int = 0
    amount: dict[str, Decimal] = field(default_factory=dict)  # by currency, base currency first
    weighted: dict[str, Decimal] = field(default_factory=dict)

    @property
    def closing(self) -> bool:
        return self.stage.is_won or self.stage.is_lost

    @property
    def more(self) -> int:
        """Cards of this column not shown on the board (the column links to the full list)."""
        return max(0, self.count - len(self.cards))


@dataclass
class Board:
    columns: list[Column]
    currency: str
    closed_since: datetime

    @property
    def stages(self) -> list[PipelineStage]:
        return [c.stage for c in self.columns]

    @property
    def open_count(self) -> int:
        return sum(c.count for c in self.columns if not c.closing)

    @property
    def open_amount(self) -> Decimal:
        """The open pipeline in the organisation's currency (deals in others are shown per column)."""
        return sum(
            (c.amount.get(self.currency, Decimal(0)) for c in self.columns if not c.closing), Decimal(0)
        )

    @property
    def open_weighted(self) -> Decimal:
        return sum(
            (c.weighted.get(self.currency, Decimal(0)) for c in self.columns if not c.closing), Decimal(0)
        )

    def column(self, stage_id: int) -> Column | None:
        return next((c for c in self.columns if c.stage.id == stage_id), None)


_CARD_COLUMNS = (
    Opportunity.id,
    Opportunity.name,
    Opportunity.account_id,
    Account.name.label("account_name"),
    Opportunity.amount,
    Opportunity.currency,
    Opportunity.probability,
    Opportunity.expected_close_date,
    Opportunity.owner_id,
    User.full_name.label("owner_name"),
    Opportunity.closed_at,
    Opportunity.lost_reason,
)


def _cards_query(stage_ids: list[int], clauses: list[Any], *, closing: bool, limit: int) -> Any:
    """Up to ``limit`` cards of each stage in one statement (a LATERAL subquery per stage row)."""
    order = (
        (Opportunity.closed_at.desc(), Opportunity.id.desc())
        if closing
        else (Opportunity.board_position, Opportunity.id)
    )
    cards = (
        select(*_CARD_COLUMNS)
        .join(Account, Account.id == Opportunity.account_id)
        .outerjoin(User, User.id == Opportunity.owner_id)
        .where(Opportunity.stage_id == PipelineStage.id, *clauses)
        .order_by(*order)
        .limit(limit)
        .lateral("card")
    )
    return (
        select(PipelineStage.id.label("column_id"), cards)
        .select_from(PipelineStage)
        .join(cards, true())
        .where(PipelineStage.id.in_(stage_ids))
    )


async def load_board(
    session: AsyncSession,
    principal: Principal,
    *,
    owner_id: int | None = None,
    team_id: int | None = None,
    stage_ids: list[int] | None = None,
    limit: int = CARDS_PER_COLUMN,
) -> Board:
    """The board as the principal may see it, narrowed to one rep or team. ``stage_ids`` reads the
    cards of those columns only (after a move); totals always cover every column."""
    stages = list(
        (
            await session.execute(
                select(PipelineStage)
                .where(PipelineStage.active.is_(True))
                .order_by(PipelineStage.position, PipelineStage.id)
            )
        ).scalars()
    )
    closed_since = utcnow() - timedelta(days=CLOSED_DAYS)
    clauses = narrowed(Opportunity, principal, CRM_OPPORTUNITY_READ, owner_id, team_id)
    columns = {s.id: Column(stage=s) for s in stages}
    wanted = [s for s in stages if stage_ids is None or s.id in stage_ids]
    open_ids = [s.id for s in wanted if not (s.is_won or s.is_lost)]
    closing_ids = [s.id for s in wanted if s.is_won or s.is_lost]
    for ids, closing in ((open_ids, False), (closing_ids, True)):
        if not ids:
            continue
        extra = [Opportunity.closed_at >= closed_since] if closing else []
        rows = await session.execute(_cards_query(ids, [*clauses, *extra], closing=closing, limit=limit))
        for row in rows.mappings():
            columns[row["column_id"]].cards.append(Card(**{k: v for k, v in row.items() if k != "column_id"}))
    if stages:
        await _add_totals(session, columns, clauses, closed_since)
    currency = base_currency()
    for column in columns.values():
        column.amount = _base_first(column.amount, currency)
        column.weighted = _base_first(column.weighted, currency)
    return Board(columns=list(columns.values()), currency=currency, closed_since=closed_since)


async def _add_totals(
    session: AsyncSession, columns: dict[int, Column], clauses: list[Any], closed_since: datetime
) -> None:
    stmt = (
        select(
            Opportunity.stage_id,
            Opportunity.currency,
            func.count(),
            func.sum(Opportunity.amount),
            func.sum(Opportunity.amount * Opportunity.probability),
        )
        .where(
            Opportunity.stage_id.in_(list(columns)),
            or_(Opportunity.closed_at.is_(None), Opportunity.closed_at >= closed_since),
            *clauses,
        )
        .group_by(Opportunity.stage_id, Opportunity.currency)
    )
    for stage_id, currency, count, amount, weighted in (await session.execute(stmt)).all():
        column = columns[stage_id]
        column.count += int(count)
        column.amount[currency] = Decimal(amount)
        column.weighted[currency] = cents(Decimal(weighted) / 100)


def _base_first(sums: dict[str, Decimal], base: str) -> dict[str, Decimal]:
    return dict(sorted(sums.items(), key=lambda kv: (kv[0] != base, kv[0])))


# --- moving cards ------------------------------------------------------------------------------


async def move_card(
    session: AsyncSession,
    principal: Principal,
    opportunity_id: int,
    stage_id: object,
    *,
    before_id: int | None = None,
    after_id: int | None = None,
    lost_reason: object = None,
) -> Opportunity:
    """Drop a card into a column: before ``before_id`` (else after ``after_id``, else on top).

    The neighbours are the cards the user saw; a position between them is between them in every
    view of the column, since each view is the stage's one order, filtered.
    """
    opp = await get_writable_opportunity(session, principal, opportunity_id)
    target = stage_id if isinstance(stage_id, int) else None
    position = None
    if target is not None:
        stage = await session.get(PipelineStage, target)
        if stage is not None and not (stage.is_won or stage.is_lost):
            position = await drop_position(session, principal, target, opp.id, before_id, after_id)
    return await move_to_stage(
        session, principal, opp.id, stage_id, lost_reason=lost_reason, board_position=position
    )


async def _visible_position(
    session: AsyncSession, principal: Principal, stage_id: int, card_id: int | None
) -> float | None:
    if card_id is None:
        return None
    stmt = select(Opportunity.board_position).where(
        Opportunity.id == card_id,
        Opportunity.stage_id == stage_id,
        *narrowed(Opportunity, principal, CRM_OPPORTUNITY_READ),
    )
    value = await session.scalar(stmt)
    return None if value is None else float(value)


async def _neighbour(
    session: AsyncSession, stage_id: int, moving_id: int, card_id: int, position: float, *, before: bool
) -> float | None:
    """The stage's card just before (or after) ``card_id`` in board order, any owner."""
    key = (Opportunity.board_position, Opportunity.id)
    bound = (literal(position), literal(card_id))
    stmt = select(Opportunity.board_position).where(
        Opportunity.stage_id == stage_id,
        Opportunity.id != moving_id,
        (tuple_(*key) < tuple_(*bound)) if before else (tuple_(*key) > tuple_(*bound)),
    )
    stmt = stmt.order_by(*(k.desc() for k in key) if before else key).limit(1)
    value = await session.scalar(stmt)
    return None if value is None else float(value)


async def drop_position(
    session: AsyncSession,
    principal: Principal,
    stage_id: int,
    moving_id: int,
    before_id: int | None,
    after_id: int | None,
) -> float | None:
    """The board position for a card dropped before ``before_id`` or after ``after_id``."""
    for attempt in range(2):
        anchor_id = before_id if before_id not in (None, moving_id) else None
        before = anchor_id is not None
        if not before:
            anchor_id = after_id if after_id not in (None, moving_id) else None
        anchor = await _visible_position(session, principal, stage_id, anchor_id)
        if anchor is None or anchor_id is None:
            return None
        other = await _neighbour(session, stage_id, moving_id, anchor_id, anchor, before=before)
        if other is None:
            return anchor - SPACING if before else anchor + SPACING
        if abs(anchor - other) >= MIN_GAP or attempt:
            return (anchor + other) / 2
        await renumber_column(session, stage_id)
    return None  # pragma: no cover - the loop returns on its second pass


async def renumber_column(session: AsyncSession, stage_id: int) -> None:
    """Space a stage's cards out again (1024, 2048, …) in their current order: one UPDATE, rare."""
    ranked = (
        select(
            Opportunity.id.label("id"),
            func.row_number().over(order_by=(Opportunity.board_position, Opportunity.id)).label("rank"),
        )
        .where(Opportunity.stage_id == stage_id)
        .subquery()
    )
    await session.execute(
        update(Opportunity)
        .where(and_(Opportunity.id == ranked.c.id))
        .values(board_position=ranked.c.rank * SPACING)
        .execution_options(synchronize_session=False)
    )
