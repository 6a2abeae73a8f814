"""Housekeeping jobs keep bookkeeping tables bounded (here: answered Idempotency-Keys)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.kernel.db import utcnow
from app.kernel.idempotency import IdempotencyKey
from tenants.service import in_tenant
from workers.housekeeping import delete_expired_idempotency_keys


async def test_expired_idempotency_keys_are_deleted_and_fresh_ones_kept(acme):
    async with in_tenant("acme") as (session, _):
        session.add_all(
            [
                IdempotencyKey(
                    principal="api_client:1",
                    key="old-key",
                    route="POST /x",
                    request_hash="h",
                    created_at=utcnow() - timedelta(hours=30),
                ),
                IdempotencyKey(
                    principal="api_client:1",
                    key="fresh-key",
                    route="POST /x",
                    request_hash="h",
                    created_at=utcnow() - timedelta(hours=2),
                ),
            ]
        )
    async with in_tenant("acme") as (session, _):
        deleted = await delete_expired_idempotency_keys(session)
        left = set((await session.execute(select(IdempotencyKey.key))).scalars())
        assert deleted >= 1
        assert "old-key" not in left
        assert "fresh-key" in left
        assert (
            await session.scalar(
                select(func.count())
                .select_from(IdempotencyKey)
                .where(IdempotencyKey.created_at < utcnow() - timedelta(hours=26))
            )
            == 0
        )
