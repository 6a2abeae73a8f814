"""API representations and request bodies: leads (CRM-2).

Bodies forbid unknown fields and carry their shapes (lengths, ranges, enumerations), so a
malformed request is a 400 before any service runs; the lead rules themselves (a valid e-mail
address, an owner within the caller's reach, an existing campaign) answer 422 with field errors
from app/crm/services/leads.py — the same messages the portal shows.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from app.crm import models

Status = Literal["new", "contacted", "qualified", "disqualified", "converted"]
EditableStatus = Literal["new", "contacted", "qualified"]
Source = Literal["manual", "web_form", "api", "import", "campaign", "referral", "event", "email", "phone"]
Name = Annotated[str, Meta(max_length=200)]
Short = Annotated[str, Meta(max_length=100)]
Text80 = Annotated[str, Meta(max_length=80)]
Money = Annotated[
    str, Meta(pattern=r"^\d{1,13}(\.\d{1,2})?$", description='A decimal string, e.g. "120000.00".')
]


class Lead(Struct):
    id: int
    full_name: str
    first_name: str
    last_name: str
    company: str | None
    title: str | None
    email: str | None
    phone: str | None
    region: str | None
    country: str | None
    industry: str | None
    source: Source
    source_detail: str | None
    campaign_id: int | None
    status: Status
    score: int
    message: str
    disqualified_reason: str | None
    owner_id: int | None
    team_id: int | None
    qualified_at: datetime | None
    converted_at: datetime | None
    converted_account_id: int | None
    converted_contact_id: int | None
    converted_opportunity_id: int | None
    created_at: datetime
    updated_at: datetime


def lead_of(lead: models.Lead) -> Lead:
    return Lead(
        id=lead.id,
        full_name=lead.full_name,
        first_name=lead.first_name,
        last_name=lead.last_name,
        company=lead.company,
        title=lead.title,
        email=lead.email,
        phone=lead.phone,
        region=lead.region,
        country=lead.country,
        industry=lead.industry,
        source=lead.source,  # type: ignore[arg-type]  # checked by the table's values
        source_detail=lead.source_detail,
        campaign_id=lead.campaign_id,
        status=lead.status,  # type: ignore[arg-type]
        score=lead.score,
        message=lead.message,
        disqualified_reason=lead.disqualified_reason,
        owner_id=lead.owner_id,
        team_id=lead.team_id,
        qualified_at=lead.qualified_at,
        converted_at=lead.converted_at,
        converted_account_id=lead.converted_account_id,
        converted_contact_id=lead.converted_contact_id,
        converted_opportunity_id=lead.converted_opportunity_id,
        created_at=lead.created_at,
        updated_at=lead.updated_at,
    )


class LeadPage(Struct):
    items: list[Lead]
    next_cursor: str | None


class LeadCreate(Struct, forbid_unknown_fields=True):
    """A new lead: a name (``full_name``, or first and last) and an e-mail address or phone.

    Without ``owner_id`` the tenant's assignment rules choose the owner (or none)."""

    full_name: Name = ""
    first_name: Short = ""
    last_name: Short = ""
    company: Name | None = None
    title: Annotated[str, Meta(max_length=120)] | None = None
    email: Annotated[str, Meta(max_length=254)] | None = None
    phone: Annotated[str, Meta(max_length=40)] | None = None
    region: Text80 | None = None
    country: Annotated[str, Meta(max_length=2, description="ISO 3166-1 alpha-2, e.g. CN.")] | None = None
    industry: Text80 | None = None
    source: Source = "api"
    source_detail: Name | None = None
    campaign_id: int | None = None
    status: EditableStatus = "new"
    score: Annotated[int, Meta(ge=0, le=100)] = 0
    message: Annotated[str, Meta(max_length=5000)] = ""
    owner_id: int | None = None


class LeadUpdate(Struct, forbid_unknown_fields=True):
    """A partial update: only the fields present change; ``null`` clears a nullable field."""

    full_name: Name | UnsetType = UNSET
    first_name: Short | UnsetType = UNSET
    last_name: Short | UnsetType = UNSET
    company: Name | UnsetType | None = UNSET
    title: Annotated[str, Meta(max_length=120)] | UnsetType | None = UNSET
    email: Annotated[str, Meta(max_length=254)] | UnsetType | None = UNSET
    phone: Annotated[str, Meta(max_length=40)] | UnsetType | None = UNSET
    region: Text80 | UnsetType | None = UNSET
    country: Annotated[str, Meta(max_length=2)] | UnsetType | None = UNSET
    industry: Text80 | UnsetType | None = UNSET
    source: Source | UnsetType = UNSET
    source_detail: Name | UnsetType | None = UNSET
    campaign_id: int | UnsetType | None = UNSET
    status: EditableStatus | UnsetType = UNSET
    score: Annotated[int, Meta(ge=0, le=100)] | UnsetType = UNSET
    message: Annotated[str, Meta(max_length=5000)] | UnsetType = UNSET
    owner_id: int | UnsetType | None = UNSET


class LeadQualify(Struct, forbid_unknown_fields=True):
    score: Annotated[int, Meta(ge=0, le=100)] | None = None


class LeadDisqualify(Struct, forbid_unknown_fields=True):
    # Required, but checked by the service (422 with the field) after the lead is found, so an id
    # the caller cannot see is a 404 whatever the body.
    reason: Annotated[str, Meta(max_length=200, description="Why: required.")] = ""


class OpportunityDraft(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    amount: Money | None = None
    expected_close_date: date | None = None
    stage_id: Annotated[int, Meta(description="An open pipeline stage; default: the first.")] | None = None


class LeadConvert(Struct, forbid_unknown_fields=True):
    """Without ``account_id`` a new account is created (named ``account_name``, else the lead's
    company or name); with it the contact joins that account. ``opportunity`` opens a deal."""

    account_id: int | None = None
    account_name: Name | None = None
    opportunity: OpportunityDraft | None = None


class Conversion(Struct):
    lead: Lead
    account_id: int
    contact_id: int
    opportunity_id: int | None
    account_created: bool
    contact_created: bool


def conversion_data(body: LeadConvert) -> dict[str, object]:
    """The conversion body in the shape the service (and the portal form) use."""
    data: dict[str, object] = {
        "account_mode": "existing" if body.account_id is not None else "new",
        "account_id": body.account_id,
        "account_name": body.account_name,
        "create_opportunity": body.opportunity is not None,
    }
    if body.opportunity is not None:
        data.update(
            opportunity_name=body.opportunity.name,
            opportunity_amount=body.opportunity.amount,
            opportunity_close_date=body.opportunity.expected_close_date,
            opportunity_stage_id=body.opportunity.stage_id,
        )
    return data
