"""Leads (CRM-2): capture, read under record rules, edit, qualify and disqualify.

lead = await create_lead(session, principal, {"full_name": "王芳", "email": "wf@example.cn"})
lead = await get_lead(session, principal, lead_id)                       # NotFound if hidden
await qualify_lead(session, principal, lead.id, score=80)
await disqualify_lead(session, principal, lead.id, reason="No budget this year")

A lead created without an owner goes through the assignment rules (lead_assignment.py); when
no rule matches it stays unassigned, and managers (team scope) see unassigned leads alongside
their team's so that nothing captured is lost from view. The lead's timeline is in
lead_activities.py, conversion in lead_conversion.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, false, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm import events
from app.crm.errors import AlreadyConverted
from app.crm.models import Campaign, Contact, Lead
from app.crm.models.leads import LEAD_SOURCES
from app.crm.services.contacts import full_name_of
from app.crm.services.fields import (
    clean_choice,
    clean_country,
    clean_email,
    clean_int,
    clean_long_text,
    clean_optional_id,
    clean_optional_text,
    clean_phone,
    clean_text,
)
from app.crm.services.lead_assignment import lead_staff, notify_owner, owner_by_rules
from app.crm.services.ownership import assignment_for
from app.crm.services.search import lead_match, normalise_query
from app.crm.services.visibility import visible_contacts, visible_leads
from app.kernel.audit import audited
from app.kernel.db import utcnow
from app.kernel.errors import FieldError, Forbidden, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.kernel.outbox import publish
from app.security.models import User
from app.security.permissions import CRM_LEAD_READ, CRM_LEAD_WRITE, Scope
from app.security.principal import Principal

# What a person may set by editing; "disqualified" needs a reason (disqualify_lead) and
# "converted" only ever comes from convert_lead.
EDITABLE_STATUSES = ("new", "contacted", "qualified")
_TEXT_FIELDS = {"company": 200, "title": 120, "region": 80, "industry": 80, "source_detail": 200}


# --- reading ---------------------------------------------------------------------------------


async def get_lead(
    session: AsyncSession, principal: Principal, lead_id: int, permission: str = CRM_LEAD_READ
) -> Lead:
    stmt = visible_leads(principal, permission).where(Lead.id == lead_id)
    lead = (await session.execute(stmt)).scalar_one_or_none()
    if lead is None:
        raise NotFound(lazy("lead"))
    return lead


def may_write(lead: Lead, principal: Principal) -> bool:
    """Inside the principal's write scope (team scope includes unassigned leads)."""
    scope = principal.scope_for(CRM_LEAD_WRITE)
    if scope is None:
        return False
    if scope == Scope.ALL or lead.owner_id == principal.id:
        return True
    return scope == Scope.TEAM and (lead.owner_id is None or lead.team_id in principal.team_ids)


async def get_writable_lead(
    session: AsyncSession, principal: Principal, lead_id: int, *, lock: bool = False
) -> Lead:
    """Visible (else 404) and inside the write scope (else 403); ``lock`` takes the row lock."""
    stmt = visible_leads(principal).where(Lead.id == lead_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    lead = (await session.execute(stmt)).scalar_one_or_none()
    if lead is None:
        raise NotFound(lazy("lead"))
    if not may_write(lead, principal):
        raise Forbidden(lazy("You may view this lead but not change it."))
    return lead


def search_leads(stmt: Select[Any], q: str) -> Select[Any]:
    """Name, company, e-mail or phone — the same matching as the search page (search.lead_match):
    words by prefix, Chinese by bigrams, fragments by trigram, so 张伟 finds 上海张伟科技 too."""
    q = normalise_query(q)
    return stmt.where(lead_match(q)) if q else stmt


async def count_up_to(session: AsyncSession, stmt: Select[Any], cap: int) -> int:
    """How many leads ``stmt`` selects, counting no further than ``cap + 1`` (cheap on 200,000)."""
    matching = stmt.with_only_columns(Lead.id).order_by(None).limit(cap + 1)
    return int(await session.scalar(select(func.count()).select_from(matching.subquery())) or 0)


# A search that matches few leads must not be sorted by walking the date index looking for them
# (PostgreSQL's guess; 270 ms on 200,000 leads): wrapped in "+ 0 seconds", the sort key matches no
# index, so the trigram/full-text bitmap finds the matches and they are sorted afterwards.
FEW_MATCHES = 1_000
CREATED_UNINDEXED = Lead.created_at + literal_column("interval '0 seconds'")


def with_status(stmt: Select[Any], status: str) -> Select[Any]:
    return stmt.where(Lead.status == status)


def with_source(stmt: Select[Any], source: str) -> Select[Any]:
    return stmt.where(Lead.source == source)


def with_region(stmt: Select[Any], region: str) -> Select[Any]:
    return stmt.where(Lead.region == " ".join(region.split()))


def with_owner(stmt: Select[Any], owner: str, principal: Principal | None = None) -> Select[Any]:
    """``owner``: a user id, ``me`` or ``none`` (unassigned)."""
    if owner == "none":
        return stmt.where(Lead.owner_id.is_(None))
    if owner == "me" and principal is not None:
        return stmt.where(Lead.owner_id == principal.id)
    if owner.isdigit() and len(owner) < 18:
        return stmt.where(Lead.owner_id == int(owner))
    return stmt.where(false())


def created_since(stmt: Select[Any], since: datetime) -> Select[Any]:
    return stmt.where(Lead.created_at >= since)


async def assignable_owners(session: AsyncSession, principal: Principal) -> list[User]:
    """Who the principal may give a lead to, among the people who work on leads: anyone (all
    scope), their teams (team) or themselves (own)."""
    scope = principal.scope_for(CRM_LEAD_WRITE)
    if scope == Scope.ALL:
        return await lead_staff(session)
    if scope == Scope.TEAM:
        team = await lead_staff(session, team_ids=principal.team_ids)
        return (
            team
            if any(u.id == principal.id for u in team)
            else [*await lead_staff(session, ids=[principal.id]), *team]
        )
    return await lead_staff(session, ids=[principal.id]) if scope is not None else []


async def names_of(session: AsyncSession, user_ids: Iterable[int | None]) -> dict[int, str]:
    ids = sorted({i for i in user_ids if i is not None})
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.full_name).where(User.id.in_(ids)))
    return {int(i): str(n) for i, n in rows.all()}


async def possible_duplicates(
    session: AsyncSession, principal: Principal, lead: Lead
) -> tuple[list[Lead], list[Contact]]:
    """Other visible leads and contacts with the lead's e-mail address (indexed on lower(email))."""
    if not lead.email:
        return [], []
    email = lead.email.lower()
    others = visible_leads(principal).where(func.lower(Lead.email) == email, Lead.id != lead.id)
    found_leads = list((await session.execute(others.order_by(Lead.id.desc()).limit(5))).scalars())
    contacts = visible_contacts(principal).where(
        func.lower(Contact.email) == email, Contact.archived_at.is_(None)
    )
    found_contacts = list((await session.execute(contacts.order_by(Contact.id.desc()).limit(5))).scalars())
    return found_leads, found_contacts


# --- input -----------------------------------------------------------------------------------


def _clean(data: Mapping[str, Any], errors: list[FieldError], *, partial: bool) -> dict[str, Any]:
    """The lead columns present in ``data``, cleaned (all of them when not ``partial``)."""
    out: dict[str, Any] = {}

    def present(key: str) -> bool:
        return not partial or key in data

    for key in ("first_name", "last_name"):
        if present(key):
            out[key] = clean_text(data.get(key), key, errors, max_len=100)
    if present("full_name") or "first_name" in out or "last_name" in out:
        given = clean_text(data.get("full_name"), "full_name", errors, max_len=200)
        out["full_name"] = given or full_name_of(out.get("first_name", ""), out.get("last_name", ""))
        if not out["full_name"] and (not partial or "full_name" in data):
            errors.append(FieldError("full_name", "This field is required."))
    if present("email"):
        out["email"] = clean_email(data.get("email"), "email", errors)
    if present("phone"):
        out["phone"] = clean_phone(data.get("phone"), "phone", errors)
    if present("country"):
        out["country"] = clean_country(data.get("country"), "country", errors)
    for key, max_len in _TEXT_FIELDS.items():
        if present(key):
            out[key] = clean_optional_text(data.get(key), key, errors, max_len=max_len)
    if present("message"):
        out["message"] = clean_long_text(data.get("message"), "message", errors, max_len=5000)
    if present("score"):
        out["score"] = clean_int(data.get("score"), "score", errors, minimum=0, maximum=100, default=0)
    if present("status"):
        out["status"] = clean_choice(data.get("status"), "status", errors, EDITABLE_STATUSES, default="new")
    return out


async def _clean_campaign(
    session: AsyncSession, value: object, errors: list[FieldError], field: str = "campaign_id"
) -> int | None:
    campaign_id = clean_optional_id(value, field, errors)
    if campaign_id is not None and await session.get(Campaign, campaign_id) is None:
        errors.append(FieldError(field, "Choose an existing campaign."))
    return campaign_id


def _reachable(values: Mapping[str, Any], errors: list[FieldError]) -> None:
    if not values.get("email") and not values.get("phone") and not any(e.field == "email" for e in errors):
        errors.append(FieldError("email", "Give an e-mail address or a phone number."))


async def clean_new_lead(
    session: AsyncSession, data: Mapping[str, Any], errors: list[FieldError], *, default_source: str
) -> dict[str, Any]:
    """Every column of a new lead from ``data`` (shared by capture and CSV import)."""
    values = _clean(data, errors, partial=False)
    _reachable(values, errors)
    values["source"] = clean_choice(
        data.get("source"), "source", errors, LEAD_SOURCES, default=default_source
    )
    values["campaign_id"] = await _clean_campaign(session, data.get("campaign_id"), errors)
    return values


def _explicit_owner(data: Mapping[str, Any]) -> bool:
    value = data.get("owner_id")
    return value is not None and str(value).strip() != ""


# --- writing ---------------------------------------------------------------------------------


async def create_lead(
    session: AsyncSession,
    principal: Principal | None,
    data: Mapping[str, Any],
    *,
    default_source: str = "manual",
) -> Lead:
    """Capture a lead. ``principal`` is None for anonymous capture (public web forms).

    An ``owner_id`` in ``data`` assigns it (within the principal's scope); without one the
    assignment rules decide, and the new owner is notified in this same transaction.
    """
    errors: list[FieldError] = []
    values = await clean_new_lead(session, data, errors, default_source=default_source)
    owner_id = team_id = None
    if principal is not None and _explicit_owner(data):
        chosen = await assignment_for(
            session,
            principal,
            CRM_LEAD_WRITE,
            clean_optional_id(data.get("owner_id"), "owner_id", errors),
            errors,
            default_to_actor=False,
        )
        owner_id, team_id = chosen.owner_id, chosen.team_id
    if errors:
        raise ValidationFailed(errors)
    if owner_id is None:
        routed = await owner_by_rules(session, source=values["source"], region=values.get("region"))
        owner_id, team_id = routed.owner_id, routed.team_id
    return await insert_lead(session, principal, values, owner_id=owner_id, team_id=team_id)


async def insert_lead(
    session: AsyncSession,
    principal: Principal | None,
    values: Mapping[str, Any],
    *,
    owner_id: int | None,
    team_id: int | None,
) -> Lead:
    """Write a cleaned lead, announce it and tell its owner (unless they captured it themselves)."""
    now = utcnow()
    async with audited(session, "crm.lead_created"):
        lead = Lead(**values, owner_id=owner_id, team_id=team_id)
        if lead.status == "qualified":
            lead.qualified_at = now
        session.add(lead)
        await session.flush()
    await publish(
        session, events.LEAD_CREATED, {"lead_id": lead.id, "source": lead.source, "owner_id": lead.owner_id}
    )
    if owner_id is not None and (principal is None or principal.id != owner_id or principal.kind != "user"):
        await notify_owner(session, lead)
    return lead


async def update_lead(
    session: AsyncSession, principal: Principal, lead_id: int, data: Mapping[str, Any]
) -> Lead:
    """Change the fields present in ``data`` (PATCH semantics; forms send every field)."""
    lead = await get_writable_lead(session, principal, lead_id, lock=True)
    if lead.status == "converted":
        raise AlreadyConverted()
    errors: list[FieldError] = []
    values = _clean(data, errors, partial=True)
    if "source" in data:
        values["source"] = clean_choice(data.get("source"), "source", errors, LEAD_SOURCES, default="manual")
    if "campaign_id" in data:
        values["campaign_id"] = await _clean_campaign(session, data.get("campaign_id"), errors)
    merged = {"email": lead.email, "phone": lead.phone, **values}
    _reachable(merged, errors)
    owner_changed = False
    if "owner_id" in data:
        chosen = await assignment_for(
            session,
            principal,
            CRM_LEAD_WRITE,
            clean_optional_id(data.get("owner_id"), "owner_id", errors),
            errors,
            default_to_actor=False,
        )
        owner_changed = chosen.owner_id != lead.owner_id
        values.update(owner_id=chosen.owner_id, team_id=chosen.team_id)
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.lead_updated"):
        _apply_status(lead, values.pop("status", lead.status))
        for key, value in values.items():
            setattr(lead, key, value)
    if owner_changed and lead.owner_id is not None and lead.owner_id != principal.id:
        await notify_owner(session, lead)
    return lead


def _apply_status(lead: Lead, status: str) -> None:
    if status == lead.status:
        return
    lead.status = status
    lead.disqualified_reason = None
    lead.qualified_at = utcnow() if status == "qualified" else None


async def set_status(session: AsyncSession, principal: Principal, lead_id: int, status: object) -> Lead:
    """Move the lead to new, contacted or qualified (reopening a disqualified lead)."""
    return await update_lead(session, principal, lead_id, {"status": status})


async def qualify_lead(
    session: AsyncSession, principal: Principal, lead_id: int, *, score: object = None
) -> Lead:
    data: dict[str, Any] = {"status": "qualified"}
    if score is not None and str(score).strip() != "":
        data["score"] = score
    return await update_lead(session, principal, lead_id, data)


async def disqualify_lead(
    session: AsyncSession, principal: Principal, lead_id: int, *, reason: object
) -> Lead:
    lead = await get_writable_lead(session, principal, lead_id, lock=True)
    if lead.status == "converted":
        raise AlreadyConverted()
    errors: list[FieldError] = []
    text = clean_text(reason, "reason", errors, required=True, max_len=200)
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.lead_disqualified"):
        lead.status = "disqualified"
        lead.disqualified_reason = text
        lead.qualified_at = None
    return lead
