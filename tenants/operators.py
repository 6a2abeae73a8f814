"""Platform operators: Tessera staff who run the operator console (never tenant users)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel.audit import audited
from app.kernel.db import get_database, unit_of_work, utcnow
from app.kernel.errors import Conflict, ValidationFailed
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
    async with audited(session, "operator.signed_in"):
        op.last_login_at = utcnow()
    return op
