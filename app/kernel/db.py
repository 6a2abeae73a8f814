"""Database engines, declarative bases and tenant-bound sessions.

Two metadata trees:

* ``SharedBase`` — tables in the shared ``public`` schema (tenant registry, outbox, ...). Their
  schema is explicit, so a tenant session's translate map never touches them, and one transaction
  can write a tenant row and a shared outbox row together.
* ``TenantBase`` — tables that exist once per tenant schema. They are declared *without* a schema;
  each tenant session carries ``schema_translate_map={None: "tenant_<slug>"}`` so SQLAlchemy's
  compiled-statement cache is shared by every tenant (ARCHITECTURE.md, Tenancy). We never run a
  session-level ``SET search_path``: a pooled connection can't leak one tenant into another.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import BigInteger, DateTime, Identity, MetaData, event, func
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from app.settings import get_settings

SHARED_SCHEMA = "public"
TENANT_SCHEMA_PREFIX = "tenant_"
# The schema Alembic's tenant track compares models against (never a real tenant).
TENANT_TEMPLATE_SCHEMA = "tessera_tenant_template"

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def utcnow() -> datetime:
    return datetime.now(UTC)


class SharedBase(DeclarativeBase):
    """Tables of the shared (platform) schema."""

    metadata = MetaData(schema=SHARED_SCHEMA, naming_convention=NAMING_CONVENTION)


class TenantBase(DeclarativeBase):
    """Tables that every tenant schema holds a copy of."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class IdMixin:
    """BIGINT identity keys: compact, ordered, and what Citus schema-based sharding expects."""

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utcnow
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), default=utcnow, onupdate=utcnow
    )


def validate_schema_name(schema: str) -> str:
    """Schema names are interpolated into DDL, so they must be plain identifiers we generated."""
    if not _SCHEMA_RE.match(schema) or not (
        schema.startswith(TENANT_SCHEMA_PREFIX) or schema == TENANT_TEMPLATE_SCHEMA
    ):
        raise ValueError(f"not a tenant schema name: {schema!r}")
    return schema


def asyncpg_url(url: str) -> str:
    """Accept postgres://, postgresql:// or postgresql+asyncpg:// and return the asyncpg form."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"unsupported database URL: {url!r}")


class Database:
    """The process's engine and the per-tenant views of it (which share one pool)."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int,
        max_overflow: int,
        statement_cache_size: int,
        random_page_cost: str = "",
    ) -> None:
        server_settings = {"application_name": "tessera", "timezone": "UTC"}
        if random_page_cost:
            # SSD-class storage: with the default 4 the planner preferred scanning a 50,000-row
            # table to a GIN bitmap that touches a handful of pages (bench/README.md, CRM search).
            server_settings["random_page_cost"] = random_page_cost
        self.engine: AsyncEngine = create_async_engine(
            asyncpg_url(url),
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=False,
            pool_recycle=1800,
            connect_args={
                "server_settings": server_settings,
                # One prepared statement per (query, tenant schema): give each pooled
                # connection room for many tenants before its LRU starts evicting.
                "statement_cache_size": statement_cache_size,
                # SQLAlchemy's asyncpg adapter prepares every statement itself and keeps them in
                # its own per-connection LRU (default 100), which asyncpg's cache above never
                # sees: without this, DB_STATEMENT_CACHE_SIZE did not apply (bench/README.md).
                "prepared_statement_cache_size": statement_cache_size,
            },
        )
        self._tenant_engines: dict[str, AsyncEngine] = {}
        self._maker = async_sessionmaker(expire_on_commit=False, autoflush=True)

    def tenant_engine(self, schema: str) -> AsyncEngine:
        engine = self._tenant_engines.get(schema)
        if engine is None:
            engine = self.engine.execution_options(schema_translate_map={None: validate_schema_name(schema)})
            self._tenant_engines[schema] = engine
        return engine

    def shared_session(self) -> AsyncSession:
        """A session for platform tables only (tenant tables would fail: they have no schema)."""
        return self._maker(bind=self.engine)

    def tenant_session(self, schema: str) -> AsyncSession:
        """A session whose tenant tables live in ``schema``; shared tables stay in ``public``."""
        return self._maker(bind=self.tenant_engine(schema), info={"tenant_schema": schema})

    def forget_tenant(self, schema: str) -> None:
        self._tenant_engines.pop(schema, None)

    async def dispose(self) -> None:
        await self.engine.dispose()
        self._tenant_engines.clear()


_database: Database | None = None


def get_database() -> Database:
    """The process-wide Database, created on first use from settings."""
    global _database
    if _database is None:
        settings = get_settings()
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set (the `tessera` CLI starts an embedded PostgreSQL)")
        _database = Database(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            statement_cache_size=settings.db_statement_cache_size,
            random_page_cost=settings.db_random_page_cost,
        )
    return _database


async def close_database() -> None:
    global _database
    if _database is not None:
        await _database.dispose()
        _database = None


@asynccontextmanager
async def unit_of_work(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """Commit on success, roll back on any error; the caller owns the transaction boundary."""
    try:
        yield session
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    finally:
        await session.close()


_MEMO = "tessera.transaction_memo"


def transaction_memo(session: AsyncSession) -> dict[str, Any]:
    """A dict that lives as long as the session's innermost transaction (or savepoint): what one
    request reads once and asks for many times — a setting, the row locks it already holds, the
    lines of an order it just confirmed. A new transaction, a savepoint or a rollback starts
    with an empty memo, so nothing remembered can outlive the transaction it is true in (a
    lookup inside a savepoint does not see the outer transaction's memo: it reads again, which
    is never wrong)."""
    sync = session.sync_session
    transaction = sync.get_nested_transaction() or sync.get_transaction()
    remembered = sync.info.get(_MEMO)
    if remembered is not None and remembered[0] is transaction:
        return cast(dict[str, Any], remembered[1])
    memo: dict[str, Any] = {}
    if transaction is not None:
        sync.info[_MEMO] = (transaction, memo)
    return memo


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_transaction_memo(session: Session, *_: Any) -> None:
    """A memo ends with its transaction: the objects it holds must not keep the identity map's
    copies alive into the next one (sessions keep objects past commit, expire_on_commit=False)."""
    session.info.pop(_MEMO, None)


def row_to_dict(obj: Any, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Column values of an ORM object, for audit snapshots and exports."""
    table = obj.__table__
    return {c.key: getattr(obj, c.key) for c in table.columns if c.key not in exclude}
