"""The authenticated party of a request or job, and what it may do (PLAT-4)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel.context import Actor, TenantRef
from app.security.models import Role, Team, User, UserRole
from app.security.permissions import AUTHENTICATED, CATALOGUE, Scope
from app.security.roles import BUILTIN_ROLES, Grants, merge_grants, parse_grants


@dataclass(frozen=True)
class Principal:
    """A signed-in user or an API client, bound to exactly one tenant."""

    kind: str  # "user" | "api_client"
    id: int
    tenant: TenantRef
    label: str
    grants: Grants
    team_ids: frozenset[int] = frozenset()
    is_external: bool = False
    locale: str | None = None
    timezone: str | None = None
    session_epoch: int = 0
    role_keys: tuple[str, ...] = field(default=())
    name: str = ""  # the person's full name (users) or the client's name (API clients)
    via_client: int | None = None  # the API client (its id) through which a user's principal acts

    @property
    def by_token(self) -> bool:
        """Authenticated by an OAuth2 bearer token (an API client, or one acting for a user)."""
        return self.kind == "api_client" or self.via_client is not None

    def can(self, permission: str) -> bool:
        return permission == AUTHENTICATED or permission in self.grants

    def scope_for(self, permission: str) -> Scope | None:
        return self.grants.get(permission)

    @property
    def actor(self) -> Actor:
        return Actor(kind=self.kind, id=self.id, label=self.label)

    @property
    def key(self) -> str:
        """Stable identity for per-principal records (idempotency keys, rate limits)."""
        return f"{self.kind}:{self.id}"


def grants_for_roles(roles: list[Role]) -> Grants:
    sets: list[Grants] = []
    for role in roles:
        builtin = BUILTIN_ROLES.get(role.key) if role.is_builtin else None
        sets.append(dict(builtin.grants) if builtin else parse_grants(role.grants))
    return merge_grants(*sets)


async def load_user_principal(session: AsyncSession, tenant: TenantRef, user_id: int) -> Principal | None:
    """One round trip: the user, their roles and the teams they belong to or manage."""
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    rows = await session.execute(
        select(Role).join(UserRole, UserRole.role_id == Role.id).where(UserRole.user_id == user_id)
    )
    roles = list(rows.scalars())
    managed = await session.execute(select(Team.id).where(Team.manager_id == user_id))
    team_ids = {t for t in managed.scalars()}
    if user.team_id:
        team_ids.add(user.team_id)
    return Principal(
        kind="user",
        id=user.id,
        tenant=tenant,
        label=user.email,
        grants=grants_for_roles(roles),
        team_ids=frozenset(team_ids),
        is_external=user.is_external,
        locale=user.locale,
        timezone=user.timezone,
        session_epoch=user.session_epoch,
        role_keys=tuple(sorted(r.key for r in roles)),
        name=user.full_name,
    )


def api_client_principal(tenant: TenantRef, client_pk: int, client_id: str, scopes: list[str]) -> Principal:
    """A client that acts for the whole tenant within its scopes: record scope ``all``."""
    grants: Grants = {s: Scope.ALL for s in scopes if s in CATALOGUE}
    return Principal(kind="api_client", id=client_pk, tenant=tenant, label=client_id, grants=grants)


def acting_client_principal(user: Principal, client_pk: int, client_id: str, scopes: list[str]) -> Principal:
    """A client that acts for ``user``: the permissions both hold, each with the user's record
    scope (own / team / all), so the API shows that user exactly what their portal shows. The
    audit log names the client and the user (``label``)."""
    grants: Grants = {s: scope for s, scope in user.grants.items() if s in scopes}
    return replace(user, grants=grants, label=f"{client_id} for {user.label}", via_client=client_pk)
