"""Contracts and their payment schedules under /api/v1/crm (CRM-5). Mounted through
app/crm/api/orders.py's ``ROUTES``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import get
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, QueryParameter

from app.crm.models import Contract
from app.crm.schemas import sales as schemas
from app.crm.services import contracts
from app.crm.services.calendar import tenant_today
from app.kernel.api import Cursor, Limit, operation
from app.kernel.pagination import DEFAULT_LIMIT, Key, Ordering, fetch_page
from app.kernel.web import DbSession
from app.security.permissions import CRM_CONTRACT_READ
from app.security.principal import Principal

CurrentPrincipal = NamedDependency[Principal]

CONTRACTS = Ordering(
    "crm_contracts", (Key(Contract.created_at, datetime), Key(Contract.id, int)), descending=True
)


@get(
    "/contracts",
    summary="List contracts",
    description="Newest first. The payment schedule is on the item route.",
    tags=["contracts"],
    **operation(CRM_CONTRACT_READ),
)
async def list_contracts(
    db: DbSession,
    principal: CurrentPrincipal,
    status: Annotated[schemas.ContractStatus | None, QueryParameter()] = None,
    account_id: Annotated[int | None, QueryParameter(description="Contracts of this account.")] = None,
    owner_id: Annotated[int | None, QueryParameter(description="Contracts of this owner (user id).")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> schemas.ContractPage:
    stmt = contracts.visible_contracts(principal)
    if status is not None:
        stmt = stmt.where(Contract.status == status)
    if account_id is not None:
        stmt = stmt.where(Contract.account_id == account_id)
    if owner_id is not None:
        stmt = stmt.where(Contract.owner_id == owner_id)
    page = await fetch_page(db, stmt, CONTRACTS, limit=limit, cursor=cursor)
    return schemas.ContractPage(
        items=[schemas.contract_of(c) for c in page.rows], next_cursor=page.next_cursor
    )


@get(
    "/contracts/{contract_id:int}",
    summary="Get a contract with its payment schedule",
    description="Each instalment carries what was collected, what is open and its status "
    "(`pending`, `partially_paid`, `paid`, `overdue` — as of today in the organisation's time zone).",
    tags=["contracts"],
    **operation(CRM_CONTRACT_READ, resource="crm_contracts", problems=[404]),
)
async def get_contract(
    db: DbSession, principal: CurrentPrincipal, contract_id: FromPath[int]
) -> schemas.Contract:
    contract = await contracts.get_contract(db, principal, contract_id)
    return schemas.contract_of(contract, await contracts.instalments_of(db, contract.id), tenant_today())


ROUTES: list[HTTPRouteHandler] = [list_contracts, get_contract]
