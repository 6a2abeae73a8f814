"""What the identity and administration API (PLAT-9) reads and writes, as msgspec Structs.

Request bodies forbid unknown fields and carry their shape constraints (lengths, e-mail pattern),
so a malformed request is a 400 before any service runs; business rules (does the role exist, is
this the last administrator) stay in the services and answer 422/409. Representations are built
from models only here (``*_of`` functions), so every route shows a record the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from app.kernel.audit import AuditEntry
from app.security import models
from app.security.roles import BUILTIN_ROLES, format_grants
from app.security.validation import EMAIL_RE

Email = Annotated[str, Meta(pattern=EMAIL_RE.pattern, max_length=254, description="An e-mail address.")]
FullName = Annotated[str, Meta(max_length=200, description="The person's name as shown in Tessera.")]
RoleKeys = Annotated[
    list[Annotated[str, Meta(max_length=64)]],
    Meta(min_length=1, max_length=20, description="Role keys (see GET /api/v1/roles), at least one."),
]


class Caller(Struct):
    """Who the token belongs to: integrators check this first when something is refused."""

    client_id: str
    name: str
    tenant: Annotated[str, Meta(description="The organisation's slug; a token only ever reaches its data.")]
    scopes: list[str]
    acts_for: Annotated[
        str | None,
        Meta(
            description="The e-mail of the person the client acts for (their record rules apply), "
            "or null for a client of the whole organisation."
        ),
    ] = None


class User(Struct):
    id: int
    email: str
    full_name: str
    active: bool
    external: Annotated[bool, Meta(description="A customer contact rather than staff.")]
    roles: list[str]
    team_id: int | None
    locale: str | None
    timezone: str | None
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime


class UserPage(Struct):
    items: list[User]
    next_cursor: str | None


class UserUpdate(Struct, forbid_unknown_fields=True):
    """A partial update: only the fields present change; ``"team_id": null`` removes the team."""

    full_name: FullName | UnsetType = UNSET
    roles: RoleKeys | UnsetType = UNSET
    team_id: int | UnsetType | None = UNSET
    active: (
        Annotated[bool, Meta(description="false deactivates the user and ends their sessions.")] | UnsetType
    ) = UNSET


class Invitation(Struct):
    id: int
    email: str
    full_name: str
    roles: list[str]
    team_id: int | None
    status: Literal["pending", "accepted", "expired", "revoked"]
    locale: str
    invited_by_id: int | None
    expires_at: datetime
    accepted_at: datetime | None
    accepted_user_id: int | None
    revoked_at: datetime | None
    created_at: datetime


class InvitationPage(Struct):
    items: list[Invitation]
    next_cursor: str | None


class InvitationCreate(Struct, forbid_unknown_fields=True):
    """Invite a person by e-mail; they choose their password from the link Tessera mails them."""

    email: Email
    roles: RoleKeys
    full_name: FullName = ""
    team_id: int | None = None
    locale: Annotated[str, Meta(max_length=16, description="Language of the invitation mail.")] = "en"


class Role(Struct):
    id: int
    key: str
    name: str
    description: str
    builtin: bool
    grants: Annotated[list[str], Meta(description="Permission names, with `:own`/`:team`/`:all` if scoped.")]


class RolePage(Struct):
    items: list[Role]
    next_cursor: str | None


class Team(Struct):
    id: int
    name: str
    manager_id: int | None
    created_at: datetime
    updated_at: datetime


class TeamPage(Struct):
    items: list[Team]
    next_cursor: str | None


class TeamCreate(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=120)]
    manager_id: int | None = None


class AuditEvent(Struct):
    """One recorded change to one record: who, what, when, from where, before and after."""

    id: int
    at: datetime
    actor_kind: Literal["user", "api_client", "system", "operator", "anonymous"]
    actor_id: int | None
    actor_label: str
    action: Annotated[str, Meta(description="`<table>.create|update|delete`, e.g. `users.update`.")]
    event: Annotated[str | None, Meta(description="The business event, e.g. `user.invited`.")]
    entity_type: str
    entity_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    ip: str | None
    user_agent: str | None
    request_id: str | None


class AuditEventPage(Struct):
    items: list[AuditEvent]
    next_cursor: str | None


def user_of(user: models.User, roles: list[str]) -> User:
    return User(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        active=user.is_active,
        external=user.is_external,
        roles=sorted(roles),
        team_id=user.team_id,
        locale=user.locale,
        timezone=user.timezone,
        last_login_at=user.last_login_at,
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


def invitation_of(inv: models.Invitation) -> Invitation:
    return Invitation(
        id=inv.id,
        email=inv.email,
        full_name=inv.full_name,
        roles=sorted(inv.role_keys),
        team_id=inv.team_id,
        status=inv.status,  # type: ignore[arg-type]  # a str property with exactly these values
        locale=inv.locale,
        invited_by_id=inv.invited_by_id,
        expires_at=inv.expires_at,
        accepted_at=inv.accepted_at,
        accepted_user_id=inv.accepted_user_id,
        revoked_at=inv.revoked_at,
        created_at=inv.created_at,
    )


def role_of(role: models.Role) -> Role:
    builtin = BUILTIN_ROLES.get(role.key) if role.is_builtin else None
    # A built-in role's grants live in code (app/security/roles.py), not in its row.
    grants = format_grants(builtin.grants) if builtin else sorted(role.grants)
    return Role(
        id=role.id,
        key=role.key,
        name=role.name,
        description=role.description,
        builtin=role.is_builtin,
        grants=grants,
    )


def team_of(team: models.Team) -> Team:
    return Team(
        id=team.id,
        name=team.name,
        manager_id=team.manager_id,
        created_at=team.created_at,
        updated_at=team.updated_at,
    )


def audit_event_of(entry: AuditEntry) -> AuditEvent:
    return AuditEvent(
        id=entry.id,
        at=entry.at,
        actor_kind=entry.actor_kind,  # type: ignore[arg-type]  # written by the audit hook from Actor.kind
        actor_id=entry.actor_id,
        actor_label=entry.actor_label,
        action=entry.action,
        event=entry.event,
        entity_type=entry.entity_type,
        entity_id=entry.entity_id,
        before=entry.before,
        after=entry.after,
        ip=entry.ip,
        user_agent=entry.user_agent,
        request_id=entry.request_id,
    )
