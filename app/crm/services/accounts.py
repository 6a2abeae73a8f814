"""Accounts (CRM-1): create, change and read the companies and people Tessera's users sell to.

account = await create_account(session, principal, {"name": "上海明辉贸易有限公司", "region": "华东"})
account = await get_account(session, principal, account_id)          # NotFound if hidden
await update_account(session, principal, account.id, {"tags": "vip, 华东"})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account
from app.crm.models.customers import ACCOUNT_KINDS, LIFECYCLE_STAGES
from app.crm.services.fields import (
    clean_choice,
    clean_country,
    clean_email,
    clean_long_text,
    clean_optional_id,
    clean_optional_text,
    clean_phone,
    clean_tags,
    clean_text,
)
from app.crm.services.ownership import assignment_for
from app.kernel.audit import audited
from app.kernel.errors import FieldError, Forbidden, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.security.permissions import CRM_ACCOUNT_READ, CRM_ACCOUNT_WRITE
from app.security.principal import Principal
from app.security.record_rules import can_write, get_visible

# What a form or API body may set, and how each value is cleaned.
_TEXT_FIELDS = {
    "legal_name": 200,
    "website": 200,
    "industry": 80,
    "region": 80,
    "city": 80,
    "source": 40,
}


def _clean(data: Mapping[str, Any], errors: list[FieldError], *, partial: bool) -> dict[str, Any]:
    """The account columns present in ``data``, cleaned (all of them when not ``partial``)."""
    out: dict[str, Any] = {}

    def present(key: str) -> bool:
        return not partial or key in data

    if present("name"):
        out["name"] = clean_text(data.get("name"), "name", errors, required=True, max_len=200)
    if present("kind"):
        out["kind"] = clean_choice(data.get("kind"), "kind", errors, ACCOUNT_KINDS, default="company")
    if present("lifecycle_stage"):
        out["lifecycle_stage"] = clean_choice(
            data.get("lifecycle_stage"), "lifecycle_stage", errors, LIFECYCLE_STAGES, default="prospect"
        )
    if present("email"):
        out["email"] = clean_email(data.get("email"), "email", errors)
    if present("phone"):
        out["phone"] = clean_phone(data.get("phone"), "phone", errors)
    if present("country"):
        out["country"] = clean_country(data.get("country"), "country", errors)
    for key, max_len in _TEXT_FIELDS.items():
        if present(key):
            out[key] = clean_optional_text(data.get(key), key, errors, max_len=max_len)
    if present("address"):
        out["address"] = clean_long_text(data.get("address"), "address", errors, max_len=1000) or None
    if present("needs"):
        out["needs"] = clean_long_text(data.get("needs"), "needs", errors)
    if present("tags"):
        out["tags"] = clean_tags(data.get("tags"), "tags", errors)
    if present("preferences"):
        out["preferences"] = _clean_preferences(data.get("preferences"), errors)
    return out


def _clean_preferences(value: object, errors: list[FieldError]) -> dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, Mapping):
        errors.append(FieldError("preferences", "Preferences are name/value pairs."))
        return {}
    prefs: dict[str, str] = {}
    for k, v in value.items():
        key = " ".join(str(k).split())[:60]
        if not key:
            continue
        prefs[key] = " ".join(str(v or "").split())[:200]
    if len(prefs) > 30:
        errors.append(FieldError("preferences", "Use at most {n} preferences.", {"n": 30}))
    return prefs


async def get_account(
    session: AsyncSession, principal: Principal, account_id: int, permission: str = CRM_ACCOUNT_READ
) -> Account:
    """The account if the principal may see it; merged-away accounts read as missing."""
    account = await get_visible(session, Account, account_id, principal, permission, lazy("account"))
    if account.merged_into_id is not None:
        raise NotFound(lazy("account"))
    return account


async def get_writable_account(session: AsyncSession, principal: Principal, account_id: int) -> Account:
    """For changes: visible (else 404) and inside the principal's write scope (else 403)."""
    account = await get_account(session, principal, account_id)
    if not can_write(account, principal, CRM_ACCOUNT_WRITE):
        raise Forbidden(lazy("You may view this account but not change it."))
    return account


async def create_account(session: AsyncSession, principal: Principal, data: Mapping[str, Any]) -> Account:
    errors: list[FieldError] = []
    values = _clean(data, errors, partial=False)
    owner = await assignment_for(
        session,
        principal,
        CRM_ACCOUNT_WRITE,
        clean_optional_id(data.get("owner_id"), "owner_id", errors),
        errors,
    )
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.account_created"):
        account = Account(**values, owner_id=owner.owner_id, team_id=owner.team_id)
        session.add(account)
    return account


async def update_account(
    session: AsyncSession, principal: Principal, account_id: int, data: Mapping[str, Any]
) -> Account:
    """Change the fields present in ``data`` (PATCH semantics; forms send every field)."""
    account = await get_writable_account(session, principal, account_id)
    errors: list[FieldError] = []
    values = _clean(data, errors, partial=True)
    if "owner_id" in data:
        owner = await assignment_for(
            session,
            principal,
            CRM_ACCOUNT_WRITE,
            clean_optional_id(data.get("owner_id"), "owner_id", errors),
            errors,
            default_to_actor=False,
        )
        values.update(owner_id=owner.owner_id, team_id=owner.team_id)
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.account_updated"):
        for key, value in values.items():
            setattr(account, key, value)
    return account
