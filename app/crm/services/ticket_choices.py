"""What the service portal offers in its ticket forms — accounts, contacts, orders, products,
agents, teams — each read under the record rules of the person choosing.

    accounts = await find_accounts(session, principal, "明辉")
    contacts = await account_contacts(session, principal, account_id)   # [] if the account is hidden
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, Contact, Product, SalesOrder
from app.crm.services.ticket_assignment import service_agents
from app.crm.services.visibility import visible_accounts
from app.security.models import Team, User
from app.security.permissions import CRM_ORDER_READ, CRM_TICKET_WRITE, Scope
from app.security.principal import Principal
from app.security.record_rules import restrict

LIMIT = 20


async def find_accounts(
    session: AsyncSession, principal: Principal, q: str, *, selected: int | None = None
) -> list[Account]:
    """Visible accounts whose name contains ``q`` (the trigram index answers), plus the selected one."""
    q = " ".join(q.split())[:100].lower()
    stmt = visible_accounts(principal).order_by(func.lower(Account.name), Account.id).limit(LIMIT)
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(func.lower(Account.name).like(f"%{escaped}%"))
    found = list((await session.execute(stmt)).scalars())
    if selected is not None and all(a.id != selected for a in found):
        extra = await session.scalar(visible_accounts(principal).where(Account.id == selected))
        if extra is not None:
            found.insert(0, extra)
    return found


async def visible_account(
    session: AsyncSession, principal: Principal, account_id: int | None
) -> Account | None:
    if account_id is None:
        return None
    return await session.scalar(visible_accounts(principal).where(Account.id == account_id))


async def account_contacts(
    session: AsyncSession, principal: Principal, account_id: int | None
) -> list[Contact]:
    if await visible_account(session, principal, account_id) is None:
        return []
    stmt = (
        select(Contact)
        .where(Contact.account_id == account_id, Contact.archived_at.is_(None))
        .order_by(Contact.is_primary.desc(), Contact.full_name)
    )
    return list((await session.execute(stmt)).scalars())


async def account_orders(
    session: AsyncSession, principal: Principal, account_id: int | None
) -> list[SalesOrder]:
    """The account's recent orders the principal may read (a ticket may be about one)."""
    if account_id is None or not principal.can(CRM_ORDER_READ):
        return []
    stmt = (
        select(SalesOrder)
        .where(SalesOrder.account_id == account_id)
        .order_by(SalesOrder.order_date.desc(), SalesOrder.id.desc())
        .limit(50)
    )
    return list((await session.execute(restrict(stmt, SalesOrder, principal, CRM_ORDER_READ))).scalars())


async def active_products(session: AsyncSession) -> list[Product]:
    stmt = select(Product).where(Product.active.is_(True)).order_by(Product.name, Product.id)
    return list((await session.execute(stmt)).scalars())


async def assignable_agents(session: AsyncSession, principal: Principal) -> list[User]:
    """The agents the principal may hand a ticket to: everyone for ``all``; their teams' agents
    (and themselves) for ``team``; themselves for ``own``."""
    agents = await service_agents(session)
    scope = principal.scope_for(CRM_TICKET_WRITE)
    if scope == Scope.ALL:
        return agents
    if scope == Scope.TEAM:
        return [
            a
            for a in agents
            if a.id == principal.id or (a.team_id is not None and a.team_id in principal.team_ids)
        ]
    return [a for a in agents if a.id == principal.id]


async def all_teams(session: AsyncSession) -> list[Team]:
    return list((await session.execute(select(Team).order_by(Team.name))).scalars())
