"""Alembic environment for the tenant track: the same history applied to every tenant schema.

Migrations are written schema-less; the runner sets ``SET LOCAL search_path`` to one tenant
schema inside that tenant's transaction (tenants/migrations.py) — only that schema, so objects of
extensions living in ``public`` must be qualified (``public.gin_trgm_ops``). Rules for tenant
migrations (docs/architecture.md): offline-compatible (provisioning replays them as one SQL
script), no reads of data, functions created with ``SET search_path FROM CURRENT``,
expand/contract only.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from app.kernel.db import TENANT_TEMPLATE_SCHEMA, asyncpg_url, validate_schema_name
from app.models import tenant_metadata
from app.settings import get_settings

VERSION_TABLE = "alembic_version"


def _configure(**kw: object) -> None:
    context.configure(
        target_metadata=tenant_metadata,
        version_table=VERSION_TABLE,
        compare_type=True,
        **kw,
    )


def _run(connection, schema: str) -> None:  # type: ignore[no-untyped-def]
    schema = validate_schema_name(schema)
    connection.exec_driver_sql(f'SET LOCAL search_path TO "{schema}"')
    connection.exec_driver_sql(
        f"SET LOCAL lock_timeout = '{context.config.attributes.get('lock_timeout', '5s')}'"
    )
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_template() -> None:
    """CLI use (`alembic -n tenant ...`): work on the template schema, never on a real tenant."""
    url = asyncpg_url(get_settings().database_url or "")
    bootstrap = create_async_engine(url)
    async with bootstrap.begin() as connection:
        await connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{TENANT_TEMPLATE_SCHEMA}"')
    await bootstrap.dispose()
    # The schema must exist before this engine's first connect: SQLAlchemy caches current_schema()
    # as the dialect's default schema, which is where autogenerate/check reflect.
    engine = create_async_engine(
        url, connect_args={"server_settings": {"search_path": TENANT_TEMPLATE_SCHEMA}}
    )
    async with engine.connect() as connection:
        await connection.run_sync(_run, TENANT_TEMPLATE_SCHEMA)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    # The provisioning script: schema-less DDL, executed under the new tenant's search_path.
    _configure(dialect_name="postgresql", literal_binds=True, transactional_ddl=False)
    with context.begin_transaction():
        context.run_migrations()
elif (conn := context.config.attributes.get("connection")) is not None:
    _run(conn, context.config.attributes["schema"])
else:
    asyncio.run(_run_template())
