"""API representations and request bodies: pipeline stages and opportunities (CRM-3).

Money travels as a decimal *string* ("120000.00"), dates as ISO 8601. Request bodies refuse
unknown fields and wrong JSON types (400); what the values *mean* — a negative amount, a
probability over 100, an unknown stage — is judged by the service and answered 422 with field
errors, exactly as the portal's forms are.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from app.crm import models
from app.crm.services.fields import cents

Amount = Annotated[str, Meta(max_length=32, description='A decimal string, e.g. "120000.00".')]
Probability = Annotated[int, Meta(description="0 to 100 (%). Omit to use the stage's probability.")]
Name = Annotated[str, Meta(max_length=200)]
Text = Annotated[str, Meta(max_length=20_000)]
Short = Annotated[str, Meta(max_length=200)]
Currency = Annotated[str, Meta(max_length=3, description="ISO 4217; default: the organisation's.")]
Status = Literal["open", "won", "lost"]


class PipelineStage(Struct):
    id: int
    key: str
    name: Annotated[str, Meta(description="Built-in stages carry their English name.")]
    probability: int
    position: int
    kind: Literal["open", "won", "lost"]
    active: bool


class PipelineStagePage(Struct):
    items: list[PipelineStage]
    next_cursor: str | None


class Opportunity(Struct):
    id: int
    name: str
    account_id: int
    contact_id: int | None
    stage_id: int
    status: Status
    amount: str
    currency: str
    probability: int
    weighted_amount: Annotated[str, Meta(description="amount × probability / 100, to the cent.")]
    expected_close_date: date | None
    source: str | None
    campaign_id: int | None
    description: str
    lost_reason: str | None
    owner_id: int | None
    team_id: int | None
    closed_at: datetime | None
    stage_changed_at: datetime
    created_at: datetime
    updated_at: datetime


class OpportunityPage(Struct):
    items: list[Opportunity]
    next_cursor: str | None


class OpportunityCreate(Struct, forbid_unknown_fields=True):
    """A new deal. Without ``stage_id`` it starts in the first open stage; without ``owner_id``
    it has no owner (an API client is nobody's rep)."""

    name: Name
    account_id: int
    amount: Amount = "0"
    currency: Currency | None = None
    stage_id: int | None = None
    probability: Probability | None = None
    expected_close_date: date | None = None
    contact_id: int | None = None
    owner_id: int | None = None
    source: Annotated[str, Meta(max_length=40)] | None = None
    campaign_id: int | None = None
    description: Text = ""
    lost_reason: Short | None = None


class OpportunityUpdate(Struct, forbid_unknown_fields=True):
    """A partial update: only the fields present change; ``null`` clears a nullable field.
    Stages change through ``POST /opportunities/{id}/stage``."""

    name: Name | UnsetType = UNSET
    account_id: int | UnsetType = UNSET
    amount: Amount | UnsetType = UNSET
    currency: Currency | UnsetType = UNSET
    probability: Probability | UnsetType | None = UNSET
    expected_close_date: date | UnsetType | None = UNSET
    contact_id: int | UnsetType | None = UNSET
    owner_id: int | UnsetType | None = UNSET
    source: Annotated[str, Meta(max_length=40)] | UnsetType | None = UNSET
    campaign_id: int | UnsetType | None = UNSET
    description: Text | UnsetType = UNSET


class StageMove(Struct, forbid_unknown_fields=True):
    """Move a deal to a stage. The lost stage needs ``lost_reason``.

    ``stage_id`` is checked by the service (422 if missing or unknown), after the deal itself
    was found: a foreign or hidden id is a 404 whatever the body says."""

    stage_id: int | None = None
    probability: Probability | None = None
    lost_reason: Short | None = None


def stage_of(stage: models.PipelineStage) -> PipelineStage:
    return PipelineStage(
        id=stage.id,
        key=stage.key,
        name=stage.name,
        probability=stage.probability,
        position=stage.position,
        kind="won" if stage.is_won else "lost" if stage.is_lost else "open",
        active=stage.active,
    )


def opportunity_of(opp: models.Opportunity, stage: models.PipelineStage) -> Opportunity:
    return Opportunity(
        id=opp.id,
        name=opp.name,
        account_id=opp.account_id,
        contact_id=opp.contact_id,
        stage_id=opp.stage_id,
        status="won" if stage.is_won else "lost" if stage.is_lost else "open",
        amount=f"{opp.amount:.2f}",
        currency=opp.currency,
        probability=opp.probability,
        weighted_amount=f"{cents(opp.amount * opp.probability / 100):.2f}",
        expected_close_date=opp.expected_close_date,
        source=opp.source,
        campaign_id=opp.campaign_id,
        description=opp.description,
        lost_reason=opp.lost_reason,
        owner_id=opp.owner_id,
        team_id=opp.team_id,
        closed_at=opp.closed_at,
        stage_changed_at=opp.stage_changed_at,
        created_at=opp.created_at,
        updated_at=opp.updated_at,
    )
