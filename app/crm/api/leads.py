"""Leads under /api/v1/crm: capture, list, read, change, qualify, disqualify, convert (CRM-2).

API clients act with record scope ``all`` (app/security/principal.py); a lead created without
``owner_id`` goes through the tenant's assignment rules, exactly as one from a web form.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody, QueryParameter

from app.crm.models import Lead
from app.crm.schemas import leads as schemas
from app.crm.services import lead_conversion, leads
from app.kernel.api import Cursor, IdempotencyKey, Limit, StrictBody, as_utc, create_once, operation
from app.kernel.pagination import DEFAULT_LIMIT, Key, Ordering, fetch_page
from app.kernel.web import DbSession
from app.security.permissions import CRM_LEAD_READ, CRM_LEAD_WRITE
from app.security.principal import Principal

CurrentPrincipal = NamedDependency[Principal]

# Newest first: the index ix_crm_leads_created (and its owner/status variants) read backwards.
LEADS = Ordering("crm_leads", (Key(Lead.created_at, datetime), Key(Lead.id, int)), descending=True)
# The same order for a search with few matches (app/crm/services/leads.py, FEW_MATCHES): same name
# and values, so a cursor of one continues the other.
LEADS_FEW = Ordering(
    "crm_leads", (Key(leads.CREATED_UNINDEXED, datetime), Key(Lead.id, int)), descending=True
)


@get(
    "/leads",
    summary="List leads",
    description="Newest first. Filters combine; `q` searches name, company, e-mail and phone.",
    tags=["leads"],
    **operation(CRM_LEAD_READ),
)
async def list_leads(
    db: DbSession,
    principal: CurrentPrincipal,
    status: Annotated[schemas.Status | None, QueryParameter()] = None,
    source: Annotated[schemas.Source | None, QueryParameter()] = None,
    owner: Annotated[
        str | None,
        QueryParameter(
            pattern=r"^(\d{1,18}|none)$", description="A user id, or `none` for unassigned leads."
        ),
    ] = None,
    q: Annotated[str | None, QueryParameter(max_length=100)] = None,
    created_since: Annotated[
        datetime | None, QueryParameter(description="Created at or after (ISO 8601; UTC if no offset).")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> schemas.LeadPage:
    stmt = leads.visible_leads(principal)
    if status is not None:
        stmt = leads.with_status(stmt, status)
    if source is not None:
        stmt = leads.with_source(stmt, source)
    if owner is not None:
        stmt = leads.with_owner(stmt, owner)
    if q:
        stmt = leads.search_leads(stmt, q)
    since = as_utc(created_since)
    if since is not None:
        stmt = leads.created_since(stmt, since)
    few = bool(q) and await leads.count_up_to(db, stmt, leads.FEW_MATCHES) <= leads.FEW_MATCHES
    page = await fetch_page(db, stmt, LEADS_FEW if few else LEADS, limit=limit, cursor=cursor)
    return schemas.LeadPage(items=[schemas.lead_of(r) for r in page.rows], next_cursor=page.next_cursor)


@get(
    "/leads/{lead_id:int}",
    summary="Get a lead",
    tags=["leads"],
    **operation(CRM_LEAD_READ, resource="crm_leads", problems=[404]),
)
async def get_lead(db: DbSession, principal: CurrentPrincipal, lead_id: FromPath[int]) -> schemas.Lead:
    return schemas.lead_of(await leads.get_lead(db, principal, lead_id))


@post(
    "/leads",
    summary="Capture a lead",
    description="Honours `Idempotency-Key`. Without `owner_id` the assignment rules choose the owner.",
    tags=["leads"],
    dto=StrictBody[schemas.LeadCreate],
    return_dto=None,
    **operation(CRM_LEAD_WRITE, problems=[413, 422]),
)
async def create_lead(
    request: Request[Any, Any, Any],
    db: DbSession,
    principal: CurrentPrincipal,
    data: JSONBody[schemas.LeadCreate],
    idempotency_key: IdempotencyKey = None,
) -> Response[schemas.Lead]:
    async def create() -> schemas.Lead:
        values = msgspec.to_builtins(data)
        return schemas.lead_of(await leads.create_lead(db, principal, values, default_source="api"))

    return await create_once(
        request, db, actor=principal.key, key=idempotency_key, data=data, out=schemas.Lead, create=create
    )


@patch(
    "/leads/{lead_id:int}",
    summary="Change a lead",
    description="Only the fields sent change. A converted lead cannot change (409).",
    tags=["leads"],
    dto=StrictBody[schemas.LeadUpdate],
    return_dto=None,
    **operation(CRM_LEAD_WRITE, resource="crm_leads", problems=[404, 409, 413, 422]),
)
async def update_lead(
    db: DbSession, principal: CurrentPrincipal, lead_id: FromPath[int], data: JSONBody[schemas.LeadUpdate]
) -> schemas.Lead:
    lead = await leads.get_lead(db, principal, lead_id)  # first: a hidden id is a 404 whatever the body
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    return schemas.lead_of(await leads.update_lead(db, principal, lead.id, changes))


@post(
    "/leads/{lead_id:int}/qualify",
    summary="Qualify a lead",
    description="Status `qualified`, optionally with a new score (0-100).",
    tags=["leads"],
    status_code=200,
    dto=StrictBody[schemas.LeadQualify],
    return_dto=None,
    **operation(CRM_LEAD_WRITE, resource="crm_leads", problems=[404, 409, 422]),
)
async def qualify_lead(
    db: DbSession, principal: CurrentPrincipal, lead_id: FromPath[int], data: JSONBody[schemas.LeadQualify]
) -> schemas.Lead:
    lead = await leads.get_lead(db, principal, lead_id)
    return schemas.lead_of(await leads.qualify_lead(db, principal, lead.id, score=data.score))


@post(
    "/leads/{lead_id:int}/disqualify",
    summary="Disqualify a lead",
    description="Status `disqualified` with the reason. Reopen it with PATCH `status`.",
    tags=["leads"],
    status_code=200,
    dto=StrictBody[schemas.LeadDisqualify],
    return_dto=None,
    **operation(CRM_LEAD_WRITE, resource="crm_leads", problems=[404, 409, 422]),
)
async def disqualify_lead(
    db: DbSession, principal: CurrentPrincipal, lead_id: FromPath[int], data: JSONBody[schemas.LeadDisqualify]
) -> schemas.Lead:
    lead = await leads.get_lead(db, principal, lead_id)
    return schemas.lead_of(await leads.disqualify_lead(db, principal, lead.id, reason=data.reason))


@post(
    "/leads/{lead_id:int}/convert",
    summary="Convert a lead",
    description="Creates (or reuses) the account and contact and optionally an opportunity, in one "
    "transaction. Converting twice is a 409 `lead_already_converted`; a disqualified lead a 409 "
    "`lead_disqualified`.",
    tags=["leads"],
    status_code=200,
    dto=StrictBody[schemas.LeadConvert],
    return_dto=None,
    **operation(CRM_LEAD_WRITE, resource="crm_leads", problems=[404, 409, 422]),
)
async def convert_lead(
    db: DbSession, principal: CurrentPrincipal, lead_id: FromPath[int], data: JSONBody[schemas.LeadConvert]
) -> schemas.Conversion:
    lead = await leads.get_lead(db, principal, lead_id)
    done = await lead_conversion.convert_lead(db, principal, lead.id, schemas.conversion_data(data))
    return schemas.Conversion(
        lead=schemas.lead_of(done.lead),
        account_id=done.account.id,
        contact_id=done.contact.id,
        opportunity_id=done.opportunity.id if done.opportunity else None,
        account_created=done.account_created,
        contact_created=done.contact_created,
    )


ROUTES: list[HTTPRouteHandler] = [
    list_leads,
    get_lead,
    create_lead,
    update_lead,
    qualify_lead,
    disqualify_lead,
    convert_lead,
]
