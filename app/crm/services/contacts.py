"""Contacts (CRM-1): the people at an account. A contact is visible exactly when its account is.

contact = await create_contact(session, principal, {"account_id": 7, "full_name": "王芳", ...})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, Contact
from app.crm.services.accounts import get_account, get_writable_account
from app.crm.services.fields import (
    clean_email,
    clean_long_text,
    clean_optional_id,
    clean_optional_text,
    clean_phone,
    clean_text,
)
from app.crm.services.visibility import visible_contacts
from app.kernel.audit import audited
from app.kernel.errors import FieldError, Forbidden, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.security.principal import Principal


def full_name_of(first: str, last: str) -> str:
    """'Fang' + 'Wang' → 'Fang Wang'; CJK names read family name first without a space (王芳)."""
    if any("\u4e00" <= ch <= "\u9fff" for ch in first + last):
        return f"{last}{first}"
    return " ".join(p for p in (first, last) if p)


def _clean(data: Mapping[str, Any], errors: list[FieldError], *, partial: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def present(key: str) -> bool:
        return not partial or key in data

    if present("first_name"):
        out["first_name"] = clean_text(data.get("first_name"), "first_name", errors, max_len=100)
    if present("last_name"):
        out["last_name"] = clean_text(data.get("last_name"), "last_name", errors, max_len=100)
    if present("full_name"):
        given = clean_text(data.get("full_name"), "full_name", errors, max_len=200)
        out["full_name"] = given or full_name_of(out.get("first_name", ""), out.get("last_name", ""))
        if not out["full_name"]:  # a person always has a name, also after an edit
            errors.append(FieldError("full_name", "This field is required."))
    if present("title"):
        out["title"] = clean_optional_text(data.get("title"), "title", errors, max_len=120)
    if present("email"):
        out["email"] = clean_email(data.get("email"), "email", errors)
    if present("phone"):
        out["phone"] = clean_phone(data.get("phone"), "phone", errors)
    if present("mobile"):
        out["mobile"] = clean_phone(data.get("mobile"), "mobile", errors)
    if present("notes"):
        out["notes"] = clean_long_text(data.get("notes"), "notes", errors)
    if present("is_primary"):
        out["is_primary"] = str(data.get("is_primary") or "").lower() in ("1", "true", "on", "yes")
    return out


async def get_contact(session: AsyncSession, principal: Principal, contact_id: int) -> Contact:
    stmt = visible_contacts(principal).where(Contact.id == contact_id, Contact.archived_at.is_(None))
    contact = (await session.execute(stmt)).scalar_one_or_none()
    if contact is None:
        raise NotFound(lazy("contact"))
    return contact


async def create_contact(session: AsyncSession, principal: Principal, data: Mapping[str, Any]) -> Contact:
    errors: list[FieldError] = []
    account_id = clean_optional_id(data.get("account_id"), "account_id", errors)
    values = _clean(data, errors, partial=False)
    account: Account | None = None
    if account_id is None:
        errors.append(FieldError("account_id", "Choose the account this person belongs to."))
    elif not errors:
        try:
            account = await get_writable_account(session, principal, account_id)
        except NotFound:
            errors.append(FieldError("account_id", "Choose an existing account."))
        except Forbidden:
            errors.append(FieldError("account_id", "You may not add people to this account."))
    if errors or account is None:
        raise ValidationFailed(errors)
    async with audited(session, "crm.contact_created"):
        if values.get("is_primary"):
            await _clear_primary(session, account.id)
        contact = Contact(**values, account_id=account.id)
        session.add(contact)
    return contact


async def update_contact(
    session: AsyncSession, principal: Principal, contact_id: int, data: Mapping[str, Any]
) -> Contact:
    contact = await get_contact(session, principal, contact_id)
    await get_writable_account(session, principal, contact.account_id)
    errors: list[FieldError] = []
    values = _clean(data, errors, partial=True)
    if "full_name" not in values and ("first_name" in values or "last_name" in values):
        first = values.get("first_name", contact.first_name)
        last = values.get("last_name", contact.last_name)
        values["full_name"] = full_name_of(first, last) or contact.full_name
    if "account_id" in data:  # moving the person to another account: one the actor may change
        target = clean_optional_id(data.get("account_id"), "account_id", errors)
        if target is None:
            errors.append(FieldError("account_id", "Choose the account this person belongs to."))
        elif target != contact.account_id and not errors:
            try:
                values["account_id"] = (await get_writable_account(session, principal, target)).id
            except NotFound:
                errors.append(FieldError("account_id", "Choose an existing account."))
            except Forbidden:
                errors.append(FieldError("account_id", "You may not add people to this account."))
            values["is_primary"] = False if "is_primary" not in data else values.get("is_primary", False)
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.contact_updated"):
        if values.get("is_primary"):
            await _clear_primary(session, values.get("account_id", contact.account_id), keep=contact.id)
        for key, value in values.items():
            setattr(contact, key, value)
    return contact


async def contacts_of(session: AsyncSession, principal: Principal, account_id: int) -> list[Contact]:
    await get_account(session, principal, account_id)
    stmt = (
        select(Contact)
        .where(Contact.account_id == account_id, Contact.archived_at.is_(None))
        .order_by(Contact.is_primary.desc(), Contact.full_name)
    )
    return list((await session.execute(stmt)).scalars())


async def _clear_primary(session: AsyncSession, account_id: int, keep: int | None = None) -> None:
    stmt = select(Contact).where(Contact.account_id == account_id, Contact.is_primary.is_(True))
    for other in (await session.execute(stmt)).scalars():
        if other.id != keep:
            other.is_primary = False
