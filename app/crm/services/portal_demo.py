"""The demo customer's way into the self-service portal (the ``acme`` demo tenant, CRM-12).

    await link_demo_customer(session)     # after the other CRM seeders; idempotent

The demo's customer sign-in (an external user with the ``customer`` role and no contact yet)
becomes the contact who opened an account's tickets — the account, among the first rep's, with
the most to show: orders the customer may see (one still on its way), a ticket still open, a
survey waiting for an answer. The contact takes the person's name and address, and the link
itself is made the one way staff make it (``portal_access.invite_contact``: an address that
already has an unlinked customer sign-in is linked at once); a question still in progress is
added when the contact has no open ticket, and an order confirmed this week (with the deal
won for it) when the account has none on its way. Does nothing when there is no such user or no such account.
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, Contact, SalesOrder, SlaPolicy, Survey, Ticket
from app.crm.services import pipeline_demo, service_demo
from app.crm.services.customer_portal import OPEN_TICKET_STATUSES, ORDER_STATUSES
from app.crm.services.customers_demo import sales_staff
from app.crm.services.portal_access import CUSTOMER_ROLE, invite_contact
from app.kernel import context
from app.kernel.db import utcnow
from app.security.models import Role, User, UserRole
from app.security.permissions import CRM_ACCOUNT_READ, Scope
from app.security.principal import Principal


async def demo_customer(session: AsyncSession) -> User | None:
    """The first active external customer sign-in that no contact has yet."""
    linked = select(Contact.portal_user_id).where(Contact.portal_user_id.is_not(None))
    return await session.scalar(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .join(Role, Role.id == UserRole.role_id)
        .where(
            Role.key == CUSTOMER_ROLE,
            User.is_external.is_(True),
            User.is_active.is_(True),
            User.id.not_in(linked),
        )
        .order_by(User.id)
        .limit(1)
    )


async def best_contact(session: AsyncSession) -> Contact | None:
    """The ticket contact whose account shows the most: a waiting survey, an open ticket, orders,
    and the first sales rep as its owner (so the rep's pages and the customer's tell one story)."""
    staff = await sales_staff(session)
    rep_id = staff[0].id if staff else None
    orders = (
        select(func.count())
        .where(SalesOrder.account_id == Contact.account_id, SalesOrder.status.in_(ORDER_STATUSES))
        .scalar_subquery()
    )
    open_tickets = (
        select(func.count())
        .where(Ticket.contact_id == Contact.id, Ticket.status.in_(OPEN_TICKET_STATUSES))
        .scalar_subquery()
    )
    open_orders = (
        select(func.count())
        .where(SalesOrder.account_id == Contact.account_id, SalesOrder.status.in_(("confirmed", "fulfilled")))
        .scalar_subquery()
    )
    waiting = (
        select(func.count())
        .where(Survey.contact_id == Contact.id, Survey.answered_at.is_(None))
        .scalar_subquery()
    )
    score = (
        func.least(waiting, 1) * 8
        + func.least(open_tickets, 1) * 4
        + func.least(orders, 4) * 3
        + func.least(open_orders, 1) * 6
        + (case((Account.owner_id == rep_id, 6), else_=0) if rep_id is not None else literal(0))
    )
    return await session.scalar(
        select(Contact)
        .join(Account, Account.id == Contact.account_id)
        .where(
            Contact.id.in_(select(Ticket.contact_id)),
            Contact.portal_user_id.is_(None),
            Contact.archived_at.is_(None),
            Account.merged_into_id.is_(None),
            Account.kind == "company",
        )
        .order_by(score.desc(), Contact.id)
        .limit(1)
    )


async def link_demo_customer(session: AsyncSession) -> None:
    user = await demo_customer(session)
    if user is None:
        return
    contact = await best_contact(session)
    if contact is None:
        return
    first, _, last = user.full_name.partition(" ")
    contact.first_name, contact.last_name = first, last
    contact.full_name, contact.email = user.full_name, user.email
    await session.flush()
    tenant = context.current_tenant()
    assert tenant is not None
    staff = Principal(kind="system", id=0, tenant=tenant, label="demo", grants={CRM_ACCOUNT_READ: Scope.ALL})
    await invite_contact(session, staff, contact.id)
    await session.flush()
    await _open_ticket(session, contact)
    await _order_on_its_way(session, contact)


async def _order_on_its_way(session: AsyncSession, contact: Contact) -> None:
    """An order confirmed a few days ago (and the deal behind it), unless one is open already."""
    if await session.scalar(
        select(func.count()).where(
            SalesOrder.account_id == contact.account_id, SalesOrder.status.in_(("confirmed", "fulfilled"))
        )
    ):
        return
    account = await session.get(Account, contact.account_id)
    stages = await pipeline_demo.pipeline_stages(session)
    if account is None or stages is None:
        return
    now = utcnow()
    earliest = pipeline_demo.this_week(now)
    rnd = random.Random(contact.id)  # noqa: S311 — made-up demo figures, not secrets
    await pipeline_demo.recent_win(
        session, rnd, stages, account, {account.id: contact.id}, earliest + (now - earliest) / 3
    )
    await session.flush()


async def _open_ticket(session: AsyncSession, contact: Contact) -> None:
    """A question still being worked on, unless the contact has one open already."""
    if await session.scalar(
        select(func.count()).where(Ticket.contact_id == contact.id, Ticket.status.in_(OPEN_TICKET_STATUSES))
    ):
        return
    agents = await service_demo.demo_agents(session)
    account = await session.get(Account, contact.account_id)
    if not agents or account is None:
        return
    policies = {p.priority: p for p in (await session.execute(select(SlaPolicy))).scalars() if p.active}
    now = utcnow()
    rnd = random.Random(contact.id)  # noqa: S311 — made-up demo figures, not secrets
    await service_demo.demo_ticket(
        session, rnd, now, now - timedelta(hours=5), "open", account, contact, agents, policies, []
    )
    await session.flush()
