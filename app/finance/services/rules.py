"""Posting rules (FIN-6): which account each role of a document's entry posts to.

A role ("receivable", "revenue", "output_vat", ...: ``ROLES``) uses the tenant's choice from
``fin_posting_rules`` when there is one, else the chart template's default
(charts.STANDARD_ACCOUNTS). Documents never hard-code account codes; they ask here.
"""

from __future__ import annotations

from sqlalchemy import bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.models import Account, PostingRule
from app.finance.services.account_lookup import remember_accounts
from app.finance.services.charts import STANDARD_ACCOUNTS
from app.finance.services.setup import ensure_finance
from app.kernel.db import transaction_memo
from app.kernel.i18n import lazy

# role → what it is for (English msgid, shown on the posting rules page)
ROLES = {
    "receivable": lazy("Customer receivables (invoices, credit notes, receipts)"),
    "revenue": lazy("Sales revenue (invoice lines)"),
    "output_vat": lazy("Output VAT when a tax rate names no account"),
    "input_vat": lazy("Input VAT when a tax rate names no account"),
    "payable": lazy("Supplier payables (bills, payments)"),
    "bank": lazy("Bank account for payments by default"),
    "cash": lazy("Cash"),
    "cost_of_sales": lazy("Cost of sales"),
    "inventory": lazy("Inventory"),
    "raw_materials": lazy("Raw materials"),
    "admin_expense": lazy("Bill lines without an account"),
    "selling_expense": lazy("Selling expenses"),
    "finance_cost": lazy("Finance costs and bank charges"),
    "current_result": lazy("Current year result"),
    "retained_earnings": lazy("Retained earnings (year-end closing)"),
}


_RULES_READ = "finance.posting_rules"


def forget_rules(session: AsyncSession) -> None:
    """Drop the rules read in this transaction (the posting rules service changed them)."""
    transaction_memo(session).pop(_RULES_READ, None)


_RULE_ACCOUNTS = (  # built once: compiled and cache-keyed once
    select(Account, PostingRule.role)
    .outerjoin(PostingRule, PostingRule.account_id == Account.id)
    .where(or_(PostingRule.role.is_not(None), Account.code.in_(bindparam("standard", expanding=True))))
    .execution_options(populate_existing=True)  # fresh, though the session may hold them already
)


async def _chosen(session: AsyncSession) -> dict[str, str]:
    """The tenant's chosen rules, read once per transaction (a document asks for several roles;
    an invoice's confirmation for revenue and receivable, a payment for bank and receivable).
    The chosen accounts come whole and go to ``accounts.by_code``'s memo, so the posting door
    does not read them again."""
    memo = transaction_memo(session)
    remembered = memo.get(_RULES_READ)
    if remembered is not None:
        return dict(remembered)
    standard = set(STANDARD_ACCOUNTS[await ensure_finance(session)].values())
    # The chosen accounts and the template's standard ones in one read: whichever a role ends up
    # with is then remembered for the posting door.
    rows = (await session.execute(_RULE_ACCOUNTS, {"standard": sorted(standard)})).all()
    remember_accounts(session, [account for account, _ in rows])
    chosen = {role: account.code for account, role in rows if role is not None}
    transaction_memo(session)[_RULES_READ] = chosen
    return chosen


async def account_code(session: AsyncSession, role: str) -> str:
    """The code of the account ``role`` posts to for this tenant."""
    if role not in ROLES:
        raise KeyError(role)
    template = await ensure_finance(session)
    return (await _chosen(session)).get(role) or STANDARD_ACCOUNTS[template][role]


async def all_rules(session: AsyncSession) -> dict[str, tuple[str, bool]]:
    """Every role → (account code, whether the tenant chose it rather than the default)."""
    template = await ensure_finance(session)
    chosen = dict(
        (
            await session.execute(
                select(PostingRule.role, Account.code).join(Account, Account.id == PostingRule.account_id)
            )
        ).all()
    )
    return {role: (chosen.get(role) or STANDARD_ACCOUNTS[template][role], role in chosen) for role in ROLES}
