"""Maintaining the chart of accounts under /api/v1/finance (``fin.settings.manage``); reading it
is app/finance/api/ledger.py. Rules: app/finance/services/accounts.py."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, delete, patch, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody

from app.finance import schemas
from app.finance import settings_schemas as settings
from app.finance.services import accounts
from app.kernel.api import IdempotencyKey, StrictBody, create_once, operation
from app.kernel.web import DbSession
from app.security.permissions import FIN_SETTINGS_MANAGE
from app.security.principal import Principal

CurrentPrincipal = NamedDependency[Principal]
TAGS = ["finance"]


@post(
    "/accounts",
    summary="Add an account",
    description="Honours `Idempotency-Key`. `code` is digits (dots or dashes between them), unique; a "
    "sub-account's `parent_id` is an active group account of the same type. 422 with field errors; "
    "nothing is written.",
    tags=TAGS,
    dto=StrictBody[settings.AccountCreate],
    return_dto=None,
    **operation(FIN_SETTINGS_MANAGE, problems=[413, 422]),
)
async def create_account(
    request: Request[Any, Any, Any],
    db: DbSession,
    principal: CurrentPrincipal,
    data: JSONBody[settings.AccountCreate],
    idempotency_key: IdempotencyKey = None,
) -> Response[schemas.Account]:
    async def create() -> schemas.Account:
        return schemas.account_of(await accounts.create_account(db, principal, settings.fields_sent(data)))

    return await create_once(
        request, db, actor=principal.key, key=idempotency_key, data=data, out=schemas.Account, create=create
    )


@patch(
    "/accounts/{account_id:int}",
    summary="Rename, deactivate or reactivate an account",
    description="Only the fields sent change. An account that a posting rule or an active tax rate posts "
    "to, or a group with active sub-accounts, stays active (409 `account_in_use`).",
    tags=TAGS,
    dto=StrictBody[settings.AccountUpdate],
    return_dto=None,
    **operation(FIN_SETTINGS_MANAGE, resource="fin_accounts", problems=[404, 409, 413, 422]),
)
async def update_account(
    db: DbSession,
    principal: CurrentPrincipal,
    account_id: FromPath[int],
    data: JSONBody[settings.AccountUpdate],
) -> schemas.Account:
    account = await accounts.update_account(db, principal, account_id, settings.fields_sent(data))
    return schemas.account_of(account)


@delete(
    "/accounts/{account_id:int}",
    summary="Delete an unused account",
    description="Refused with 409 `account_in_use` (nothing changes) when the account has postings, "
    "sub-accounts, document lines or payments, or a tax rate or posting rule uses it.",
    tags=TAGS,
    **operation(FIN_SETTINGS_MANAGE, resource="fin_accounts", problems=[404, 409]),
)
async def delete_account(db: DbSession, principal: CurrentPrincipal, account_id: FromPath[int]) -> None:
    await accounts.delete_account(db, principal, account_id)


ROUTES: list[HTTPRouteHandler] = [create_account, update_account, delete_account]
