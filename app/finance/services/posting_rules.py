"""Choosing the account of a posting rule (FIN-6): which account each role of a document's entry
posts to (the roles and how they are read: app/finance/services/rules.py).

    await choose_accounts(session, principal, {"receivable": "1123", "revenue": None})

A role takes a postable, active account of a type that fits it (``ROLE_TYPES``: receivables are
assets, revenue is income, payables are liabilities, …); ``None`` puts it back on the chart's
default. All the changes of one call are checked first and written together, or none is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.models import Account, PostingRule
from app.finance.services.charts import STANDARD_ACCOUNTS
from app.finance.services.rules import ROLES, forget_rules
from app.finance.services.setup import ensure_finance
from app.kernel.audit import audited
from app.kernel.errors import Conflict, FieldError, ValidationFailed
from app.kernel.i18n import lazy
from app.security.principal import Principal

# The account types that make sense for each role. Input VAT may be a liability: CAS keeps
# 进项税额 as a sub-account of 应交税费.
ROLE_TYPES: dict[str, tuple[str, ...]] = {
    "receivable": ("asset",),
    "revenue": ("income",),
    "output_vat": ("liability",),
    "input_vat": ("asset", "liability"),
    "payable": ("liability",),
    "bank": ("asset",),
    "cash": ("asset",),
    "cost_of_sales": ("expense",),
    "inventory": ("asset",),
    "raw_materials": ("asset",),
    "admin_expense": ("expense",),
    "selling_expense": ("expense",),
    "finance_cost": ("expense",),
    "current_result": ("equity",),
    "retained_earnings": ("equity",),
}
TYPE_MESSAGES = {
    ("asset",): lazy("Choose a postable, active asset account."),
    ("income",): lazy("Choose a postable, active income account."),
    ("liability",): lazy("Choose a postable, active liability account."),
    ("asset", "liability"): lazy("Choose a postable, active asset or liability account."),
    ("expense",): lazy("Choose a postable, active expense account."),
    ("equity",): lazy("Choose a postable, active equity account."),
}


@dataclass(frozen=True)
class RuleView:
    role: str
    description: str  # English msgid
    account: Account
    default_code: str
    chosen: bool  # the tenant's choice rather than the chart's default


async def rule_views(session: AsyncSession) -> list[RuleView]:
    """Every role with the account it posts to now, in the order of ``ROLES``."""
    template = await ensure_finance(session)
    chosen = dict(
        (
            await session.execute(
                select(PostingRule.role, Account).join(Account, Account.id == PostingRule.account_id)
            )
        ).all()
    )
    defaults = STANDARD_ACCOUNTS[template]
    by_code = {
        a.code: a
        for a in (
            await session.execute(select(Account).where(Account.code.in_(list(defaults.values()))))
        ).scalars()
    }
    return [
        RuleView(
            role, ROLES[role], chosen.get(role) or by_code[defaults[role]], defaults[role], role in chosen
        )
        for role in ROLES
    ]


async def candidates(session: AsyncSession) -> dict[str, list[Account]]:
    """Per role, the accounts it may post to (postable, active, of a fitting type)."""
    accounts = list(
        (
            await session.execute(
                select(Account)
                .where(Account.postable.is_(True), Account.active.is_(True))
                .order_by(Account.code)
            )
        ).scalars()
    )
    return {role: [a for a in accounts if a.type in ROLE_TYPES[role]] for role in ROLES}


async def choose_accounts(
    session: AsyncSession, principal: Principal, changes: Mapping[str, str | None]
) -> list[RuleView]:
    """Point each role in ``changes`` at the account with that code, or back at the chart's
    default (``None`` or ""). Field errors name ``rules.<role>``."""
    await ensure_finance(session)
    errs: list[FieldError] = []
    codes = {str(code).strip() for code in changes.values() if code and str(code).strip()}
    accounts = {
        a.code: a for a in (await session.execute(select(Account).where(Account.code.in_(codes)))).scalars()
    }
    chosen: dict[str, int | None] = {}
    for role, raw in changes.items():
        if role not in ROLES:
            errs.append(FieldError(f"rules.{role}", lazy("There is no posting rule {role}."), {"role": role}))
            continue
        code = str(raw or "").strip()
        if not code:
            chosen[role] = None
            continue
        account = accounts.get(code)
        if (
            account is None
            or not account.postable
            or not account.active
            or account.type not in ROLE_TYPES[role]
        ):
            errs.append(FieldError(f"rules.{role}", TYPE_MESSAGES[ROLE_TYPES[role]]))
            continue
        chosen[role] = account.id
    if errs:
        raise ValidationFailed(errs)
    async with audited(session, "finance.posting_rules_changed"):
        existing = {
            r.role: r
            for r in (
                await session.execute(
                    select(PostingRule).where(PostingRule.role.in_(list(chosen))).with_for_update()
                )
            ).scalars()
        }
        for role, account_id in chosen.items():
            row = existing.get(role)
            if account_id is None:
                if row is not None:
                    await session.delete(row)
            elif row is None:
                session.add(PostingRule(role=role, account_id=account_id))
            else:
                row.account_id = account_id
        forget_rules(session)
        try:
            async with session.begin_nested():
                await session.flush()
        except IntegrityError:  # the same role chosen at the same moment by someone else
            raise Conflict(
                "posting_rules_changed", lazy("The posting rules were just changed: reload and try again.")
            ) from None
    return await rule_views(session)
