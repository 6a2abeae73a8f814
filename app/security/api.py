"""JSON API of identity and administration under /api/v1 (PLAT-9).

Handlers parse, call a service and shape the answer; conventions (strict bodies, cursor pages,
idempotent creates, documented problems) come from app/kernel/api.py and are described for
integrators in docs/api.md. Every ``{id}`` route loads its record first, so another tenant's id —
or a hidden one — is a 404 before anything about the request body is judged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody, QueryParameter
from msgspec import UNSET
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel.api import Cursor, IdempotencyKey, Limit, StrictBody, as_utc, create_once, operation
from app.kernel.audit import AuditEntry
from app.kernel.pagination import DEFAULT_LIMIT, Key, Ordering, fetch_page
from app.kernel.web import DbSession
from app.security import schemas
from app.security.models import Invitation, Role, Team, User
from app.security.permissions import (
    ADMIN_AUDIT_READ,
    ADMIN_TEAMS_MANAGE,
    ADMIN_USERS_MANAGE,
    ADMIN_USERS_READ,
    AUTHENTICATED,
)
from app.security.principal import Principal
from app.security.services import api_clients, audit_log, invitations, roles, teams, users

CurrentPrincipal = NamedDependency[Principal]

# Each list's fixed order (app/kernel/pagination.py): the sort key, then the id.
USERS = Ordering("users", (Key(func.lower(User.email), str), Key(User.id, int)))
INVITATIONS = Ordering(
    "invitations",
    (Key(Invitation.created_at, datetime), Key(Invitation.id, int)),
    descending=True,
)
ROLES = Ordering("roles", (Key(Role.key, str), Key(Role.id, int)))
TEAMS = Ordering("teams", (Key(Team.name, str), Key(Team.id, int)))
AUDIT_EVENTS = Ordering(
    "audit_events", (Key(AuditEntry.at, datetime), Key(AuditEntry.id, int)), descending=True
)

# --- the caller ------------------------------------------------------------------------------


@get(
    "/me",
    summary="Who am I",
    description="The calling client, its organisation and the token's scopes.",
    tags=["identity"],
    **operation(AUTHENTICATED),
)
async def me(db: DbSession, principal: CurrentPrincipal) -> schemas.Caller:
    # bearer_only: always a client, or a client acting for a user (then ``principal`` is the user's)
    client_pk = principal.via_client if principal.via_client is not None else principal.id
    client = await api_clients.get_client(db, principal.tenant, client_pk)
    acts_for = None
    if principal.via_client is not None:
        acts_for = await db.scalar(select(User.email).where(User.id == principal.id))
    return schemas.Caller(
        client_id=client.client_id,
        name=client.name,
        tenant=principal.tenant.slug,
        scopes=sorted(principal.grants),
        acts_for=acts_for,
    )


# --- users -----------------------------------------------------------------------------------


async def _user(db: AsyncSession, user: User) -> schemas.User:
    return schemas.user_of(user, (await users.role_keys_of(db, [user.id]))[user.id])


def _users_matching(q: str | None, active: bool | None, role: str | None) -> Select[Any]:
    stmt = users.users_query()
    if q:
        stmt = users.search_users(stmt, q)
    if active is not None:
        stmt = users.with_active(stmt, active)
    if role:
        stmt = users.with_role(stmt, role)
    return stmt


@get(
    "/users",
    summary="List users",
    description="Ordered by e-mail address.",
    tags=["users"],
    **operation(ADMIN_USERS_READ),
)
async def list_users(
    db: DbSession,
    q: Annotated[
        str | None, QueryParameter(max_length=200, description="Part of the e-mail or name.")
    ] = None,
    active: Annotated[
        bool | None, QueryParameter(description="true: active users; false: deactivated.")
    ] = None,
    role: Annotated[
        str | None, QueryParameter(max_length=64, description="Holders of this role key.")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> schemas.UserPage:
    page = await fetch_page(db, _users_matching(q, active, role), USERS, limit=limit, cursor=cursor)
    role_keys = await users.role_keys_of(db, [u.id for u in page.rows])
    return schemas.UserPage(
        items=[schemas.user_of(u, role_keys[u.id]) for u in page.rows], next_cursor=page.next_cursor
    )


@get(
    "/users/{user_id:int}",
    summary="Get a user",
    tags=["users"],
    **operation(ADMIN_USERS_READ, resource="users", problems=[404]),
)
async def get_user(db: DbSession, user_id: FromPath[int]) -> schemas.User:
    user, role_keys = await users.get_user_with_roles(db, user_id)
    return schemas.user_of(user, role_keys)


@patch(
    "/users/{user_id:int}",
    summary="Change a user",
    tags=["users"],
    description="Only the fields sent change. Deactivating ends the user's sessions at once.",
    dto=StrictBody[schemas.UserUpdate],
    return_dto=None,
    **operation(ADMIN_USERS_MANAGE, resource="users", problems=[404, 409, 413, 422]),
)
async def update_user(
    db: DbSession, principal: CurrentPrincipal, user_id: FromPath[int], data: JSONBody[schemas.UserUpdate]
) -> schemas.User:
    user = await users.get_user(db, user_id)
    if data.full_name is not UNSET or data.roles is not UNSET or data.team_id is not UNSET:
        current_roles = (await users.role_keys_of(db, [user.id]))[user.id]
        await users.update_user(
            db,
            principal,
            user.id,
            full_name=user.full_name if data.full_name is UNSET else data.full_name,
            role_keys=current_roles if data.roles is UNSET else data.roles,
            team_id=user.team_id if data.team_id is UNSET else data.team_id,
        )
    if data.active is not UNSET:
        await users.set_active(db, principal, user.id, data.active)
    return await _user(db, user)


# --- invitations -----------------------------------------------------------------------------


@get(
    "/invitations",
    summary="List invitations",
    description="Newest first.",
    tags=["invitations"],
    **operation(ADMIN_USERS_READ),
)
async def list_invitations(
    db: DbSession, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> schemas.InvitationPage:
    page = await fetch_page(db, invitations.invitations_query(), INVITATIONS, limit=limit, cursor=cursor)
    return schemas.InvitationPage(
        items=[schemas.invitation_of(i) for i in page.rows], next_cursor=page.next_cursor
    )


@get(
    "/invitations/{invitation_id:int}",
    summary="Get an invitation",
    tags=["invitations"],
    **operation(ADMIN_USERS_READ, resource="invitations", problems=[404]),
)
async def get_invitation(db: DbSession, invitation_id: FromPath[int]) -> schemas.Invitation:
    return schemas.invitation_of(await invitations.get_invitation(db, invitation_id))


@post(
    "/invitations",
    summary="Invite a person",
    tags=["invitations"],
    description="Tessera e-mails the invitation link. Honours `Idempotency-Key`.",
    dto=StrictBody[schemas.InvitationCreate],
    return_dto=None,
    **operation(ADMIN_USERS_MANAGE, problems=[409, 413, 422]),
)
async def create_invitation(
    request: Request[Any, Any, Any],
    db: DbSession,
    principal: CurrentPrincipal,
    data: JSONBody[schemas.InvitationCreate],
    idempotency_key: IdempotencyKey = None,
) -> Response[schemas.Invitation]:
    async def invite() -> schemas.Invitation:
        return schemas.invitation_of(
            await invitations.invite_user(
                db,
                principal,
                email=data.email,
                full_name=data.full_name,
                role_keys=data.roles,
                team_id=data.team_id,
                locale=data.locale,
            )
        )

    return await create_once(
        request,
        db,
        actor=principal.key,
        key=idempotency_key,
        data=data,
        out=schemas.Invitation,
        create=invite,
    )


@post(
    "/invitations/{invitation_id:int}/revoke",
    summary="Revoke an invitation",
    tags=["invitations"],
    description="The link stops working. Revoking a revoked invitation changes nothing.",
    status_code=200,
    **operation(ADMIN_USERS_MANAGE, resource="invitations", problems=[404, 409]),
)
async def revoke_invitation(db: DbSession, invitation_id: FromPath[int]) -> schemas.Invitation:
    return schemas.invitation_of(await invitations.revoke_invitation(db, invitation_id))


# --- roles and teams -------------------------------------------------------------------------


@get(
    "/roles",
    summary="List roles",
    description="Built-in and your own roles, by key.",
    tags=["roles"],
    **operation(ADMIN_USERS_READ),
)
async def list_roles(db: DbSession, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> schemas.RolePage:
    page = await fetch_page(db, select(Role), ROLES, limit=limit, cursor=cursor)
    return schemas.RolePage(items=[schemas.role_of(r) for r in page.rows], next_cursor=page.next_cursor)


@get(
    "/roles/{role_id:int}",
    summary="Get a role",
    tags=["roles"],
    **operation(ADMIN_USERS_READ, resource="roles", problems=[404]),
)
async def get_role(db: DbSession, role_id: FromPath[int]) -> schemas.Role:
    return schemas.role_of(await roles.get_role(db, role_id))


@get("/teams", summary="List teams", description="By name.", tags=["teams"], **operation(ADMIN_USERS_READ))
async def list_teams(db: DbSession, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> schemas.TeamPage:
    page = await fetch_page(db, select(Team), TEAMS, limit=limit, cursor=cursor)
    return schemas.TeamPage(items=[schemas.team_of(t) for t in page.rows], next_cursor=page.next_cursor)


@get(
    "/teams/{team_id:int}",
    summary="Get a team",
    tags=["teams"],
    **operation(ADMIN_USERS_READ, resource="teams", problems=[404]),
)
async def get_team(db: DbSession, team_id: FromPath[int]) -> schemas.Team:
    return schemas.team_of(await teams.get_team(db, team_id))


@post(
    "/teams",
    summary="Create a team",
    description="Honours `Idempotency-Key`.",
    tags=["teams"],
    dto=StrictBody[schemas.TeamCreate],
    return_dto=None,
    **operation(ADMIN_TEAMS_MANAGE, problems=[413, 422]),
)
async def create_team(
    request: Request[Any, Any, Any],
    db: DbSession,
    principal: CurrentPrincipal,
    data: JSONBody[schemas.TeamCreate],
    idempotency_key: IdempotencyKey = None,
) -> Response[schemas.Team]:
    async def create() -> schemas.Team:
        return schemas.team_of(await teams.create_team(db, name=data.name, manager_id=data.manager_id))

    return await create_once(
        request, db, actor=principal.key, key=idempotency_key, data=data, out=schemas.Team, create=create
    )


# --- audit trail -----------------------------------------------------------------------------


@get(
    "/audit-events",
    summary="Search the audit trail",
    description="Newest first.",
    tags=["audit"],
    **operation(ADMIN_AUDIT_READ),
)
async def list_audit_events(
    db: DbSession,
    entity_type: Annotated[
        str | None, QueryParameter(max_length=64, description="A table, e.g. `users`.")
    ] = None,
    entity_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
    actor_kind: Annotated[
        Literal["user", "api_client", "system", "operator", "anonymous"] | None, QueryParameter()
    ] = None,
    action: Annotated[str | None, QueryParameter(max_length=80, description="E.g. `users.update`.")] = None,
    since: Annotated[
        datetime | None, QueryParameter(description="At or after (ISO 8601; UTC if no offset).")
    ] = None,
    until: Annotated[
        datetime | None, QueryParameter(description="Strictly before (ISO 8601; UTC if no offset).")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> schemas.AuditEventPage:
    stmt = audit_log.audit_query()
    for narrow, value in (
        (audit_log.by_entity_type, entity_type),
        (audit_log.by_entity_id, entity_id),
        (audit_log.by_actor_kind, actor_kind),
        (audit_log.by_action, action),
    ):
        if value is not None:
            stmt = narrow(stmt, value)
    stmt = audit_log.between(stmt, as_utc(since), as_utc(until))
    page = await fetch_page(db, stmt, AUDIT_EVENTS, limit=limit, cursor=cursor)
    return schemas.AuditEventPage(
        items=[schemas.audit_event_of(e) for e in page.rows], next_cursor=page.next_cursor
    )


@get(
    "/audit-events/{event_id:int}",
    summary="Get an audit event",
    tags=["audit"],
    **operation(ADMIN_AUDIT_READ, resource="audit_events", problems=[404]),
)
async def get_audit_event(db: DbSession, event_id: FromPath[int]) -> schemas.AuditEvent:
    return schemas.audit_event_of(await audit_log.get_entry(db, event_id))


ROUTES: list[HTTPRouteHandler] = [
    me,
    list_users,
    get_user,
    update_user,
    list_invitations,
    get_invitation,
    create_invitation,
    revoke_invitation,
    list_roles,
    get_role,
    list_teams,
    get_team,
    create_team,
    list_audit_events,
    get_audit_event,
]
