"""Opportunities and pipeline stages under /api/v1/crm (CRM-3).

Handlers parse, call app/crm/services/opportunities.py and shape the answer. Reads go through the
record rules like the portal's (an API client acts with the scopes its token holds); every
``{id}`` route loads its record first, so a hidden or foreign id is a 404 whatever the body says.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Opportunity, PipelineStage
from app.crm.schemas import pipeline as schemas
from app.crm.services import opportunities, stages
from app.kernel.api import Cursor, IdempotencyKey, Limit, StrictBody, create_once, operation
from app.kernel.pagination import DEFAULT_LIMIT, Key, Ordering, fetch_page
from app.kernel.web import DbSession
from app.security.permissions import CRM_OPPORTUNITY_READ, CRM_OPPORTUNITY_WRITE
from app.security.principal import Principal
from app.security.record_rules import restrict

CurrentPrincipal = NamedDependency[Principal]

OPPORTUNITIES = Ordering("crm_opportunities", (Key(Opportunity.id, int),))
STAGES = Ordering("crm_pipeline_stages", (Key(PipelineStage.position, int), Key(PipelineStage.id, int)))
TAGS = ["opportunities"]


async def _represent(db: AsyncSession, opp: Opportunity) -> schemas.Opportunity:
    return schemas.opportunity_of(opp, await stages.get_stage(db, opp.stage_id))


def _with_status(stmt: Any, status: str) -> Any:
    kind = {
        "won": PipelineStage.is_won.is_(True),
        "lost": PipelineStage.is_lost.is_(True),
        "open": PipelineStage.is_won.is_(False) & PipelineStage.is_lost.is_(False),
    }[status]
    return stmt.where(Opportunity.stage_id.in_(select(PipelineStage.id).where(kind)))


@get(
    "/opportunities",
    summary="List opportunities",
    description="Ordered by id (creation order). Only the deals the token's scopes may see.",
    tags=TAGS,
    **operation(CRM_OPPORTUNITY_READ),
)
async def list_opportunities(
    db: DbSession,
    principal: CurrentPrincipal,
    stage_id: Annotated[int | None, QueryParameter(description="Deals in this stage.")] = None,
    owner_id: Annotated[int | None, QueryParameter(description="Deals of this rep.")] = None,
    status: Annotated[schemas.Status | None, QueryParameter(description="open, won or lost.")] = None,
    close_after: Annotated[
        date | None, QueryParameter(description="Expected close on or after this date.")
    ] = None,
    close_before: Annotated[
        date | None, QueryParameter(description="Expected close strictly before this date.")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> schemas.OpportunityPage:
    stmt = restrict(select(Opportunity), Opportunity, principal, CRM_OPPORTUNITY_READ)
    if stage_id is not None:
        stmt = stmt.where(Opportunity.stage_id == stage_id)
    if owner_id is not None:
        stmt = stmt.where(Opportunity.owner_id == owner_id)
    if status is not None:
        stmt = _with_status(stmt, status)
    if close_after is not None:
        stmt = stmt.where(Opportunity.expected_close_date >= close_after)
    if close_before is not None:
        stmt = stmt.where(Opportunity.expected_close_date < close_before)
    page = await fetch_page(db, stmt, OPPORTUNITIES, limit=limit, cursor=cursor)
    by_id = {s.id: s for s in await stages.list_stages(db)}
    return schemas.OpportunityPage(
        items=[schemas.opportunity_of(o, by_id[o.stage_id]) for o in page.rows],
        next_cursor=page.next_cursor,
    )


@get(
    "/opportunities/{opportunity_id:int}",
    summary="Get an opportunity",
    tags=TAGS,
    **operation(CRM_OPPORTUNITY_READ, resource="crm_opportunities", problems=[404]),
)
async def get_opportunity(
    db: DbSession, principal: CurrentPrincipal, opportunity_id: FromPath[int]
) -> schemas.Opportunity:
    return await _represent(db, await opportunities.get_opportunity(db, principal, opportunity_id))


@post(
    "/opportunities",
    summary="Create an opportunity",
    description="Honours `Idempotency-Key`. A deal created in the won or lost stage is closed at once.",
    tags=TAGS,
    dto=StrictBody[schemas.OpportunityCreate],
    return_dto=None,
    **operation(CRM_OPPORTUNITY_WRITE, problems=[413, 422]),
)
async def create_opportunity(
    request: Request[Any, Any, Any],
    db: DbSession,
    principal: CurrentPrincipal,
    data: JSONBody[schemas.OpportunityCreate],
    idempotency_key: IdempotencyKey = None,
) -> Response[schemas.Opportunity]:
    async def create() -> schemas.Opportunity:
        return await _represent(
            db, await opportunities.create_opportunity(db, principal, msgspec.structs.asdict(data))
        )

    return await create_once(
        request,
        db,
        actor=principal.key,
        key=idempotency_key,
        data=data,
        out=schemas.Opportunity,
        create=create,
    )


@patch(
    "/opportunities/{opportunity_id:int}",
    summary="Change an opportunity",
    description="Only the fields sent change; `null` clears a nullable field.",
    tags=TAGS,
    dto=StrictBody[schemas.OpportunityUpdate],
    return_dto=None,
    **operation(CRM_OPPORTUNITY_WRITE, resource="crm_opportunities", problems=[404, 413, 422]),
)
async def update_opportunity(
    db: DbSession,
    principal: CurrentPrincipal,
    opportunity_id: FromPath[int],
    data: JSONBody[schemas.OpportunityUpdate],
) -> schemas.Opportunity:
    opp = await opportunities.get_opportunity(db, principal, opportunity_id)
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    return await _represent(db, await opportunities.update_opportunity(db, principal, opp.id, changes))


@post(
    "/opportunities/{opportunity_id:int}/stage",
    summary="Move an opportunity to a stage",
    description="Records the stage change; the won and lost stages close the deal (lost needs "
    "`lost_reason`) and publish `crm.opportunity_won` / `crm.opportunity_lost`.",
    tags=TAGS,
    status_code=200,
    dto=StrictBody[schemas.StageMove],
    return_dto=None,
    **operation(CRM_OPPORTUNITY_WRITE, resource="crm_opportunities", problems=[404, 413, 422]),
)
async def move_opportunity(
    db: DbSession,
    principal: CurrentPrincipal,
    opportunity_id: FromPath[int],
    data: JSONBody[schemas.StageMove],
) -> schemas.Opportunity:
    opp = await opportunities.get_opportunity(db, principal, opportunity_id)
    moved = await opportunities.move_to_stage(
        db, principal, opp.id, data.stage_id, probability=data.probability, lost_reason=data.lost_reason
    )
    return await _represent(db, moved)


@get(
    "/pipeline-stages",
    summary="List pipeline stages",
    description="In board order, active and inactive (see `active`).",
    tags=["pipeline stages"],
    **operation(CRM_OPPORTUNITY_READ),
)
async def list_pipeline_stages(
    db: DbSession, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> schemas.PipelineStagePage:
    page = await fetch_page(db, select(PipelineStage), STAGES, limit=limit, cursor=cursor)
    return schemas.PipelineStagePage(
        items=[schemas.stage_of(s) for s in page.rows], next_cursor=page.next_cursor
    )


@get(
    "/pipeline-stages/{stage_id:int}",
    summary="Get a pipeline stage",
    tags=["pipeline stages"],
    **operation(CRM_OPPORTUNITY_READ, resource="crm_pipeline_stages", problems=[404]),
)
async def get_pipeline_stage(db: DbSession, stage_id: FromPath[int]) -> schemas.PipelineStage:
    return schemas.stage_of(await stages.get_stage(db, stage_id))


ROUTES: list[HTTPRouteHandler] = [
    list_opportunities,
    get_opportunity,
    create_opportunity,
    update_opportunity,
    move_opportunity,
    list_pipeline_stages,
    get_pipeline_stage,
]
