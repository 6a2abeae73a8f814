"""Accounts and contacts under /api/v1/crm (CRM-1).

Every read goes through the record rules of the calling client's scopes (an API client's scope is
the permission it was issued; ``all`` for a full-scope integration). ``{id}`` routes load their
record first, so a hidden or foreign id is a 404 before the body is judged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy import Select, func

from app.crm.models import Account, Contact
from app.crm.schemas import customers as schemas
from app.crm.services import accounts, contacts, customer_lists, merge
from app.kernel.api import Cursor, IdempotencyKey, Limit, StrictBody, as_utc, create_once, operation
from app.kernel.pagination import DEFAULT_LIMIT, Key, Ordering, fetch_page
from app.kernel.web import DbSession
from app.security.permissions import CRM_ACCOUNT_MERGE, CRM_ACCOUNT_READ, CRM_ACCOUNT_WRITE
from app.security.principal import Principal

CurrentPrincipal = NamedDependency[Principal]

ACCOUNTS = Ordering("crm_accounts", (Key(func.lower(Account.name), str), Key(Account.id, int)))
CONTACTS = Ordering("crm_contacts", (Key(func.lower(Contact.full_name), str), Key(Contact.id, int)))

Q = Annotated[
    str | None, QueryParameter(max_length=200, description="Words or part of a name, e-mail, phone.")
]
StageFilter = Annotated[
    Literal["prospect", "customer", "partner", "churned"] | None,
    QueryParameter(description="Lifecycle stage."),
]
RegionFilter = Annotated[str | None, QueryParameter(max_length=80, description="Sales region, exactly.")]
TagFilter = Annotated[str | None, QueryParameter(max_length=40, description="Accounts carrying this tag.")]
UpdatedSince = Annotated[
    datetime | None, QueryParameter(description="Changed at or after this moment (UTC if no offset).")
]


def _filtered(
    stmt: Select[Any],
    model: Any,
    *,
    stage: str | None,
    region: str | None,
    tag: str | None,
    updated_since: datetime | None,
) -> Select[Any]:
    if stage:
        stmt = customer_lists.with_stage(stmt, stage)
    if region:
        stmt = customer_lists.with_region(stmt, region)
    if tag:
        stmt = customer_lists.with_tag(stmt, tag)
    if updated_since is not None:
        stmt = customer_lists.updated_since(stmt, model, as_utc(updated_since))  # type: ignore[arg-type]
    return stmt


# --- accounts --------------------------------------------------------------------------------


@get(
    "/accounts",
    summary="List accounts",
    description="Ordered by name. Filters combine; `q` searches names (also parts of Chinese names), "
    "e-mail addresses and phone numbers.",
    tags=["crm: customers"],
    **operation(CRM_ACCOUNT_READ),
)
async def list_accounts(
    db: DbSession,
    principal: CurrentPrincipal,
    q: Q = None,
    stage: StageFilter = None,
    region: RegionFilter = None,
    tag: TagFilter = None,
    updated_since: UpdatedSince = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> schemas.AccountPage:
    stmt = customer_lists.search_accounts(customer_lists.accounts_list(principal), q or "")
    stmt = _filtered(stmt, Account, stage=stage, region=region, tag=tag, updated_since=updated_since)
    page = await fetch_page(db, stmt, ACCOUNTS, limit=limit, cursor=cursor)
    return schemas.AccountPage(items=[schemas.account_of(a) for a in page.rows], next_cursor=page.next_cursor)


@get(
    "/accounts/{account_id:int}",
    summary="Get an account",
    tags=["crm: customers"],
    **operation(CRM_ACCOUNT_READ, resource="crm_accounts", problems=[404]),
)
async def get_account(
    db: DbSession, principal: CurrentPrincipal, account_id: FromPath[int]
) -> schemas.Account:
    return schemas.account_of(await accounts.get_account(db, principal, account_id))


@post(
    "/accounts",
    summary="Create an account",
    description="Honours `Idempotency-Key`.",
    tags=["crm: customers"],
    dto=StrictBody[schemas.AccountCreate],
    return_dto=None,
    **operation(CRM_ACCOUNT_WRITE, problems=[413, 422]),
)
async def create_account(
    request: Request[Any, Any, Any],
    db: DbSession,
    principal: CurrentPrincipal,
    data: JSONBody[schemas.AccountCreate],
    idempotency_key: IdempotencyKey = None,
) -> Response[schemas.Account]:
    async def create() -> schemas.Account:
        return schemas.account_of(await accounts.create_account(db, principal, schemas.fields_sent(data)))

    return await create_once(
        request, db, actor=principal.key, key=idempotency_key, data=data, out=schemas.Account, create=create
    )


@patch(
    "/accounts/{account_id:int}",
    summary="Change an account",
    description="Only the fields sent change; `null` clears an optional field.",
    tags=["crm: customers"],
    dto=StrictBody[schemas.AccountUpdate],
    return_dto=None,
    **operation(CRM_ACCOUNT_WRITE, resource="crm_accounts", problems=[404, 413, 422]),
)
async def update_account(
    db: DbSession,
    principal: CurrentPrincipal,
    account_id: FromPath[int],
    data: JSONBody[schemas.AccountUpdate],
) -> schemas.Account:
    account = await accounts.get_account(db, principal, account_id)
    account = await accounts.update_account(db, principal, account.id, schemas.fields_sent(data))
    await db.refresh(account)
    return schemas.account_of(account)


@post(
    "/accounts/{account_id:int}/merge",
    summary="Merge a duplicate into this account",
    description="Every record of `merge_id` (contacts, activities, opportunities, quotes, orders, tickets, "
    "segment memberships, …) moves to this account; empty fields are filled from the duplicate and tags "
    "united. The duplicate then reads as not found. Needs `crm.account.merge` and the right to change "
    "both accounts. Publishes `crm.accounts_merged`.",
    tags=["crm: customers"],
    status_code=200,
    dto=StrictBody[schemas.AccountMerge],
    return_dto=None,
    **operation(CRM_ACCOUNT_MERGE, resource="crm_accounts", problems=[404, 409, 422]),
)
async def merge_account(
    db: DbSession,
    principal: CurrentPrincipal,
    account_id: FromPath[int],
    data: JSONBody[schemas.AccountMerge],
) -> schemas.AccountMerged:
    account = await accounts.get_account(db, principal, account_id)
    result = await merge.merge_accounts(db, principal, account.id, data.merge_id)
    await db.refresh(result.winner)
    return schemas.AccountMerged(
        account=schemas.account_of(result.winner), merged_id=result.loser.id, moved=result.counts
    )


# --- contacts --------------------------------------------------------------------------------


@get(
    "/contacts",
    summary="List contacts",
    description="Ordered by name. `stage`, `region` and `tag` filter on the contact's account.",
    tags=["crm: customers"],
    **operation(CRM_ACCOUNT_READ),
)
async def list_contacts(
    db: DbSession,
    principal: CurrentPrincipal,
    q: Q = None,
    account_id: Annotated[int | None, QueryParameter(ge=1, description="Contacts of this account.")] = None,
    stage: StageFilter = None,
    region: RegionFilter = None,
    tag: TagFilter = None,
    updated_since: UpdatedSince = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> schemas.ContactPage:
    stmt = customer_lists.search_contacts(customer_lists.contacts_list(principal), q or "")
    stmt = _filtered(stmt, Contact, stage=stage, region=region, tag=tag, updated_since=updated_since)
    if account_id is not None:
        stmt = stmt.where(Contact.account_id == account_id)
    page = await fetch_page(db, stmt, CONTACTS, limit=limit, cursor=cursor)
    return schemas.ContactPage(items=[schemas.contact_of(c) for c in page.rows], next_cursor=page.next_cursor)


@get(
    "/contacts/{contact_id:int}",
    summary="Get a contact",
    tags=["crm: customers"],
    **operation(CRM_ACCOUNT_READ, resource="crm_contacts", problems=[404]),
)
async def get_contact(
    db: DbSession, principal: CurrentPrincipal, contact_id: FromPath[int]
) -> schemas.Contact:
    return schemas.contact_of(await contacts.get_contact(db, principal, contact_id))


@post(
    "/contacts",
    summary="Create a contact",
    description="Honours `Idempotency-Key`. The account must be one the client may change.",
    tags=["crm: customers"],
    dto=StrictBody[schemas.ContactCreate],
    return_dto=None,
    **operation(CRM_ACCOUNT_WRITE, problems=[413, 422]),
)
async def create_contact(
    request: Request[Any, Any, Any],
    db: DbSession,
    principal: CurrentPrincipal,
    data: JSONBody[schemas.ContactCreate],
    idempotency_key: IdempotencyKey = None,
) -> Response[schemas.Contact]:
    async def create() -> schemas.Contact:
        return schemas.contact_of(await contacts.create_contact(db, principal, schemas.fields_sent(data)))

    return await create_once(
        request, db, actor=principal.key, key=idempotency_key, data=data, out=schemas.Contact, create=create
    )


@patch(
    "/contacts/{contact_id:int}",
    summary="Change a contact",
    description="Only the fields sent change; `null` clears an optional field.",
    tags=["crm: customers"],
    dto=StrictBody[schemas.ContactUpdate],
    return_dto=None,
    **operation(CRM_ACCOUNT_WRITE, resource="crm_contacts", problems=[404, 413, 422]),
)
async def update_contact(
    db: DbSession,
    principal: CurrentPrincipal,
    contact_id: FromPath[int],
    data: JSONBody[schemas.ContactUpdate],
) -> schemas.Contact:
    contact = await contacts.get_contact(db, principal, contact_id)
    contact = await contacts.update_contact(db, principal, contact.id, schemas.fields_sent(data))
    await db.refresh(contact)
    return schemas.contact_of(contact)


ROUTES: list[HTTPRouteHandler] = [
    list_accounts,
    get_account,
    create_account,
    update_account,
    merge_account,
    list_contacts,
    get_contact,
    create_contact,
    update_contact,
]
