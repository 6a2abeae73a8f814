"""Customer-portal records (CRM-12): customers linked to contacts, and what they see.

Builders write rows directly (no principal) so a test sets up two customer accounts in a few
lines; the route-table factories put their record in the account of the tenant's ``carol``
(linking her to a fresh contact if she is linked to none), because portal routes are walked
signed in as carol: her own record must answer, another tenant's must be 404.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, Contact, Product, SalesOrder, Survey, Ticket, TicketMessage
from app.crm.services.numbering import next_number
from app.crm.services.surveys import create_survey
from app.kernel.db import utcnow
from app.security.models import User
from app.security.services.users import create_user
from tests.crm.factories.sales import account_row, order_row, product_row
from tests.factories import factory
from tests.helpers import Browser, browser, login
from tests.world import PASSWORD


@dataclass(frozen=True)
class Customer:
    """A customer account with one contact linked to a customer sign-in."""

    account_id: int
    contact_id: int
    user_id: int
    email: str


async def customer_user(session: AsyncSession, email: str, name: str) -> User:
    return await create_user(session, email=email, full_name=name, password=PASSWORD, role_keys=["customer"])


async def customer_account(session: AsyncSession, marker: str, *, user_id: int | None = None) -> Customer:
    """An account, its contact and (unless ``user_id`` is given) a new customer user linked to it."""
    account = await account_row(session, f"Customer {marker}", lifecycle_stage="customer")
    email = f"{marker}@customer.example"
    if user_id is None:
        user_id = (await customer_user(session, email, f"Person {marker}")).id
    contact = Contact(
        account_id=account.id, first_name="Person", last_name=marker, full_name=f"Person {marker}",
        email=email, portal_user_id=user_id,
    )  # fmt: skip
    session.add(contact)
    await session.flush()
    return Customer(account.id, contact.id, user_id, email)


async def order_for(
    session: AsyncSession, account_id: int, status: str, products: list[tuple[Product, str]], **kw: Any
) -> SalesOrder:
    """An order in ``status`` with the moments of the steps it has passed."""
    account = await session.get(Account, account_id)
    assert account is not None
    order = await order_row(session, account, products, status=status, **kw)
    now = utcnow()
    if status in ("confirmed", "fulfilled", "invoiced", "cancelled"):
        order.confirmed_at = now - timedelta(days=3)
    if status in ("fulfilled", "invoiced"):
        order.fulfilled_at = now - timedelta(days=2)
    if status == "invoiced":
        order.invoiced_at = now - timedelta(days=1)
        order.invoice_ref = "INV-TEST"
    if status == "cancelled":
        order.cancelled_at = now - timedelta(days=1)
        order.cancel_reason = "internal: credit hold"
    await session.flush()
    return order


async def ticket_for(
    session: AsyncSession,
    customer: Customer,
    subject: str,
    *,
    status: str = "open",
    owner_id: int | None = None,
) -> Ticket:
    now = utcnow()
    ticket = Ticket(
        number=await next_number(session, "ticket", now.year), subject=subject,
        description=f"About {subject}", account_id=customer.account_id, contact_id=customer.contact_id,
        channel="customer_portal",
        priority="normal", status=status, owner_id=owner_id, created_at=now, updated_at=now,
        closed_at=now if status == "closed" else None,
    )  # fmt: skip
    session.add(ticket)
    await session.flush()
    return ticket


async def message_on(
    session: AsyncSession, ticket: Ticket, body: str, *, kind: str = "agent", internal: bool = False,
    user_id: int | None = None,
) -> TicketMessage:  # fmt: skip
    message = TicketMessage(
        ticket_id=ticket.id, author_kind=kind, author_user_id=user_id, body=body, is_internal=internal,
        created_at=utcnow(),
    )  # fmt: skip
    session.add(message)
    await session.flush()
    return message


async def survey_for(session: AsyncSession, ticket: Ticket, seed: str) -> Survey:
    survey = await create_survey(session, ticket, seed=seed)
    assert survey is not None
    survey.sent_at = utcnow()
    await session.flush()
    return survey


# --- route-table factories: records of the tenant's carol ------------------------------------


async def carols_customer(session: AsyncSession, tenant: Any, marker: str) -> Customer:
    email = f"carol@{tenant.slug}-customer.example"
    carol = (await session.execute(select(User).where(User.email == email))).scalar_one()
    contact = (
        await session.execute(select(Contact).where(Contact.portal_user_id == carol.id))
    ).scalar_one_or_none()
    if contact is None:
        return await customer_account(session, marker, user_id=carol.id)
    return Customer(contact.account_id, contact.id, carol.id, email)


@factory("crm_portal_orders")
async def make_portal_order(session: AsyncSession, tenant: Any, marker: str) -> int:
    me = await carols_customer(session, tenant, marker)
    product = await product_row(session, marker[:60], name=f"Product {marker}")
    order = await order_for(session, me.account_id, "confirmed", [(product, "1")])
    order.customer_reference = marker[:80]
    await session.flush()
    return order.id


@factory("crm_portal_tickets")
async def make_portal_ticket(session: AsyncSession, tenant: Any, marker: str) -> int:
    return (await ticket_for(session, await carols_customer(session, tenant, marker), f"Ticket {marker}")).id


@factory("crm_portal_surveys")
async def make_portal_survey(session: AsyncSession, tenant: Any, marker: str) -> int:
    me = await carols_customer(session, tenant, marker)
    ticket = await ticket_for(session, me, f"Ticket {marker}", status="closed")
    return (await survey_for(session, ticket, seed=marker)).id


# --- signing in as a customer ------------------------------------------------------------------


@asynccontextmanager
async def customer_browser(app: Any, tenant: Any, email: str) -> AsyncIterator[Browser]:
    """A browser signed in as the customer with ``email``, holding a portal page's CSRF token
    (customers start at /portal: the sign-in helper's GET / is a redirect)."""
    async with browser(app, tenant) as b:
        await login(b, email)
        await b.get("/profile")
        yield b
