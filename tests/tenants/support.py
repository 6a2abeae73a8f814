"""Helpers of the platform tests: unique slugs, clean-up, and plain SQL reads to assert exact state."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from sqlalchemy import text

from app.kernel.db import get_database

PENDING_REVISION = "t9999"  # the extra tenant migration of the pending_migration fixture


def unique_slug(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def schema_of(slug: str) -> str:
    return f"tenant_{slug.replace('-', '_')}"


async def discard_tenant(slug: str) -> None:
    """Delete and purge at once, whatever state a test left the tenant in."""
    from app.kernel.errors import Conflict, NotFound
    from tenants.service import delete_tenant, purge_tenant

    with contextlib.suppress(NotFound, Conflict):
        await delete_tenant(slug)
    with contextlib.suppress(NotFound, Conflict):
        await purge_tenant(slug, force=True)


async def rows(sql: str, **params: Any) -> list[tuple[Any, ...]]:
    async with get_database().engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(sql), params)).all()]


async def value(sql: str, **params: Any) -> Any:
    found = await rows(sql, **params)
    return found[0][0] if found else None


async def schema_exists(schema: str) -> bool:
    return bool(await rows("SELECT 1 FROM pg_namespace WHERE nspname = :n", n=schema))


async def registry_row(slug: str) -> tuple[Any, ...] | None:
    found = await rows("SELECT id, status, schema_revision FROM public.tenants WHERE slug = :s", s=slug)
    return found[0] if found else None


async def table_counts(schema: str) -> dict[str, int]:
    """Rows per table of a tenant schema (Alembic's version table aside)."""
    names = await rows(
        "SELECT tablename FROM pg_tables WHERE schemaname = :s AND tablename <> 'alembic_version' ORDER BY 1",
        s=schema,
    )
    return {t: await value(f'SELECT count(*) FROM "{schema}"."{t}"') for (t,) in names}


async def platform_state() -> tuple[Any, ...]:
    """Everything provisioning may create: compared before and after a failure (nothing changed)."""
    return (
        await rows("SELECT id, slug, status, schema_name FROM public.tenants ORDER BY id"),
        await rows("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant\\_%' ORDER BY 1"),
        await value("SELECT count(*) FROM public.platform_audit_log"),
    )


async def column_exists(schema: str, table: str, column: str) -> bool:
    return bool(
        await rows(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = :s AND table_name = :t "
            "AND column_name = :c",
            s=schema,
            t=table,
            c=column,
        )
    )
