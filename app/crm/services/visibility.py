"""Record rules for CRM reads, in one place (PLAT-4; app/security/record_rules.py).

Owned records (accounts, opportunities, quotes, orders, contracts, tickets, surveys) are
filtered by ``restrict``/``get_visible`` directly; leads add one rule (unassigned leads are
visible to team scope: ``visible_leads``). Records that hang off an account — contacts,
activities — are visible exactly when their account is. Customer contacts (CRM-12) see only their
own account's records, whatever their role says: ``customer_account_id`` is the one lookup and
every customer-portal query filters on it.

    stmt = visible_contacts(principal)           # select(Contact) the principal may see
    account_id = await customer_account_id(session, principal)   # NotFound if not a customer
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, Contact, Lead
from app.kernel.errors import Forbidden
from app.kernel.i18n import lazy
from app.security.permissions import CRM_ACCOUNT_READ, CRM_LEAD_READ, Scope
from app.security.principal import Principal
from app.security.record_rules import restrict, visibility_clause


def visible_accounts(principal: Principal, permission: str = CRM_ACCOUNT_READ) -> Select[Any]:
    """Accounts the principal may see (merged-away accounts excluded)."""
    stmt = select(Account).where(Account.merged_into_id.is_(None))
    return restrict(stmt, Account, principal, permission)


def visible_account_ids(principal: Principal, permission: str = CRM_ACCOUNT_READ) -> Select[Any]:
    """The ids of ``visible_accounts``, for ``Model.account_id.in_(...)`` filters."""
    stmt = select(Account.id).where(Account.merged_into_id.is_(None))
    return restrict(stmt, Account, principal, permission)


async def account_choices(
    session: AsyncSession, principal: Principal, *, q: str = "", selected: int | None = None, limit: int = 50
) -> list[Account]:
    """The accounts a form's account picker offers: the first ``limit`` visible, live accounts by
    name (matching ``q``), with the form's current account first even when it is not among them.
    One statement whatever the data, so a form page issues the same queries for every record."""
    first = visible_account_ids(principal).where(Account.archived_at.is_(None))
    if q:
        first = first.where(Account.name.ilike(f"%{q.replace('%', '').replace('_', '')}%"))
    first = first.order_by(Account.name, Account.id).limit(limit)
    wanted: ColumnElement[bool] = Account.id.in_(first.scalar_subquery())
    if selected is not None:
        wanted = or_(wanted, Account.id == selected)
    stmt = visible_accounts(principal).where(wanted)
    order: list[Any] = [Account.name, Account.id]
    if selected is not None:
        order.insert(0, (Account.id == selected).desc())
    return list((await session.execute(stmt.order_by(*order))).scalars())


def account_clause(principal: Principal, permission: str = CRM_ACCOUNT_READ) -> Any:
    """The WHERE clause on a joined ``Account`` (None when the principal sees every account)."""
    return visibility_clause(Account, principal, permission)


def lead_visibility(principal: Principal, permission: str = CRM_LEAD_READ) -> Any:
    """The WHERE clause of the leads ``principal`` may see (None: all of them).

    Record rules (own/team/all) plus one CRM-2 rule: unassigned leads are visible to team scope,
    so a manager sees what the assignment rules could not place.
    """
    clause = visibility_clause(Lead, principal, permission)
    if clause is not None and principal.scope_for(permission) == Scope.TEAM:
        return or_(clause, Lead.owner_id.is_(None))
    return clause


def visible_leads(principal: Principal, permission: str = CRM_LEAD_READ) -> Select[Any]:
    clause = lead_visibility(principal, permission)
    stmt = select(Lead)
    return stmt if clause is None else stmt.where(clause)


def visible_contacts(principal: Principal, permission: str = CRM_ACCOUNT_READ) -> Select[Any]:
    stmt = (
        select(Contact)
        .join(Account, Account.id == Contact.account_id)
        .where(Account.merged_into_id.is_(None))
    )
    clause = account_clause(principal, permission)
    return stmt if clause is None else stmt.where(clause)


class NotACustomer(Forbidden):
    def __init__(self) -> None:
        super().__init__(lazy("Your sign-in is not linked to a customer account."), code="not_a_customer")


async def customer_account_id(session: AsyncSession, principal: Principal) -> int:
    """The account a customer-portal user belongs to, through their contact (CRM-12)."""
    if principal.kind != "user" or not principal.is_external:
        raise NotACustomer()
    account_id = await session.scalar(
        select(Contact.account_id).where(
            Contact.portal_user_id == principal.id, Contact.archived_at.is_(None)
        )
    )
    if account_id is None:
        raise NotACustomer()
    return int(account_id)
