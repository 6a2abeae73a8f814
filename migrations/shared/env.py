"""Alembic environment for the shared (public) schema track."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import BLANK_SCHEMA, MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from app.kernel.db import asyncpg_url
from app.models import shared_metadata
from app.settings import get_settings

VERSION_TABLE = "alembic_version_shared"


def _schemaless(metadata: MetaData) -> MetaData:
    """Shared models say ``schema="public"`` explicitly (so tenant sessions' translate map leaves
    them alone); Alembic reports the default schema as ``None``. Compare a schema-less copy."""
    copy = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.tables.values():
        table.to_metadata(copy, schema=None, referred_schema_fn=lambda *_: BLANK_SCHEMA)
    return copy


def _configure(**kw: object) -> None:
    context.configure(
        target_metadata=_schemaless(shared_metadata),
        version_table=VERSION_TABLE,
        compare_type=True,
        **kw,
    )


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(asyncpg_url(get_settings().database_url or ""))
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    _configure(dialect_name="postgresql", literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (conn := context.config.attributes.get("connection")) is not None:
    _run(conn)
else:
    asyncio.run(_run_async())
