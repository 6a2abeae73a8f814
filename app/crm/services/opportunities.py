"""Opportunities (CRM-3): open a deal against an account and move it through the pipeline.

opp = await create_opportunity(session, principal, {"account_id": 7, "name": "100 台 A2 打印机",
                                                   "amount": "120000", "expected_close_date": "2027-01-31"})
await update_opportunity(session, principal, opp.id, {"amount": "118000.00"})
await move_to_stage(session, principal, opp.id, lost.id, lost_reason="Chose a cheaper supplier")
await reassign(session, principal, opp.id, dave_id)

Every write loads the record through the record rules first (hidden → 404, visible but outside
the write scope → 403), cleans every field, and raises one ``ValidationFailed`` with all problems
before anything changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm import events
from app.crm.models import Campaign, Contact, Opportunity, PipelineStage, StageChange
from app.crm.services.accounts import get_account
from app.crm.services.fields import (
    clean_currency,
    clean_date,
    clean_int,
    clean_long_text,
    clean_money,
    clean_optional_id,
    clean_optional_text,
    clean_text,
)
from app.crm.services.ownership import Assignment, assignment_for
from app.kernel import context
from app.kernel.audit import audited
from app.kernel.db import utcnow
from app.kernel.errors import FieldError, Forbidden, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.kernel.outbox import publish
from app.security.permissions import CRM_OPPORTUNITY_READ, CRM_OPPORTUNITY_WRITE, Scope
from app.security.principal import Principal
from app.security.record_rules import can_write, get_visible

STATUSES = ("open", "won", "lost")


def base_currency() -> str:
    tenant = context.current_tenant()
    return tenant.currency if tenant else "CNY"


async def active_stages(session: AsyncSession) -> list[PipelineStage]:
    stmt = select(PipelineStage).where(PipelineStage.active.is_(True)).order_by(PipelineStage.position)
    return list((await session.execute(stmt)).scalars())


async def get_opportunity(
    session: AsyncSession, principal: Principal, opportunity_id: int, permission: str = CRM_OPPORTUNITY_READ
) -> Opportunity:
    return await get_visible(session, Opportunity, opportunity_id, principal, permission, lazy("opportunity"))


async def get_writable_opportunity(
    session: AsyncSession, principal: Principal, opportunity_id: int
) -> Opportunity:
    """For changes: visible (else 404) and inside the principal's write scope (else 403)."""
    opp = await get_opportunity(session, principal, opportunity_id)
    if not can_write(opp, principal, CRM_OPPORTUNITY_WRITE):
        raise Forbidden(lazy("You may view this opportunity but not change it."))
    return opp


def _clean(data: Mapping[str, Any], errors: list[FieldError], *, partial: bool) -> dict[str, Any]:
    """The plain columns present in ``data``, cleaned (all of them when not ``partial``)."""
    out: dict[str, Any] = {}

    def present(key: str) -> bool:
        return not partial or key in data

    if present("name"):
        out["name"] = clean_text(data.get("name"), "name", errors, required=True, max_len=200)
    if present("amount"):
        out["amount"] = clean_money(data.get("amount"), "amount", errors, default=None, required=False)
    if present("currency"):
        out["currency"] = clean_currency(data.get("currency"), "currency", errors, base_currency())
    if present("expected_close_date"):
        out["expected_close_date"] = clean_date(
            data.get("expected_close_date"), "expected_close_date", errors
        )
    if present("source"):
        out["source"] = clean_optional_text(data.get("source"), "source", errors, max_len=40)
    if present("description"):
        out["description"] = clean_long_text(data.get("description"), "description", errors)
    return out


async def _check_links(
    session: AsyncSession,
    principal: Principal,
    account_id: int | None,
    contact_id: int | None,
    campaign_id: int | None,
    errors: list[FieldError],
    *,
    account_changed: bool = True,
    campaign_changed: bool = True,
) -> None:
    """The account must be one the principal sees, the contact one of its people, the campaign real."""
    if account_id is None:
        errors.append(FieldError("account_id", "Choose the account this deal is with."))
    elif account_changed:
        try:
            await get_account(session, principal, account_id)
        except NotFound:
            errors.append(FieldError("account_id", "Choose an existing account."))
    if contact_id is not None:
        contact = await session.get(Contact, contact_id)
        if contact is None or contact.account_id != account_id:
            errors.append(FieldError("contact_id", "Choose a contact of this account."))
    if campaign_changed and campaign_id is not None and await session.get(Campaign, campaign_id) is None:
        errors.append(FieldError("campaign_id", "Choose an existing campaign."))


def _stage_of(stages: list[PipelineStage], stage_id: int | None) -> PipelineStage | None:
    return next((s for s in stages if s.id == stage_id), None)


async def _top_of(session: AsyncSession, stage_id: int) -> float:
    """A board position above every card of the stage (new and moved cards go to the top)."""
    lowest = await session.scalar(
        select(func.min(Opportunity.board_position)).where(Opportunity.stage_id == stage_id)
    )
    return float(lowest) - 1.0 if lowest is not None else 0.0


def _actor_id(principal: Principal) -> int | None:
    return principal.id if principal.kind == "user" else None


async def _announce_close(session: AsyncSession, opp: Opportunity, stage: PipelineStage) -> None:
    """crm.opportunity_won / crm.opportunity_lost (app/crm/events.py), in the change's transaction."""
    if not (stage.is_won or stage.is_lost):
        return
    close = opp.expected_close_date
    await publish(
        session,
        events.OPPORTUNITY_WON if stage.is_won else events.OPPORTUNITY_LOST,
        {
            "opportunity_id": opp.id,
            "account_id": opp.account_id,
            "amount": f"{opp.amount:.2f}",
            "currency": opp.currency,
            "owner_id": opp.owner_id,
            "expected_close_date": close.isoformat() if close else None,
        },
    )


async def create_opportunity(
    session: AsyncSession, principal: Principal, data: Mapping[str, Any]
) -> Opportunity:
    errors: list[FieldError] = []
    values = _clean(data, errors, partial=False)
    account_id = clean_optional_id(data.get("account_id"), "account_id", errors)
    contact_id = clean_optional_id(data.get("contact_id"), "contact_id", errors)
    stage_id = clean_optional_id(data.get("stage_id"), "stage_id", errors)
    campaign_id = clean_optional_id(data.get("campaign_id"), "campaign_id", errors)
    owner = await assignment_for(
        session,
        principal,
        CRM_OPPORTUNITY_WRITE,
        clean_optional_id(data.get("owner_id"), "owner_id", errors),
        errors,
    )
    await _check_links(session, principal, account_id, contact_id, campaign_id, errors)
    stages = await active_stages(session)
    stage = (
        _stage_of(stages, stage_id)
        if stage_id
        else next((s for s in stages if not (s.is_won or s.is_lost)), None)
    )
    if stage is None:
        errors.append(FieldError("stage_id", "Choose one of the pipeline's stages."))
    probability = clean_int(
        data.get("probability"),
        "probability",
        errors,
        minimum=0,
        maximum=100,
        required=False,
        default=stage.probability if stage else 0,
    )
    lost_reason = clean_optional_text(data.get("lost_reason"), "lost_reason", errors, max_len=200)
    if stage is not None and stage.is_lost and not lost_reason:
        errors.append(FieldError("lost_reason", "Say why the deal was lost."))
    if errors or stage is None:
        raise ValidationFailed(errors)
    now = utcnow()
    async with audited(session, "crm.opportunity_created"):
        opp = Opportunity(
            **values,
            account_id=account_id,
            contact_id=contact_id,
            stage_id=stage.id,
            probability=probability,
            campaign_id=campaign_id,
            owner_id=owner.owner_id,
            team_id=owner.team_id,
            created_at=now,
            stage_changed_at=now,
            closed_at=now if (stage.is_won or stage.is_lost) else None,
            lost_reason=lost_reason if stage.is_lost else None,
            board_position=await _top_of(session, stage.id),
        )
        session.add(opp)
        await session.flush()
        session.add(
            StageChange(
                opportunity_id=opp.id,
                from_stage_id=None,
                to_stage_id=stage.id,
                changed_at=now,
                user_id=_actor_id(principal),
            )
        )
        await _announce_close(session, opp, stage)
    return opp


async def update_opportunity(
    session: AsyncSession, principal: Principal, opportunity_id: int, data: Mapping[str, Any]
) -> Opportunity:
    """Change the fields present in ``data`` (PATCH semantics; the edit form sends every field).

    ``stage_id`` and ``owner_id`` go through ``move_to_stage`` and ``reassign`` (same rules).
    """
    opp = await get_writable_opportunity(session, principal, opportunity_id)
    errors: list[FieldError] = []
    values = _clean(data, errors, partial=True)
    account_id: int | None = opp.account_id
    contact_id, campaign_id = opp.contact_id, opp.campaign_id
    if "account_id" in data:
        account_id = values["account_id"] = clean_optional_id(data.get("account_id"), "account_id", errors)
    if "contact_id" in data:
        contact_id = clean_optional_id(data.get("contact_id"), "contact_id", errors)
    elif account_id != opp.account_id:
        contact_id = None  # the old contact works for the old account
    values["contact_id"] = contact_id
    if "campaign_id" in data:
        campaign_id = values["campaign_id"] = clean_optional_id(
            data.get("campaign_id"), "campaign_id", errors
        )
    if "probability" in data and "stage_id" not in data:
        values["probability"] = clean_int(
            data.get("probability"),
            "probability",
            errors,
            minimum=0,
            maximum=100,
            required=False,
            default=await _stage_probability(session, opp.stage_id),
        )
    await _check_links(
        session,
        principal,
        account_id,
        contact_id,
        campaign_id,
        errors,
        # An unchanged link stays valid even if the account's owner changed since.
        account_changed=account_id != opp.account_id,
        campaign_changed=campaign_id != opp.campaign_id,
    )
    owner = None
    if "owner_id" in data:
        owner = await _new_owner(session, principal, data.get("owner_id"), errors)
    stage: PipelineStage | None = None
    if "stage_id" in data:
        stage, probability, lost_reason = await _clean_move(
            session, data.get("stage_id"), data.get("probability"), data.get("lost_reason"), errors
        )
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.opportunity_updated"):
        for key, value in values.items():
            setattr(opp, key, value)
        if owner is not None:
            opp.owner_id, opp.team_id = owner.owner_id, owner.team_id
        await session.flush()
    if stage is not None:
        await _apply_move(session, principal, opp, stage, probability, lost_reason, None)
    return opp


async def _stage_probability(session: AsyncSession, stage_id: int) -> int:
    stage = await session.get(PipelineStage, stage_id)
    return stage.probability if stage else 0


async def _clean_move(
    session: AsyncSession,
    stage_id: object,
    probability: object,
    lost_reason: object,
    errors: list[FieldError],
) -> tuple[PipelineStage | None, int | None, str | None]:
    """The target stage (active), the probability (None: the stage's) and the lost reason."""
    stage = _stage_of(await active_stages(session), clean_optional_id(stage_id, "stage_id", errors))
    if stage is None:
        errors.append(FieldError("stage_id", "Choose one of the pipeline's stages."))
    chance = None
    if probability is not None and probability != "":
        chance = clean_int(probability, "probability", errors, minimum=0, maximum=100)
    reason = clean_optional_text(lost_reason, "lost_reason", errors, max_len=200)
    if stage is not None and stage.is_lost and not reason:
        errors.append(FieldError("lost_reason", "Say why the deal was lost."))
    return stage, chance, reason


async def move_to_stage(
    session: AsyncSession,
    principal: Principal,
    opportunity_id: int,
    stage_id: object,
    *,
    probability: object = None,
    lost_reason: object = None,
    board_position: float | None = None,
) -> Opportunity:
    """Move the deal to another stage (or, with ``board_position``, to another place in its column).

    Entering a stage records a ``StageChange``, takes the stage's probability unless ``probability``
    overrides it, and closes the deal in the won or lost stage (``closed_at``; a lost deal needs a
    ``lost_reason``), publishing ``crm.opportunity_won``/``crm.opportunity_lost``. Leaving won or
    lost for an open stage reopens it. A new column puts the card on top unless a position is given.
    """
    opp = await get_writable_opportunity(session, principal, opportunity_id)
    errors: list[FieldError] = []
    stage, chance, reason = await _clean_move(session, stage_id, probability, lost_reason, errors)
    if errors or stage is None:
        raise ValidationFailed(errors)
    await _apply_move(session, principal, opp, stage, chance, reason, board_position)
    return opp


async def _apply_move(
    session: AsyncSession,
    principal: Principal,
    opp: Opportunity,
    stage: PipelineStage,
    probability: int | None,
    lost_reason: str | None,
    board_position: float | None,
) -> None:
    entering = stage.id != opp.stage_id
    now = utcnow()
    async with audited(session, "crm.opportunity_stage_changed" if entering else "crm.opportunity_moved"):
        if entering:
            session.add(
                StageChange(
                    opportunity_id=opp.id,
                    from_stage_id=opp.stage_id,
                    to_stage_id=stage.id,
                    changed_at=now,
                    user_id=_actor_id(principal),
                )
            )
            opp.stage_id = stage.id
            opp.stage_changed_at = now
            opp.probability = stage.probability if probability is None else probability
            opp.closed_at = now if (stage.is_won or stage.is_lost) else None
            opp.lost_reason = lost_reason if stage.is_lost else None
            opp.board_position = (
                board_position if board_position is not None else await _top_of(session, stage.id)
            )
        else:
            if probability is not None:
                opp.probability = probability
            if stage.is_lost and lost_reason:
                opp.lost_reason = lost_reason
            if board_position is not None:
                opp.board_position = board_position
        await session.flush()
        if entering:
            await _announce_close(session, opp, stage)


async def _new_owner(
    session: AsyncSession, principal: Principal, owner_id: object, errors: list[FieldError]
) -> Assignment:
    """Who a deal goes to. Only the ``all`` scope may leave it unassigned: a rep or manager who
    did would lose sight of it (record rules) — nobody would work it."""
    chosen = clean_optional_id(owner_id, "owner_id", errors)
    if chosen is None and principal.scope_for(CRM_OPPORTUNITY_WRITE) != Scope.ALL:
        errors.append(FieldError("owner_id", "Choose who owns this deal."))
        return Assignment(None, None)
    return await assignment_for(
        session, principal, CRM_OPPORTUNITY_WRITE, chosen, errors, default_to_actor=False
    )


async def reassign(
    session: AsyncSession, principal: Principal, opportunity_id: int, owner_id: object
) -> Opportunity:
    """Give the deal to another rep (their team comes along); scopes limit to whom (ownership.py)."""
    opp = await get_writable_opportunity(session, principal, opportunity_id)
    errors: list[FieldError] = []
    owner = await _new_owner(session, principal, owner_id, errors)
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.opportunity_reassigned"):
        opp.owner_id, opp.team_id = owner.owner_id, owner.team_id
        await session.flush()
    return opp
