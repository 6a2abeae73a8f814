"""The platform's own tables, in the shared schema: who the tenants are and how to reach them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.kernel.db import IdMixin, SharedBase, TimestampMixin


class Tenant(SharedBase, IdMixin, TimestampMixin):
    """A customer organisation (a company or a hospital). Its data lives in ``schema_name``.

    ``status`` moves active → suspended → active, or → deleted (soft, still restorable until
    ``purge_after``) → purged (schema dropped; the row stays as a tombstone so the slug's
    history is auditable and migrate-all skips it).
    """

    __tablename__ = "tenants"

    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    schema_name: Mapped[str] = mapped_column(String(63), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    edition: Mapped[str] = mapped_column(String(16), default="enterprise")
    locale: Mapped[str] = mapped_column(String(16), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    # Scale-out: which PostgreSQL server holds the schema (docs/architecture.md, Scale-out).
    database_key: Mapped[str] = mapped_column(String(32), default="default")
    schema_revision: Mapped[str | None] = mapped_column(String(64), index=True)
    migrated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    migration_error: Mapped[str | None] = mapped_column(Text)
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    suspended_reason: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    purge_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TenantDomain(SharedBase, IdMixin, TimestampMixin):
    """A custom host name (``crm.acme-corp.com``) routed to a tenant once its DNS TXT token is verified."""

    __tablename__ = "tenant_domains"

    tenant_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("public.tenants.id", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(String(253), unique=True)
    verification_token: Mapped[str] = mapped_column(String(64))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Operator(SharedBase, IdMixin, TimestampMixin):
    """A platform operator (Tessera staff): runs the operator console, never a tenant user."""

    __tablename__ = "operators"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TenantMigrationLog(SharedBase, IdMixin):
    """One line per tenant per `tessera migrate` run: the per-tenant result report, kept."""

    __tablename__ = "tenant_migration_log"
    __table_args__ = (UniqueConstraint("run_id", "tenant_id"),)

    run_id: Mapped[str] = mapped_column(String(36), index=True)
    tenant_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("public.tenants.id", ondelete="CASCADE"))
    from_revision: Mapped[str | None] = mapped_column(String(64))
    to_revision: Mapped[str | None] = mapped_column(String(64))
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(BigInteger)
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
