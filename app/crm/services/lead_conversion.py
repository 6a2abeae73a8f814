"""Converting a lead (CRM-2): account + contact (+ opportunity) in one step and one transaction.

result = await convert_lead(session, principal, lead_id, {
    "account_mode": "new", "account_name": "上海明辉贸易有限公司",      # or "existing" + "account_id"
    "create_opportunity": True, "opportunity_name": "100 台 A2 打印机",
    "opportunity_amount": "120000", "opportunity_close_date": "2027-01-31"})

The lead row is locked first, so two people converting the same lead at once cannot both
succeed: the second sees ``converted`` and gets ``AlreadyConverted`` (409) with nothing written.
Any refusal raises before the caller commits, so nothing is half-converted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm import events
from app.crm.errors import AlreadyConverted, InvalidState
from app.crm.models import Account, Activity, Contact, Lead, Opportunity
from app.crm.services.accounts import create_account, get_writable_account
from app.crm.services.contacts import create_contact
from app.crm.services.fields import (
    clean_choice,
    clean_date,
    clean_money,
    clean_optional_id,
    clean_text,
)
from app.crm.services.leads import get_writable_lead
from app.crm.services.opportunities import active_stages, create_opportunity
from app.crm.services.visibility import visible_accounts
from app.kernel.audit import audited
from app.kernel.db import utcnow
from app.kernel.errors import FieldError, Forbidden, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.kernel.outbox import publish
from app.security.permissions import (
    CRM_ACCOUNT_READ,
    CRM_ACCOUNT_WRITE,
    CRM_OPPORTUNITY_READ,
    CRM_OPPORTUNITY_WRITE,
)
from app.security.principal import Principal

ACCOUNT_MODES = ("new", "existing")
# Field names of the conversion form, by the field names of the services it calls.
_ACCOUNT_FIELDS = {"name": "account_name", "account_id": "account_id"}
_OPPORTUNITY_FIELDS = {
    "name": "opportunity_name",
    "amount": "opportunity_amount",
    "expected_close_date": "opportunity_close_date",
    "stage_id": "opportunity_stage_id",
}


class LeadDisqualified(InvalidState):
    def __init__(self) -> None:
        super().__init__(
            "lead_disqualified", lazy("A disqualified lead cannot be converted. Reopen it first.")
        )


@dataclass(frozen=True, slots=True)
class Conversion:
    lead: Lead
    account: Account
    contact: Contact
    opportunity: Opportunity | None
    account_created: bool
    contact_created: bool


def _checked(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key)
    return value is True or str(value or "").lower() in ("1", "on", "true", "yes")


async def convert_lead(
    session: AsyncSession, principal: Principal, lead_id: int, data: Mapping[str, Any]
) -> Conversion:
    lead = await get_writable_lead(session, principal, lead_id, lock=True)
    if lead.status == "converted":
        raise AlreadyConverted()
    if lead.status == "disqualified":
        raise LeadDisqualified()
    want_opportunity = _checked(data, "create_opportunity")
    needed = [CRM_ACCOUNT_READ, CRM_ACCOUNT_WRITE]
    if want_opportunity:
        needed += [CRM_OPPORTUNITY_READ, CRM_OPPORTUNITY_WRITE]
    if not all(principal.can(p) for p in needed):
        raise Forbidden(lazy("Converting needs the right to create accounts (and opportunities)."))
    errors: list[FieldError] = []
    mode = clean_choice(data.get("account_mode"), "account_mode", errors, ACCOUNT_MODES, default="new")
    existing: Account | None = None
    if mode == "existing":
        existing = await _existing_account(session, principal, data.get("account_id"), errors)
    else:
        clean_text(
            data.get("account_name") or _default_account_name(lead), "account_name", errors, max_len=200
        )
    if want_opportunity:
        await _precheck_opportunity(session, data, errors)
    if errors:
        raise ValidationFailed(errors)

    owner = lead.owner_id  # the account and deal stay with whoever worked the lead
    async with audited(session, "crm.lead_converted"):
        account = existing or await _remapped(
            _ACCOUNT_FIELDS, create_account(session, principal, _account_values(lead, data, owner))
        )
        contact, contact_created = await _contact_for(session, principal, lead, account, existing is None)
        opportunity = None
        if want_opportunity:
            opportunity = await _remapped(
                _OPPORTUNITY_FIELDS,
                create_opportunity(
                    session, principal, _opportunity_values(lead, data, account, contact, owner)
                ),
            )
        await session.flush()
        lead.status = "converted"
        lead.converted_at = utcnow()
        lead.converted_account_id = account.id
        lead.converted_contact_id = contact.id
        lead.converted_opportunity_id = opportunity.id if opportunity else None
        # The lead's calls and e-mails join the account's timeline.
        await session.execute(
            update(Activity)
            .where(Activity.lead_id == lead.id, Activity.account_id.is_(None))
            .values(account_id=account.id, contact_id=contact.id)
        )
    await publish(
        session,
        events.LEAD_CONVERTED,
        {
            "lead_id": lead.id,
            "account_id": account.id,
            "contact_id": contact.id,
            "opportunity_id": opportunity.id if opportunity else None,
        },
    )
    return Conversion(lead, account, contact, opportunity, existing is None, contact_created)


def _default_account_name(lead: Lead) -> str:
    return lead.company or lead.full_name


async def _existing_account(
    session: AsyncSession, principal: Principal, value: object, errors: list[FieldError]
) -> Account | None:
    account_id = clean_optional_id(value, "account_id", errors)
    if account_id is None:
        if not errors:
            errors.append(FieldError("account_id", "Choose the account to attach the lead to."))
        return None
    try:
        return await get_writable_account(session, principal, account_id)
    except (NotFound, Forbidden):
        errors.append(FieldError("account_id", "Choose an account you may change."))
        return None


async def _precheck_opportunity(
    session: AsyncSession, data: Mapping[str, Any], errors: list[FieldError]
) -> None:
    """The deal's own checks, run before anything is written so every problem shows at once."""
    clean_text(data.get("opportunity_name"), "opportunity_name", errors, required=True, max_len=200)
    clean_money(data.get("opportunity_amount"), "opportunity_amount", errors, required=False)
    clean_date(data.get("opportunity_close_date"), "opportunity_close_date", errors)
    stage_id = clean_optional_id(data.get("opportunity_stage_id"), "opportunity_stage_id", errors)
    if stage_id is not None:
        stages = await active_stages(session)
        if not any(s.id == stage_id and not (s.is_won or s.is_lost) for s in stages):
            errors.append(FieldError("opportunity_stage_id", "Choose an open stage of the pipeline."))


async def _remapped(fields: Mapping[str, str], call: Any) -> Any:
    """Run a service call, naming its field errors the way the conversion form does."""
    try:
        return await call
    except ValidationFailed as exc:
        raise ValidationFailed(
            [FieldError(fields.get(e.field, e.field), e.message, e.params) for e in exc.errors]
        ) from exc


def _account_values(lead: Lead, data: Mapping[str, Any], owner: int | None) -> dict[str, Any]:
    is_company = bool(lead.company)
    return {
        "name": data.get("account_name") or _default_account_name(lead),
        "kind": "company" if is_company else "person",
        # A person's account carries their own address and number; a company's stays the company's.
        "email": None if is_company else lead.email,
        "phone": None if is_company else lead.phone,
        "industry": lead.industry,
        "region": lead.region,
        "country": lead.country,
        "source": lead.source,
        "owner_id": owner,
    }


async def _contact_for(
    session: AsyncSession, principal: Principal, lead: Lead, account: Account, new_account: bool
) -> tuple[Contact, bool]:
    """The lead as a contact of the account: an existing contact with the same e-mail is reused."""
    if not new_account and lead.email:
        same = await session.scalar(
            select(Contact).where(
                Contact.account_id == account.id,
                Contact.archived_at.is_(None),
                func.lower(Contact.email) == lead.email.lower(),
            )
        )
        if same is not None:
            return same, False
    contact = await create_contact(
        session,
        principal,
        {
            "account_id": account.id,
            "first_name": lead.first_name,
            "last_name": lead.last_name,
            "full_name": lead.full_name,
            "title": lead.title,
            "email": lead.email,
            "phone": lead.phone,
            "notes": lead.message,
            "is_primary": "1" if new_account else "",
        },
    )
    return contact, True


def _opportunity_values(
    lead: Lead, data: Mapping[str, Any], account: Account, contact: Contact, owner: int | None
) -> dict[str, Any]:
    return {
        "name": data.get("opportunity_name"),
        "account_id": account.id,
        "contact_id": contact.id,
        "amount": data.get("opportunity_amount"),
        "expected_close_date": data.get("opportunity_close_date"),
        "stage_id": data.get("opportunity_stage_id"),
        "source": lead.source,
        "campaign_id": lead.campaign_id,
        "description": lead.message,
        "owner_id": owner,
    }


# --- choosing the account --------------------------------------------------------------------


async def likely_accounts(
    session: AsyncSession, principal: Principal, lead: Lead, limit: int = 5
) -> list[Account]:
    """Visible accounts the lead probably belongs to: a similar name (pg_trgm ``%``, which the
    trigram index answers), or a contact with the lead's e-mail address. Best match first."""
    name = (lead.company or lead.full_name or "").strip().lower()
    conditions: list[Any] = []
    if name:
        conditions.append(func.lower(Account.name).op("%")(name))
    if lead.email:
        conditions.append(
            Account.id.in_(select(Contact.account_id).where(func.lower(Contact.email) == lead.email.lower()))
        )
        conditions.append(func.lower(Account.email) == lead.email.lower())
    if not conditions:
        return []
    stmt = (
        visible_accounts(principal)
        .where(Account.archived_at.is_(None), or_(*conditions))
        .order_by(func.similarity(func.lower(Account.name), name).desc(), Account.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def find_accounts(
    session: AsyncSession, principal: Principal, q: str, limit: int = 10
) -> list[Account]:
    """Visible accounts whose name contains ``q`` (the conversion page's account search)."""
    q = " ".join(q.split())[:100].lower()
    if len(q) < 2:
        return []
    like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    stmt = (
        visible_accounts(principal)
        .where(Account.archived_at.is_(None), func.lower(Account.name).like(like, escape="\\"))
        .order_by(func.similarity(func.lower(Account.name), q).desc(), Account.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def visible_account(session: AsyncSession, principal: Principal, account_id: int) -> Account | None:
    """The account a re-shown conversion form had chosen, if the principal still sees it."""
    stmt = visible_accounts(principal).where(Account.id == account_id, Account.archived_at.is_(None))
    return (await session.execute(stmt)).scalar_one_or_none()
