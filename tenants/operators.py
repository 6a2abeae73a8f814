"""Platform operators: Tessera staff who run the operator console (never tenant users)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel import context
from app.kernel.audit import audited
from app.kernel.context import Actor
from app.kernel.db import get_database, unit_of_work, utcnow
from app.kernel.errors import Conflict, ValidationFailed
from app.security import throttle
from app.security.errors import InvalidCredentials
from app.security.passwords import hash_password, password_problems, verify_password
from app.security.validation import clean_email, clean_name
from tenants.models import Operator


async def create_operator(*, email: str, full_name: str, password: str) -> Operator:
    clean, errors = clean_email(email)
    name, name_errors = clean_name(full_name)
    errors += name_errors + password_problems(password)
    if errors:
        raise ValidationFailed(errors)
    async with unit_of_work(get_database().shared_session()) as s:
        if await s.scalar(select(Operator.id).where(func.lower(Operator.email) == clean)):
            raise Conflict("operator_exists", "An operator with this e-mail already exists.")
        async with audited(s, "operator.created"):
            op = Operator(email=clean, full_name=name, password_hash=hash_password(password))
            s.add(op)
    return op


# The throttle's account key uses tenant id 0 — "the platform" — which no tenant can have (ids
# start at 1), so an operator e-mail never shares a counter with a tenant user of the same address.
PLATFORM_THROTTLE_KEY = 0


async def sign_in_operator(session: AsyncSession, email: str, password: str, ip: str | None) -> Operator:
    """Throttle first (a locked account is no password oracle), then check the password."""
    email = (email or "").strip().lower()[:254]
    await throttle.check(PLATFORM_THROTTLE_KEY, email, ip)
    try:
        op = await authenticate_operator(session, email, password)
    except InvalidCredentials:
        await throttle.record_failure(PLATFORM_THROTTLE_KEY, email, ip)
        raise
    await throttle.record_success(PLATFORM_THROTTLE_KEY, email)
    return op


async def authenticate_operator(session: AsyncSession, email: str, password: str) -> Operator:
    op = (
        await session.execute(
            select(Operator).where(func.lower(Operator.email) == (email or "").strip().lower())
        )
    ).scalar_one_or_none()
    if (
        not verify_password(op.password_hash if op else None, password or "")
        or op is None
        or not op.is_active
    ):
        raise InvalidCredentials()
    with context.bound(actor=Actor(kind="operator", id=op.id, label=op.email)):
        async with audited(session, "operator.signed_in"):
            op.last_login_at = utcnow()
    return op
