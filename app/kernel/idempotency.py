"""``Idempotency-Key`` for API creates (PLAT-9).

The first request with a key reserves it *inside the transaction that creates the record*; the
response is stored with it. A retry with the same key and the same body gets the stored response
(and creates nothing); the same key with a different body is a client error. A concurrent
duplicate waits on the key's unique index and then sees the stored response.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, String, UniqueConstraint, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.kernel.db import IdMixin, TenantBase, utcnow
from app.kernel.errors import DomainError

MAX_KEY_LENGTH = 200


class IdempotencyKey(TenantBase, IdMixin):
    """A create request already answered, kept so retries get the same answer (24 h)."""

    __tablename__ = "idempotency_keys"
    __audit__ = False
    __table_args__ = (UniqueConstraint("principal", "key"),)

    principal: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    route: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[Any | None] = mapped_column(JSONB)
    resource_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IdempotencyMismatch(DomainError):
    status = 422
    title = "Idempotency key reused"


def request_fingerprint(route: str, body: bytes) -> str:
    return hashlib.sha256(route.encode() + b"\0" + body).hexdigest()


async def reserve(
    session: AsyncSession, *, principal: str, key: str, route: str, body: bytes
) -> IdempotencyKey | None:
    """Reserve ``key`` for this request. Returns the earlier answer to replay, or None to proceed."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise DomainError(
            "idempotency_key_invalid",
            "The Idempotency-Key header must be 1 to {max} characters.",
            params={"max": MAX_KEY_LENGTH},
            status=400,
        )
    fingerprint = request_fingerprint(route, body)
    inserted = await session.execute(
        insert(IdempotencyKey)
        .values(principal=principal, key=key, route=route, request_hash=fingerprint, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["principal", "key"])
        .returning(IdempotencyKey.id)
    )
    if inserted.scalar_one_or_none() is not None:
        return None
    existing = (
        await session.execute(
            select(IdempotencyKey).where(IdempotencyKey.principal == principal, IdempotencyKey.key == key)
        )
    ).scalar_one()
    if existing.request_hash != fingerprint:
        raise IdempotencyMismatch(
            "idempotency_key_reused",
            "This Idempotency-Key was already used with a different request.",
        )
    return existing


async def remember(
    session: AsyncSession,
    *,
    principal: str,
    key: str,
    status_code: int,
    response: Any,
    resource_id: int | None = None,
) -> None:
    row = (
        await session.execute(
            select(IdempotencyKey).where(IdempotencyKey.principal == principal, IdempotencyKey.key == key)
        )
    ).scalar_one()
    row.status_code = status_code
    row.response = response
    row.resource_id = resource_id
