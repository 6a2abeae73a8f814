"""Maintaining the chart of accounts (FIN-1): add, rename, deactivate, reactivate and delete.

    account = await create_account(session, principal, {"code": "660204", "name": "管理费用-差旅费",
                                                         "type": "expense", "parent_id": group.id})
    await update_account(session, principal, account.id, {"active": False})
    await delete_account(session, principal, account.id)   # only while nothing uses it

Rules (docs/finance-settings.md):
* codes are digits, optionally with inner dots or dashes (``660204``, ``1002.01``), unique;
* a sub-account sits under a group account (not postable) of the same type; group accounts never
  take postings (the posting door and the ``fin_account_not_postable`` trigger refuse them);
* type, code and whether an account is a group do not change once created — the ledger's
  meaning hangs on them; the name may;
* an account with postings is never deleted (deactivate it); nor one that documents, tax rates
  or posting rules (the tenant's choices and the chart's defaults) use, nor a group with
  sub-accounts — ``account_in_use``, nothing changed;
* an account a posting rule or an active tax rate posts to stays active, as does a group with
  active sub-accounts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance import errors
from app.finance.models import (
    ACCOUNT_TYPES,
    Account,
    BillLine,
    EntryLine,
    InvoiceLine,
    Payment,
    PeriodBalance,
    TaxRate,
)
from app.finance.services.account_lookup import forget_accounts
from app.finance.services.cost_centres import clean_name, truthy
from app.finance.services.posting_rules import rule_views
from app.finance.services.setup import ensure_finance
from app.kernel.audit import audited
from app.kernel.errors import FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.security.principal import Principal

CODE_RE = re.compile(r"^\d(?:[\d.\-]{0,18}\d)?$")


async def get_account(session: AsyncSession, account_id: int, *, lock: bool = False) -> Account:
    stmt = select(Account).where(Account.id == account_id)
    account = (await session.execute(stmt.with_for_update() if lock else stmt)).scalar_one_or_none()
    if account is None:
        raise NotFound(lazy("account"))
    return account


async def group_accounts(session: AsyncSession) -> list[Account]:
    """Active group accounts: where a new sub-account may go."""
    stmt = select(Account).where(Account.postable.is_(False), Account.active.is_(True)).order_by(Account.code)
    return list((await session.execute(stmt)).scalars())


def _code_error(code: str) -> FieldError:
    return FieldError("code", lazy("Another account already has the code {code}."), {"code": code})


async def create_account(session: AsyncSession, principal: Principal, data: Mapping[str, Any]) -> Account:
    await ensure_finance(session)
    errs: list[FieldError] = []
    code = str(data.get("code") or "").strip()
    if not CODE_RE.match(code):
        errs.append(
            FieldError("code", lazy("Use up to 20 digits, with dots or dashes between them, e.g. 660204."))
        )
    name = clean_name(data.get("name"), "name", errs)
    type_ = str(data.get("type") or "").strip()
    parent = None
    raw_parent = data.get("parent_id")
    if raw_parent not in (None, ""):
        ident = str(raw_parent).strip()
        parent = (
            await session.get(Account, int(ident))
            if ident.isdigit() and not isinstance(raw_parent, bool)
            else None
        )
        if parent is None or parent.postable or not parent.active:
            errs.append(FieldError("parent_id", lazy("Choose an active group account.")))
            parent = None
        elif not type_:
            type_ = parent.type
    if type_ not in ACCOUNT_TYPES:
        errs.append(FieldError("type", lazy("Choose the account's type.")))
    elif parent is not None and parent.type != type_:
        errs.append(FieldError("parent_id", lazy("The group's accounts are of another type.")))
    taken = select(Account.id).where(Account.code == code)
    if CODE_RE.match(code) and (await session.execute(taken)).first() is not None:
        errs.append(_code_error(code))
    if errs:
        raise ValidationFailed(errs)
    account = Account(
        code=code,
        name=name,
        type=type_,
        parent_id=parent.id if parent else None,
        postable=truthy(data.get("postable", True)),
        active=True,
    )
    async with audited(session, "finance.account_created"):
        try:
            async with session.begin_nested():
                session.add(account)
                await session.flush()
        except IntegrityError:
            raise ValidationFailed([_code_error(code)]) from None
    forget_accounts(session)
    return account


async def _held_by_rules_or_rates(session: AsyncSession, account: Account, *, active_rates: bool) -> None:
    rates = select(TaxRate.code).where(
        or_(TaxRate.output_account_id == account.id, TaxRate.input_account_id == account.id)
    )
    if active_rates:
        rates = rates.where(TaxRate.active.is_(True))
    names = list((await session.execute(rates.order_by(TaxRate.code))).scalars())
    if names:
        raise errors.AccountInUse(account.code, "tax_rates", ", ".join(names))
    roles = [view.role for view in await rule_views(session) if view.account.id == account.id]
    if roles:
        raise errors.AccountInUse(account.code, "posting_rules", ", ".join(roles))


async def _check_deactivation(session: AsyncSession, account: Account) -> None:
    children = select(Account.id).where(Account.parent_id == account.id, Account.active.is_(True))
    if (await session.execute(select(exists(children)))).scalar_one():
        raise errors.AccountInUse(account.code, "sub_accounts")
    await _held_by_rules_or_rates(session, account, active_rates=True)


async def _check_reactivation(session: AsyncSession, account: Account) -> None:
    parent = await session.get(Account, account.parent_id) if account.parent_id else None
    if parent is not None and not parent.active:
        raise ValidationFailed(
            [FieldError("active", lazy("Reactivate its group {parent} first."), {"parent": parent.code})]
        )


async def update_account(
    session: AsyncSession, principal: Principal, account_id: int, data: Mapping[str, Any]
) -> Account:
    """Change the fields present in ``data``: ``name``, ``active``."""
    account = await get_account(session, account_id, lock=True)
    errs: list[FieldError] = []
    values: dict[str, Any] = {}
    if "name" in data:
        values["name"] = clean_name(data["name"], "name", errs)
    if "active" in data:
        values["active"] = truthy(data["active"])
    if errs:
        raise ValidationFailed(errs)
    if account.active and values.get("active") is False:
        await _check_deactivation(session, account)
    if not account.active and values.get("active") is True:
        await _check_reactivation(session, account)
    async with audited(session, "finance.account_changed"):
        for key, value in values.items():
            setattr(account, key, value)
        await session.flush()
    forget_accounts(session)
    return account


async def _check_deletion(session: AsyncSession, account: Account) -> None:
    if (
        await session.execute(select(exists(select(Account.id).where(Account.parent_id == account.id))))
    ).scalar_one():
        raise errors.AccountInUse(account.code, "sub_accounts")
    posted = select(
        exists(select(EntryLine.id).where(EntryLine.account_id == account.id))
        | exists(select(PeriodBalance.account_id).where(PeriodBalance.account_id == account.id))
    )
    if (await session.execute(posted)).scalar_one():
        raise errors.AccountInUse(account.code, "postings")
    documents = select(
        exists(select(InvoiceLine.id).where(InvoiceLine.account_id == account.id))
        | exists(select(BillLine.id).where(BillLine.account_id == account.id))
        | exists(select(Payment.id).where(Payment.bank_account_id == account.id))
    )
    if (await session.execute(documents)).scalar_one():
        raise errors.AccountInUse(account.code, "documents")
    await _held_by_rules_or_rates(session, account, active_rates=False)


async def delete_account(session: AsyncSession, principal: Principal, account_id: int) -> None:
    """Delete an account nothing uses; otherwise ``account_in_use`` and nothing changes. The row is
    locked first, so a posting in flight to it finishes (and is seen) before the check."""
    account = await get_account(session, account_id, lock=True)
    await _check_deletion(session, account)
    code = account.code
    forget_accounts(session)
    async with audited(session, "finance.account_deleted"):
        try:
            async with session.begin_nested():
                await session.delete(account)
                await session.flush()
        except IntegrityError:  # a reference this module does not know of (a later context's)
            raise errors.AccountInUse(code, "other") from None
