"""Opportunities (CRM-3): open a deal against an account and move it through the pipeline.

opp = await create_opportunity(session, principal, {"account_id": 7, "name": "100 台 A2 打印机",
                                                   "amount": "120000", "expected_close_date": "2027-01-31"})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Contact, Opportunity, PipelineStage, StageChange
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
from app.crm.services.ownership import assignment_for
from app.kernel import context
from app.kernel.audit import audited
from app.kernel.db import utcnow
from app.kernel.errors import FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.security.permissions import CRM_OPPORTUNITY_READ, CRM_OPPORTUNITY_WRITE
from app.security.principal import Principal
from app.security.record_rules import get_visible


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


async def create_opportunity(
    session: AsyncSession, principal: Principal, data: Mapping[str, Any]
) -> Opportunity:
    errors: list[FieldError] = []
    name = clean_text(data.get("name"), "name", errors, required=True, max_len=200)
    account_id = clean_optional_id(data.get("account_id"), "account_id", errors)
    contact_id = clean_optional_id(data.get("contact_id"), "contact_id", errors)
    stage_id = clean_optional_id(data.get("stage_id"), "stage_id", errors)
    amount = clean_money(data.get("amount"), "amount", errors, default=None, required=False)
    currency = clean_currency(data.get("currency"), "currency", errors, base_currency())
    close = clean_date(data.get("expected_close_date"), "expected_close_date", errors)
    source = clean_optional_text(data.get("source"), "source", errors, max_len=40)
    campaign_id = clean_optional_id(data.get("campaign_id"), "campaign_id", errors)
    description = clean_long_text(data.get("description"), "description", errors)
    owner = await assignment_for(
        session,
        principal,
        CRM_OPPORTUNITY_WRITE,
        clean_optional_id(data.get("owner_id"), "owner_id", errors),
        errors,
    )
    if account_id is None:
        errors.append(FieldError("account_id", "Choose the account this deal is with."))
    else:
        try:
            await get_account(session, principal, account_id)
        except NotFound:
            errors.append(FieldError("account_id", "Choose an existing account."))
    if contact_id is not None:
        contact = await session.get(Contact, contact_id)
        if contact is None or contact.account_id != account_id:
            errors.append(FieldError("contact_id", "Choose a contact of this account."))
    stages = await active_stages(session)
    stage = (
        next((s for s in stages if s.id == stage_id), None)
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
    if errors or stage is None:
        raise ValidationFailed(errors)
    now = utcnow()
    async with audited(session, "crm.opportunity_created"):
        opp = Opportunity(
            name=name,
            account_id=account_id,
            contact_id=contact_id,
            stage_id=stage.id,
            amount=amount,
            currency=currency,
            probability=probability,
            expected_close_date=close,
            source=source,
            campaign_id=campaign_id,
            description=description,
            owner_id=owner.owner_id,
            team_id=owner.team_id,
            stage_changed_at=now,
            closed_at=now if (stage.is_won or stage.is_lost) else None,
        )
        session.add(opp)
        await session.flush()
        session.add(
            StageChange(
                opportunity_id=opp.id,
                from_stage_id=None,
                to_stage_id=stage.id,
                changed_at=now,
                user_id=principal.id if principal.kind == "user" else None,
            )
        )
    return opp
