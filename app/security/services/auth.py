"""Signing in with a password, and password resets (PLAT-3)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel import context
from app.kernel.audit import audited
from app.kernel.context import Actor, TenantRef
from app.kernel.db import utcnow
from app.kernel.errors import FieldError, ValidationFailed
from app.kernel.outbox import publish
from app.security import throttle, tokens
from app.security.errors import InvalidCredentials, LinkInvalid, PasswordLoginDisabled
from app.security.models import OneTimeToken, SsoSettings, User
from app.security.passwords import hash_password, needs_rehash, password_problems, verify_password

RESET_TTL = timedelta(hours=2)
RESET_PURPOSE = "password_reset"


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    stmt = select(User).where(func.lower(User.email) == email.strip().lower())
    return (await session.execute(stmt)).scalar_one_or_none()


async def _sso_enforced(session: AsyncSession) -> bool:
    enforce = await session.scalar(select(SsoSettings.enforce).where(SsoSettings.enabled.is_(True)).limit(1))
    return bool(enforce)


async def authenticate(
    session: AsyncSession, tenant: TenantRef, email: str, password: str, ip: str | None
) -> User:
    """Check a password log-in. Throttled per account and per IP before the password is checked."""
    email = (email or "").strip().lower()[:254]
    await throttle.check(tenant.id, email, ip)
    user = await find_user_by_email(session, email)
    ok = verify_password(user.password_hash if user else None, password or "")
    if not ok or user is None or not user.is_active:
        await throttle.record_failure(tenant.id, email, ip)
        raise InvalidCredentials()
    if not user.is_external and await _sso_enforced(session):
        raise PasswordLoginDisabled()
    await throttle.record_success(tenant.id, email)
    with context.bound(
        actor=Actor(kind="user", id=user.id, label=user.email)
    ):  # who signed in, not "anonymous"
        async with audited(session, "user.signed_in"):
            user.last_login_at = utcnow()
            if user.password_hash and needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
    return user


async def request_password_reset(session: AsyncSession, email: str) -> None:
    """Always looks the same to the caller (no account enumeration); mails only real users."""
    user = await find_user_by_email(session, email or "")
    if user is None or not user.is_active:
        return
    await publish(session, "security.password_reset_requested", {"user_id": user.id})


async def issue_reset_token(
    session: AsyncSession, user: User, ttl: timedelta = RESET_TTL, seed: str | None = None
) -> str:
    """A new single-use reset link secret (fixed by ``seed``, the event id, when given); earlier
    unused ones stop working."""
    await session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user.id,
            OneTimeToken.purpose == RESET_PURPOSE,
            OneTimeToken.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    raw, digest = tokens.derived_secret(RESET_PURPOSE, f"{user.id}:{seed}") if seed else tokens.new_secret()
    session.add(
        OneTimeToken(user_id=user.id, purpose=RESET_PURPOSE, token_hash=digest, expires_at=utcnow() + ttl)
    )
    return tokens.sign(raw, RESET_PURPOSE)


async def _live_token(session: AsyncSession, signed: str) -> OneTimeToken:
    try:
        raw = tokens.unsign(signed, RESET_PURPOSE, max_age_seconds=int(timedelta(days=8).total_seconds()))
    except tokens.TokenInvalid as exc:
        raise LinkInvalid() from exc
    row = (
        await session.execute(
            select(OneTimeToken)
            .where(OneTimeToken.token_hash == tokens.hash_secret(raw), OneTimeToken.purpose == RESET_PURPOSE)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise LinkInvalid()
    return row


async def check_reset_token(session: AsyncSession, signed: str) -> User:
    row = await _live_token(session, signed)
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise LinkInvalid()
    return user


async def reset_password(session: AsyncSession, signed: str, password: str, confirm: str) -> User:
    row = await _live_token(session, signed)
    errors = password_problems(password)
    if password != confirm:
        errors.append(FieldError("confirm", "The two passwords do not match."))
    if errors:
        raise ValidationFailed(errors)
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise LinkInvalid()
    async with audited(session, "user.password_reset"):
        row.used_at = utcnow()
        user.password_hash = hash_password(password)
        user.session_epoch += 1  # every other session of this user ends
    return user
