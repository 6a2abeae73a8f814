"""Identity and authorisation tables.

Tenant schema: users, teams, roles, role assignments, invitations, one-time tokens, SSO settings.
Shared schema: API clients (the token endpoint must find a client before it knows the tenant).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.kernel.db import IdMixin, SharedBase, TenantBase, TimestampMixin


class Team(TenantBase, IdMixin, TimestampMixin):
    """A group of users with a manager; the unit of the ``team`` record-rule scope."""

    __tablename__ = "teams"

    name: Mapped[str] = mapped_column(String(120), unique=True)
    manager_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", use_alter=True))


class User(TenantBase, IdMixin, TimestampMixin):
    """A person who signs in to this tenant: staff, or (``is_external``) a customer/patient contact."""

    __tablename__ = "users"
    __table_args__ = (Index("uq_users_email_lower", text("lower(email)"), unique=True),)
    __audit_exclude__ = frozenset({"password_hash"})

    email: Mapped[str] = mapped_column(String(254))
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_external: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str | None] = mapped_column(String(64))
    team_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("teams.id", ondelete="SET NULL"))
    sso_subject: Mapped[str | None] = mapped_column(String(255), unique=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Bumped on password change / deactivation: sessions minted before are rejected.
    session_epoch: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class Role(TenantBase, IdMixin, TimestampMixin):
    """A named set of permission grants. Built-in roles take their grants from code
    (app/security/roles.py); tenant-defined roles store theirs in ``grants``."""

    __tablename__ = "roles"

    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    is_builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    grants: Mapped[list[str]] = mapped_column(ARRAY(String(80)), default=list)


class UserRole(TenantBase):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True
    )


class Invitation(TenantBase, IdMixin, TimestampMixin):
    """An e-mailed invitation to join the tenant with given roles (single-use, expiring)."""

    __tablename__ = "invitations"
    __audit_exclude__ = frozenset({"token_hash"})

    email: Mapped[str] = mapped_column(String(254), index=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    role_keys: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    team_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("teams.id", ondelete="SET NULL"))
    invited_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
    # Set when the invitation mail is sent (by the worker): the secret never sits in the outbox.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locale: Mapped[str] = mapped_column(String(16), default="en")

    @property
    def status(self) -> str:
        from app.kernel.db import utcnow

        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= utcnow():
            return "expired"
        return "pending"


class OneTimeToken(TenantBase, IdMixin, TimestampMixin):
    """A single-use secret mailed to a user (password reset). Only its SHA-256 is stored."""

    __tablename__ = "one_time_tokens"
    __audit_exclude__ = frozenset({"token_hash"})

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SsoSettings(TenantBase, IdMixin, TimestampMixin):
    """The tenant's OpenID Connect provider (one per tenant), set by the tenant admin."""

    __tablename__ = "sso_settings"
    __audit_exclude__ = frozenset({"client_secret_encrypted"})

    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(255))
    client_secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    scopes: Mapped[str] = mapped_column(String(255), default="openid email profile")
    button_label: Mapped[str] = mapped_column(String(80), default="Single sign-on")
    allowed_domains: Mapped[list[str]] = mapped_column(ARRAY(String(253)), default=list)
    auto_provision: Mapped[bool] = mapped_column(Boolean, default=False)
    default_role_key: Mapped[str | None] = mapped_column(String(64))
    enforce: Mapped[bool] = mapped_column(Boolean, default=False)  # disable password log-in for staff


class ApiClient(SharedBase, IdMixin, TimestampMixin):
    """An OAuth2 client-credentials client issued by a tenant admin. Lives in the shared schema so
    the token endpoint can authenticate it from ``client_id`` alone; it only ever acts for
    ``tenant_id`` (PLAT-9)."""

    __tablename__ = "api_clients"
    __audit_exclude__ = frozenset({"secret_hash"})

    tenant_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("public.tenants.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(120))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(80)), default=list)
    created_by_user_id: Mapped[int | None] = mapped_column(BigInteger)
    # A client may act for one user of its tenant (the user's id in the tenant schema): its calls
    # then get that user's record rules (own / team / all) and only the permissions both hold.
    acting_user_id: Mapped[int | None] = mapped_column(BigInteger)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
