"""Leads (CRM-2): people who may become customers, where they came from, and who works them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from app.crm.models.common import trgm_index
from app.kernel.db import IdMixin, TenantBase, TimestampMixin
from app.kernel.i18n import lazy, lazy_p
from app.security.record_rules import Owned

LEAD_STATUSES = ("new", "contacted", "qualified", "disqualified", "converted")
LEAD_SOURCES = ("manual", "web_form", "api", "import", "campaign", "referral", "event", "email", "phone")
# English msgids for the codes above, shown through tr()/gettext where people read them.
STATUS_LABELS = {
    "new": lazy("New"),
    "contacted": lazy("Contacted"),
    "qualified": lazy("Qualified"),
    "disqualified": lazy("Disqualified"),
    "converted": lazy("Converted"),
}
SOURCE_LABELS = {
    "manual": lazy("Entered by hand"),
    "web_form": lazy("Web form"),
    "api": "API",  # the same in every language
    "import": lazy("CSV import"),
    "campaign": lazy("Campaign"),
    "referral": lazy("Referral"),
    "event": lazy_p("channel", "Event"),
    "email": lazy_p("channel", "E-mail"),
    "phone": lazy("Phone"),
}

_LEAD_SEARCH = (
    "to_tsvector('simple'::regconfig, coalesce(full_name, '') || ' ' || coalesce(company, '') || ' ' || "
    "coalesce(email, '') || ' ' || coalesce(phone, '')) || "
    "public.tessera_cjk_bigrams(coalesce(full_name, '') || ' ' || coalesce(company, ''))"
)


class Lead(TenantBase, IdMixin, TimestampMixin, Owned):
    """A potential customer not yet qualified: captured by form, API, import or by hand.

    Conversion (``status = 'converted'``) creates or reuses an account and contact and may open an
    opportunity, all in one transaction; the lead keeps links to what it became.
    """

    __tablename__ = "crm_leads"
    __table_args__ = (
        CheckConstraint(
            "status IN ('new', 'contacted', 'qualified', 'disqualified', 'converted')", name="status"
        ),
        CheckConstraint("score BETWEEN 0 AND 100", name="score"),
        # The list's hot paths (checked with EXPLAIN on 200,000 leads): everyone's newest first, a
        # rep's own newest first, each filter newest first, and the other sorts (name, score) —
        # every one an index scan that stops after a page, and capped counts that are index-only.
        Index("ix_crm_leads_created", "created_at", "id"),
        Index("ix_crm_leads_owner_created", "owner_id", "created_at", "id"),
        Index("ix_crm_leads_status_created", "status", "created_at", "id"),
        Index("ix_crm_leads_source_created", "source", "created_at", "id"),
        Index("ix_crm_leads_region_created", "region", "created_at", "id"),
        Index("ix_crm_leads_name", "full_name", "id"),
        Index("ix_crm_leads_score", "score", "id"),
        Index("ix_crm_leads_email_lower", text("lower(email)")),
        Index("ix_crm_leads_search", "search", postgresql_using="gin"),
        Index("ix_crm_leads_campaign", "campaign_id"),
    )

    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    full_name: Mapped[str] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    region: Mapped[str | None] = mapped_column(String(80))
    country: Mapped[str | None] = mapped_column(String(2))
    industry: Mapped[str | None] = mapped_column(String(80))
    source: Mapped[str] = mapped_column(String(40), default="manual")
    source_detail: Mapped[str | None] = mapped_column(String(200))  # form name, import file, referrer
    campaign_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crm_campaigns.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(16), default="new")
    score: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    message: Mapped[str] = mapped_column(Text, default="", server_default="")  # what they asked
    disqualified_reason: Mapped[str | None] = mapped_column(String(200))
    qualified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    converted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    converted_account_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("crm_accounts.id"))
    converted_contact_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crm_contacts.id", ondelete="SET NULL")
    )
    converted_opportunity_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crm_opportunities.id", ondelete="SET NULL")
    )
    # Only ever used in WHERE clauses (search_leads): never loaded with the row.
    search: Mapped[str] = mapped_column(TSVECTOR, Computed(_LEAD_SEARCH, persisted=True), deferred=True)


class AssignmentRule(TenantBase, IdMixin, TimestampMixin):
    """Who gets a new lead (or ticket): the first active rule that matches, in ``position`` order.

    A rule matches on source and/or region (empty = any) and hands the record to one user or
    round-robin across ``user_ids``; ``last_index`` is the round-robin pointer, advanced under a
    row lock so concurrent captures never pick the same person twice in a row.
    """

    __tablename__ = "crm_assignment_rules"
    __table_args__ = (
        CheckConstraint("applies_to IN ('lead', 'ticket')", name="applies_to"),
        CheckConstraint("strategy IN ('round_robin', 'fixed')", name="strategy"),
    )

    name: Mapped[str] = mapped_column(String(120))
    applies_to: Mapped[str] = mapped_column(String(16), default="lead")
    position: Mapped[int] = mapped_column(Integer, default=100)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    match_sources: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list, server_default="{}")
    match_regions: Mapped[list[str]] = mapped_column(ARRAY(String(80)), default=list, server_default="{}")
    strategy: Mapped[str] = mapped_column(String(16), default="round_robin")
    user_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list, server_default="{}")
    team_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("teams.id", ondelete="SET NULL"))
    last_index: Mapped[int] = mapped_column(Integer, default=-1, server_default="-1")


class WebForm(TenantBase, IdMixin, TimestampMixin):
    """A public lead-capture form (CRM-2): posted to ``/f/<key>`` from the tenant's web site.

    ``key`` is public (it is in the site's HTML); spam resistance comes from a honeypot field,
    a signed render timestamp (too fast = bot) and a per-IP rate limit (app/crm/services/webforms.py).
    """

    __tablename__ = "crm_web_forms"

    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(40), default="web_form")
    campaign_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("crm_campaigns.id", ondelete="SET NULL")
    )
    thank_you_message: Mapped[str] = mapped_column(Text, default="", server_default="")
    redirect_url: Mapped[str | None] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    submissions: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


# Substring and similarity search (pg_trgm): duplicate detection and Chinese names.
trgm_index("ix_crm_leads_name_trgm", Lead.full_name)
trgm_index("ix_crm_leads_company_trgm", Lead.company)
