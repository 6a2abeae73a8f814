"""Pipeline stages (CRM-3): the board's columns, their order and win probabilities.

The migration seeds seven stages; an administrator renames them, changes probabilities, adds
stages, reorders and switches them off. Two stages are special and stay exactly one each: the won
stage (probability 100) and the lost stage (probability 0) — they close an opportunity, so they can
be renamed but never switched off.

    stages = await list_stages(session)                         # every stage, in board order
    stage = await create_stage(session, {"name": "Demo", "probability": "50"})
    await update_stage(session, stage.id, {"name": "Product demo", "probability": "55"})
    await move_stage(session, stage.id, -1)                      # one place to the left
    await set_stage_active(session, stage.id, False)             # refused while deals sit in it
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.errors import InvalidState
from app.crm.models import Opportunity, PipelineStage
from app.crm.services.fields import clean_int, clean_text
from app.kernel.audit import audited
from app.kernel.errors import FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy


class StageInUse(InvalidState):
    def __init__(self, count: int) -> None:
        super().__init__(
            "stage_in_use",
            lazy("Open opportunities in this stage: {count}. Move them to another stage first."),
            count=count,
        )


class ClosingStageRequired(InvalidState):
    def __init__(self) -> None:
        super().__init__(
            "closing_stage_required",
            lazy("The won and lost stages close opportunities; they cannot be switched off."),
        )


class ClosingStageFixed(InvalidState):
    def __init__(self) -> None:
        super().__init__(
            "closing_stage_fixed", lazy("The won and lost stages always come last on the board.")
        )


def kind_of(stage: PipelineStage) -> str:
    """One of ``won``, ``lost`` or ``open``."""
    return "won" if stage.is_won else "lost" if stage.is_lost else "open"


async def list_stages(session: AsyncSession, *, active_only: bool = False) -> list[PipelineStage]:
    stmt = select(PipelineStage).order_by(PipelineStage.position, PipelineStage.id)
    if active_only:
        stmt = stmt.where(PipelineStage.active.is_(True))
    return list((await session.execute(stmt)).scalars())


async def get_stage(session: AsyncSession, stage_id: int) -> PipelineStage:
    stage = await session.get(PipelineStage, stage_id)
    if stage is None:
        raise NotFound(lazy("pipeline stage"))
    return stage


async def open_counts(session: AsyncSession) -> dict[int, int]:
    """How many opportunities each stage holds (open stages hold only open deals)."""
    stmt = select(Opportunity.stage_id, func.count()).group_by(Opportunity.stage_id)
    return {int(s): int(n) for s, n in (await session.execute(stmt)).all()}


def _key_for(name: str, taken: set[str]) -> str:
    """A stable key from the first name ("Product demo" → product_demo; 样品 → stage_8)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")[:30] or "stage"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def _clean(data: Mapping[str, Any], errors: list[FieldError], stage: PipelineStage | None) -> dict[str, Any]:
    name = clean_text(data.get("name"), "name", errors, required=True, max_len=80)
    probability = clean_int(data.get("probability"), "probability", errors, minimum=0, maximum=100)
    if stage is not None and stage.is_won and probability != 100:
        errors.append(FieldError("probability", "The won stage always has probability 100."))
    if stage is not None and stage.is_lost and probability != 0:
        errors.append(FieldError("probability", "The lost stage always has probability 0."))
    return {"name": name, "probability": probability}


async def _check_name_free(
    session: AsyncSession, name: str, errors: list[FieldError], stage_id: int | None
) -> None:
    stmt = select(PipelineStage.id).where(func.lower(PipelineStage.name) == name.lower())
    if stage_id is not None:
        stmt = stmt.where(PipelineStage.id != stage_id)
    if name and (await session.execute(stmt)).first() is not None:
        errors.append(FieldError("name", "Another stage already has this name."))


async def create_stage(session: AsyncSession, data: Mapping[str, Any]) -> PipelineStage:
    """A new open stage, placed just before the won and lost stages."""
    errors: list[FieldError] = []
    values = _clean(data, errors, None)
    await _check_name_free(session, values["name"], errors, None)
    if errors:
        raise ValidationFailed(errors)
    stages = await list_stages(session)
    open_positions = [s.position for s in stages if not (s.is_won or s.is_lost)]
    position = (max(open_positions) if open_positions else 0) + 1
    async with audited(session, "crm.pipeline_stage_created"):
        # Make room: every stage from the new position on shifts one place right.
        for s in stages:
            if s.position >= position:
                s.position += 1
        stage = PipelineStage(
            key=_key_for(values["name"], {s.key for s in stages}),
            position=position,
            is_won=False,
            is_lost=False,
            active=True,
            **values,
        )
        session.add(stage)
        await session.flush()
    return stage


async def update_stage(session: AsyncSession, stage_id: int, data: Mapping[str, Any]) -> PipelineStage:
    """Rename and re-weigh a stage. Open deals that still carry the stage's old probability follow
    the new one; deals whose rep set their own probability keep it."""
    stage = await get_stage(session, stage_id)
    errors: list[FieldError] = []
    values = _clean(data, errors, stage)
    await _check_name_free(session, values["name"], errors, stage.id)
    if errors:
        raise ValidationFailed(errors)
    old_probability = stage.probability
    async with audited(session, "crm.pipeline_stage_updated"):
        stage.name = values["name"]
        stage.probability = values["probability"]
        await session.flush()
    if values["probability"] != old_probability:
        await session.execute(
            update(Opportunity)
            .where(Opportunity.stage_id == stage.id, Opportunity.probability == old_probability)
            .values(probability=values["probability"])
            .execution_options(synchronize_session="fetch")
        )
    return stage


async def move_stage(session: AsyncSession, stage_id: int, offset: int) -> PipelineStage:
    """Swap an open stage with its open neighbour to the left (-1) or right (+1); at an end,
    nothing moves. Won and lost always come last (the board reads left to right to a close)."""
    stage = await get_stage(session, stage_id)
    if stage.is_won or stage.is_lost:
        raise ClosingStageFixed()
    stages = await list_stages(session)
    index = next(i for i, s in enumerate(stages) if s.id == stage.id)
    other = index + (1 if offset > 0 else -1)
    if 0 <= other < len(stages) and not (stages[other].is_won or stages[other].is_lost):
        neighbour = stages[other]
        async with audited(session, "crm.pipeline_stage_moved"):
            # Renumber 1..n first, so stages that once shared a position never stay tied.
            for i, s in enumerate(stages, start=1):
                s.position = i
            stage.position, neighbour.position = neighbour.position, stage.position
            await session.flush()
    return stage


async def set_stage_active(session: AsyncSession, stage_id: int, active: bool) -> PipelineStage:
    stage = await get_stage(session, stage_id)
    if not active:
        if stage.is_won or stage.is_lost:
            raise ClosingStageRequired()
        held = await session.scalar(
            select(func.count()).select_from(Opportunity).where(Opportunity.stage_id == stage.id)
        )
        if held:
            raise StageInUse(int(held))
    async with audited(
        session, "crm.pipeline_stage_activated" if active else "crm.pipeline_stage_deactivated"
    ):
        stage.active = active
        await session.flush()
    return stage


async def won_stage(session: AsyncSession) -> PipelineStage:
    return (await session.execute(select(PipelineStage).where(PipelineStage.is_won.is_(True)))).scalar_one()


async def lost_stage(session: AsyncSession) -> PipelineStage:
    return (await session.execute(select(PipelineStage).where(PipelineStage.is_lost.is_(True)))).scalar_one()
