"""The customer master (CRM-1): accounts, their contacts, and the interaction timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    bindparam,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from app.crm.models.common import trgm_index
from app.kernel.db import IdMixin, TenantBase, TimestampMixin, utcnow
from app.security.record_rules import Owned

ACCOUNT_KINDS = ("company", "person")
LIFECYCLE_STAGES = ("prospect", "customer", "partner", "churned")
ACTIVITY_KINDS = ("call", "meeting", "email", "inquiry", "complaint", "note", "task")

# Full-text search uses the 'simple' configuration: no stemming, so names and e-mail addresses
# match as typed; CJK runs stay whole words there, so every run also adds its bigrams
# (public.tessera_cjk_bigrams, shared migration 0006): 张伟 inside 上海张伟科技 is one index lookup
# (app/crm/services/search.py). Longer fragments also use the pg_trgm indexes on lower(name).
_ACCOUNT_SEARCH = (
    "to_tsvector('simple'::regconfig, coalesce(name, '') || ' ' || coalesce(legal_name, '') || ' ' || "
    "coalesce(email, '') || ' ' || coalesce(phone, '') || ' ' || coalesce(city, '') || ' ' || "
    "coalesce(region, '')) || "
    "public.tessera_cjk_bigrams(coalesce(name, '') || ' ' || coalesce(legal_name, ''))"
)
_CONTACT_SEARCH = (
    "to_tsvector('simple'::regconfig, coalesce(full_name, '') || ' ' || coalesce(email, '') || ' ' || "
    "coalesce(phone, '') || ' ' || coalesce(mobile, '') || ' ' || coalesce(title, '')) || "
    "public.tessera_cjk_bigrams(coalesce(full_name, ''))"
)
# A company name's core for similarity: lower case, without legal forms (有限公司, Co., Ltd., GmbH…),
# spaces and punctuation — "上海张伟科技有限公司" and "上海明辉科技有限公司" share most trigrams of their
# full names but few of their cores. Constants stay literals in the SQL (never bound parameters), so
# queries match the expression of the GiST index below exactly (app/crm/services/duplicates.py).
LEGAL_FORMS_RE = (
    r"股份有限公司|有限责任公司|有限公司|集团|公司"
    r"|\m(co|ltd|limited|inc|corp|corporation|company|gmbh|llc|plc|ag|sa|bv|srl|pte)\M\.?"
)
PUNCTUATION_RE = r"[[:space:][:punct:]（）【】《》，。、·：；]+"


def _sql_text(value: str) -> Any:
    """A constant rendered into the SQL text (not a bound parameter), so the index can match."""
    return bindparam(None, value, type_=String, literal_execute=True)


def name_core(column: Any) -> Any:
    """SQL for the core of a name (see LEGAL_FORMS_RE)."""
    empty, flags = _sql_text(""), _sql_text("g")
    stripped = func.regexp_replace(func.lower(column), _sql_text(LEGAL_FORMS_RE), empty, flags)
    return func.regexp_replace(stripped, _sql_text(PUNCTUATION_RE), empty, flags)


# Digits only, so "+86 138-0013-8000" and "13800138000" compare equal in duplicate detection.
_PHONE_DIGITS = "regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g')"


class Account(TenantBase, IdMixin, TimestampMixin, Owned):
    """A customer or prospect: a company, or an individual person (``kind``).

    ``owner_id`` is the account manager; record rules (own/team/all) decide who sees it. A merged
    account keeps its row with ``merged_into_id`` set, so old links and audit entries still resolve.
    """

    __tablename__ = "crm_accounts"
    __table_args__ = (
        CheckConstraint("kind IN ('company', 'person')", name="kind"),
        CheckConstraint("lifecycle_stage IN ('prospect', 'customer', 'partner', 'churned')", name="stage"),
        Index("ix_crm_accounts_search", "search", postgresql_using="gin"),
        Index("ix_crm_accounts_email_lower", text("lower(email)")),
        # Exact names, case-insensitive: the import's account matching, lead conversion.
        Index("ix_crm_accounts_name_lower", text("lower(name)")),
        Index("ix_crm_accounts_phone_digits", "phone_digits"),
        Index("ix_crm_accounts_tags", "tags", postgresql_using="gin"),
        Index("ix_crm_accounts_owner_name", "owner_id", text("lower(name)")),
    )

    kind: Mapped[str] = mapped_column(String(16), default="company")
    name: Mapped[str] = mapped_column(String(200))
    legal_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    website: Mapped[str | None] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(80))
    region: Mapped[str | None] = mapped_column(String(80))  # sales region, e.g. 华东 / East
    country: Mapped[str | None] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    city: Mapped[str | None] = mapped_column(String(80))
    address: Mapped[str | None] = mapped_column(Text)
    lifecycle_stage: Mapped[str] = mapped_column(String(16), default="prospect")
    source: Mapped[str | None] = mapped_column(String(40))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list, server_default="{}")
    needs: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Preferences as named values: {"contact_channel": "wechat", "language": "zh_Hans", ...}
    preferences: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict, server_default="{}")
    merged_into_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("crm_accounts.id"))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    phone_digits: Mapped[str] = mapped_column(String(40), Computed(_PHONE_DIGITS, persisted=True))
    search: Mapped[str] = mapped_column(TSVECTOR, Computed(_ACCOUNT_SEARCH, persisted=True))


class Contact(TenantBase, IdMixin, TimestampMixin):
    """A person at an account. Visibility follows the account (app/crm/services/visibility.py).

    ``portal_user_id`` is the contact's sign-in to the customer self-service portal (CRM-12).
    """

    __tablename__ = "crm_contacts"
    __table_args__ = (
        Index("ix_crm_contacts_account", "account_id"),
        Index("ix_crm_contacts_email_lower", text("lower(email)")),
        Index("ix_crm_contacts_phone_digits", "phone_digits"),
        Index("ix_crm_contacts_search", "search", postgresql_using="gin"),
    )

    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("crm_accounts.id"))
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    full_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    mobile: Mapped[str | None] = mapped_column(String(40))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    portal_user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL"), unique=True
    )
    # The portal invitation sent for this contact: accepting it links the new user here (CRM-12).
    portal_invitation_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("invitations.id", ondelete="SET NULL"), unique=True
    )
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A merged-away duplicate keeps its row (archived) pointing at the contact it became.
    merged_into_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("crm_contacts.id"))
    phone_digits: Mapped[str] = mapped_column(String(40), Computed(_PHONE_DIGITS, persisted=True))
    search: Mapped[str] = mapped_column(TSVECTOR, Computed(_CONTACT_SEARCH, persisted=True))


class Activity(TenantBase, IdMixin):
    """One interaction on the timeline: a call, meeting, e-mail, inquiry, complaint or note.

    It hangs off an account (always, once known) and optionally a contact, lead or opportunity.
    Orders, tickets and (with finance) invoices appear on the same timeline from their own tables.
    """

    __tablename__ = "crm_activities"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('call', 'meeting', 'email', 'inquiry', 'complaint', 'note', 'task')", name="kind"
        ),
        Index("ix_crm_activities_account_at", "account_id", "occurred_at"),
        Index("ix_crm_activities_lead", "lead_id"),
        Index("ix_crm_activities_opportunity", "opportunity_id"),
        Index("ix_crm_activities_contact", "contact_id"),
    )

    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="", server_default="")
    direction: Mapped[str | None] = mapped_column(String(8))  # "in" | "out" for calls and e-mails
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # tasks
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    account_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("crm_accounts.id"))
    contact_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crm_contacts.id", ondelete="SET NULL")
    )
    lead_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("crm_leads.id", ondelete="CASCADE"))
    opportunity_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crm_opportunities.id", ondelete="SET NULL")
    )
    user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# Substring and similarity search (pg_trgm): duplicate detection and Chinese names.
trgm_index("ix_crm_accounts_name_trgm", Account.name)
# Nearest cores first (KNN, ``<->``): the few most similar accounts without scoring every one.
Index(
    "ix_crm_accounts_name_core",
    name_core(Account.name).label("name_core"),
    postgresql_using="gist",
    postgresql_ops={"name_core": "public.gist_trgm_ops"},
)
trgm_index("ix_crm_contacts_name_trgm", Contact.full_name)
