"""What a new tenant starts with: the built-in roles and its first administrator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel.audit import audited
from app.kernel.db import utcnow
from app.security import tokens
from app.security.models import OneTimeToken, Role, User, UserRole
from app.security.passwords import hash_password
from app.security.roles import BUILTIN_ROLES, format_grants

WELCOME_TTL = timedelta(days=7)


@dataclass(frozen=True)
class SeededAdmin:
    user: User
    set_password_token: str | None  # signed; only when no password was given


async def seed_builtin_roles(session: AsyncSession) -> dict[str, Role]:
    roles = {
        key: Role(
            key=key, name=r.name, description=r.description, is_builtin=True, grants=format_grants(r.grants)
        )
        for key, r in BUILTIN_ROLES.items()
    }
    session.add_all(roles.values())
    await session.flush()
    return roles


async def seed_tenant_security(
    session: AsyncSession, *, admin_email: str, admin_name: str, admin_password: str | None, locale: str
) -> SeededAdmin:
    async with audited(session, "tenant.provisioned"):
        roles = await seed_builtin_roles(session)
        admin = User(
            email=admin_email.strip().lower(),
            full_name=admin_name,
            password_hash=hash_password(admin_password) if admin_password else None,
            locale=locale,
        )
        session.add(admin)
        await session.flush()
        session.add(UserRole(user_id=admin.id, role_id=roles["tenant_admin"].id))
        signed = None
        if not admin_password:
            raw, digest = tokens.new_secret()
            session.add(
                OneTimeToken(
                    user_id=admin.id,
                    purpose="password_reset",
                    token_hash=digest,
                    expires_at=utcnow() + WELCOME_TTL,
                )
            )
            signed = tokens.sign(raw, "password_reset")
    return SeededAdmin(admin, signed)
