"""API clients (PLAT-9): OAuth2 client-credentials clients a tenant admin issues and revokes.

The secret is shown exactly once, at creation; only its SHA-256 is stored (secrets are 256-bit
random, so a slow password hash would add latency to every token request and no safety).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel.audit import audited
from app.kernel.context import TenantRef
from app.kernel.db import utcnow
from app.kernel.errors import FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.security import api_tokens
from app.security.models import ApiClient, User
from app.security.permissions import CATALOGUE
from app.security.principal import Principal, load_user_principal
from app.security.validation import clean_name


@dataclass(frozen=True)
class IssuedClient:
    client: ApiClient
    client_secret: str  # shown once


def hash_client_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(client: ApiClient, secret: str) -> bool:
    return hmac.compare_digest(client.secret_hash, hash_client_secret(secret or ""))


def validate_scopes(scopes: list[str]) -> tuple[list[str], list[FieldError]]:
    clean = sorted({s.strip() for s in scopes if s and s.strip()})
    unknown = [s for s in clean if s not in CATALOGUE]
    if unknown:
        return clean, [FieldError("scopes", "Unknown scope: {scopes}.", {"scopes": ", ".join(unknown)})]
    if not clean:
        return clean, [FieldError("scopes", "Choose at least one scope.")]
    return clean, []


async def list_clients(session: AsyncSession, tenant: TenantRef) -> list[ApiClient]:
    stmt = select(ApiClient).where(ApiClient.tenant_id == tenant.id).order_by(ApiClient.created_at.desc())
    return list((await session.execute(stmt)).scalars())


async def get_client(session: AsyncSession, tenant: TenantRef, client_pk: int) -> ApiClient:
    client = (
        await session.execute(
            select(ApiClient).where(ApiClient.id == client_pk, ApiClient.tenant_id == tenant.id)
        )
    ).scalar_one_or_none()
    if client is None:
        raise NotFound(lazy("API client"))
    return client


async def _acting_user(
    session: AsyncSession, tenant: TenantRef, raw: object, scopes: list[str], errors: list[FieldError]
) -> int | None:
    """The user a new client acts for (by id, or by e-mail from the CLI): an active staff member,
    holding every scope given to the client — the client never reaches past its user."""
    if raw in (None, ""):
        return None
    if isinstance(raw, str) and "@" in raw:
        user_id = await session.scalar(select(User.id).where(func.lower(User.email) == raw.strip().lower()))
    else:
        try:
            user_id = int(str(raw))
        except ValueError:
            user_id = None
    user = await load_user_principal(session, tenant, user_id) if user_id is not None else None
    if user is None or user.is_external:
        errors.append(FieldError("acting_user_id", "Choose an active member of staff."))
        return None
    missing = [s for s in scopes if not user.can(s)]
    if missing:
        errors.append(
            FieldError(
                "acting_user_id",
                "{name} does not hold these scopes: {scopes}.",
                {"name": user.name or user.label, "scopes": ", ".join(missing)},
            )
        )
    return user.id


async def create_client(
    session: AsyncSession,
    tenant: TenantRef,
    actor: Principal | None,
    *,
    name: object,
    scopes: list[str],
    acting_user: object = None,
) -> IssuedClient:
    """A new client; with ``acting_user`` (a user id, or an e-mail address) it acts for that user:
    the API then applies the user's record rules, within the client's scopes."""
    clean, errors = clean_name(name, "name", max_len=120)
    scope_list, scope_errors = validate_scopes(scopes)
    if actor is not None and actor.kind == "user":
        beyond = [s for s in scope_list if not actor.can(s)]
        if beyond:  # nobody can mint a client more powerful than themselves
            scope_errors.append(
                FieldError(
                    "scopes",
                    "You cannot grant scopes you do not hold: {scopes}.",
                    {"scopes": ", ".join(beyond)},
                )
            )
    errors += scope_errors
    acting_user_id = await _acting_user(session, tenant, acting_user, scope_list, errors)
    if errors:
        raise ValidationFailed(errors)
    secret = secrets.token_urlsafe(32)
    async with audited(session, "api_client.created"):
        client = ApiClient(
            tenant_id=tenant.id,
            client_id="tsr_" + secrets.token_hex(12),
            secret_hash=hash_client_secret(secret),
            name=clean,
            scopes=scope_list,
            created_by_user_id=actor.id if actor and actor.kind == "user" else None,
            acting_user_id=acting_user_id,
        )
        session.add(client)
    return IssuedClient(client, secret)


async def revoke_client(session: AsyncSession, tenant: TenantRef, client_pk: int) -> ApiClient:
    client = await get_client(session, tenant, client_pk)
    if client.revoked_at is None:
        async with audited(session, "api_client.revoked"):
            client.revoked_at = utcnow()
        await api_tokens.revoke_client(client.id)
    return client
