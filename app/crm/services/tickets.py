"""Service tickets (CRM-10): open them from any channel, read them under record rules, and the
customer's side of the conversation.

    ticket = await open_ticket(session, principal, {"subject": "打印机卡纸", "priority": "high"},
                               channel="agent", account_id=7)
    ticket = await get_ticket(session, principal, ticket_id)            # NotFound if hidden
    await add_customer_message(session, ticket, "还是不行", user_id=carol_id)

Customers (the customer portal, principal external) and e-mail senders (principal None) are not
staff: record rules do not apply to them; the caller has already established which account they
speak for (``customer_account_id``) and passes it in. Agents' side of the conversation — replies,
status, priority, reassignment — is in app/crm/services/ticket_workflow.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm import events
from app.crm.errors import InvalidState
from app.crm.models import Account, Contact, Product, SalesOrder, Ticket, TicketMessage
from app.crm.models.service import TICKET_CHANNELS, TICKET_PRIORITIES
from app.crm.notifications import TICKET_ASSIGNED, TICKET_CUSTOMER_REPLIED
from app.crm.services.fields import (
    clean_choice,
    clean_email,
    clean_long_text,
    clean_optional_id,
    clean_optional_text,
    clean_text,
)
from app.crm.services.numbering import next_number
from app.crm.services.ownership import assignment_for
from app.crm.services.sla import apply_policy
from app.crm.services.ticket_assignment import pick_assignee
from app.crm.services.ticket_notices import tell
from app.crm.services.visibility import visible_account_ids
from app.kernel.audit import audited
from app.kernel.db import utcnow
from app.kernel.errors import FieldError, ValidationFailed
from app.kernel.i18n import lazy
from app.kernel.outbox import publish
from app.security.models import Team
from app.security.permissions import CRM_ORDER_READ, CRM_TICKET_READ, CRM_TICKET_WRITE
from app.security.principal import Principal
from app.security.record_rules import get_visible, restrict
from app.settings import get_settings

OPEN_STATUSES = ("new", "open", "pending")
SUBJECT_MAX = 200
BODY_MAX = 20_000


class TicketClosed(InvalidState):
    def __init__(self) -> None:
        super().__init__("ticket_closed", lazy("This ticket is closed. Please open a new ticket."))


def new_message_id(kind: str) -> str:
    """A Message-ID for mail Tessera sends about a ticket (random: replies to it prove the thread)."""
    return f"<{uuid.uuid4().hex}.{kind}@{get_settings().base_domain}>"


# --- reading ---------------------------------------------------------------------------------


def visible_tickets(principal: Principal, permission: str = CRM_TICKET_READ) -> Select[Any]:
    """select(Ticket) restricted to what the principal may see (agents: their team's; admins: all)."""
    return restrict(select(Ticket), Ticket, principal, permission)


async def get_ticket(
    session: AsyncSession, principal: Principal, ticket_id: int, permission: str = CRM_TICKET_READ
) -> Ticket:
    return await get_visible(session, Ticket, ticket_id, principal, permission, lazy("ticket"))


async def messages_of(session: AsyncSession, ticket_id: int) -> list[TicketMessage]:
    """The whole conversation, internal notes included (staff only), oldest first."""
    stmt = (
        select(TicketMessage)
        .where(TicketMessage.ticket_id == ticket_id)
        .order_by(TicketMessage.created_at, TicketMessage.id)
    )
    return list((await session.execute(stmt)).scalars())


async def customer_visible_messages(session: AsyncSession, ticket_id: int) -> list[TicketMessage]:
    """What the customer sees of the conversation: everything but internal notes."""
    stmt = (
        select(TicketMessage)
        .where(TicketMessage.ticket_id == ticket_id, TicketMessage.is_internal.is_(False))
        .order_by(TicketMessage.created_at, TicketMessage.id)
    )
    return list((await session.execute(stmt)).scalars())


# --- opening ---------------------------------------------------------------------------------


def _is_staff(principal: Principal | None) -> bool:
    return principal is not None and not principal.is_external


async def _check_account(
    session: AsyncSession, principal: Principal | None, account_id: int | None, errors: list[FieldError]
) -> Account | None:
    if account_id is None:
        return None
    stmt = select(Account).where(Account.id == account_id, Account.merged_into_id.is_(None))
    if _is_staff(principal):
        assert principal is not None
        stmt = stmt.where(Account.id.in_(visible_account_ids(principal)))
    account = (await session.execute(stmt)).scalar_one_or_none()
    if account is None:
        errors.append(FieldError("account_id", "Choose an existing account."))
    return account


async def _check_contact(
    session: AsyncSession, contact_id: int | None, account: Account | None, errors: list[FieldError]
) -> Contact | None:
    if contact_id is None:
        return None
    contact = await session.get(Contact, contact_id)
    if (
        contact is None
        or contact.archived_at is not None
        or contact.account_id != getattr(account, "id", None)
    ):
        errors.append(FieldError("contact_id", "Choose a contact of this account."))
        return None
    return contact


async def _check_order(
    session: AsyncSession,
    principal: Principal | None,
    order_id: int | None,
    account: Account | None,
    errors: list[FieldError],
) -> int | None:
    """The order's account when the order is acceptable (staff may name an order alone)."""
    if order_id is None:
        return None
    stmt = select(SalesOrder.account_id).where(SalesOrder.id == order_id)
    if _is_staff(principal):
        assert principal is not None
        stmt = restrict(stmt, SalesOrder, principal, CRM_ORDER_READ)
    order_account = await session.scalar(stmt)
    # Customers and e-mail senders only ever name an order of their own account.
    foreign = account.id != order_account if account is not None else not _is_staff(principal)
    if order_account is None or foreign:
        errors.append(FieldError("sales_order_id", "Choose an order of this customer."))
        return None
    return int(order_account)


async def _check_product(session: AsyncSession, product_id: int | None, errors: list[FieldError]) -> None:
    if product_id is None:
        return
    product = await session.get(Product, product_id)
    if product is None or not product.active:
        errors.append(FieldError("product_id", "Choose a product from the catalogue."))


async def open_ticket(
    session: AsyncSession,
    principal: Principal | None,
    data: Mapping[str, Any],
    *,
    channel: str,
    account_id: int | None = None,
    contact_id: int | None = None,
    email_message_id: str | None = None,
) -> Ticket:
    """Open a ticket: validate, number it, fix its SLA deadlines, assign it, announce it.

    Staff (agents, API clients) may also send ``owner_id`` (else it is assigned automatically),
    ``team_id`` (the queue) and ``requester_email`` in ``data``; the account must be one they may
    see. ``email_message_id`` is the opening mail's Message-ID (inbound e-mail), the thread's root.
    """
    if channel not in TICKET_CHANNELS:
        raise ValueError(f"unknown ticket channel {channel!r}")
    staff = _is_staff(principal)
    errors: list[FieldError] = []
    subject = clean_text(data.get("subject"), "subject", errors, required=True, max_len=SUBJECT_MAX)
    description = clean_long_text(data.get("description"), "description", errors, max_len=BODY_MAX)
    priority = clean_choice(data.get("priority"), "priority", errors, TICKET_PRIORITIES, default="normal")
    category = clean_optional_text(data.get("category"), "category", errors, max_len=80)
    order_id = clean_optional_id(data.get("sales_order_id"), "sales_order_id", errors)
    product_id = clean_optional_id(data.get("product_id"), "product_id", errors)
    requester = clean_email(data.get("requester_email"), "requester_email", errors)
    if account_id is None and contact_id is not None:
        account_id = await session.scalar(select(Contact.account_id).where(Contact.id == contact_id))
        if account_id is None:
            errors.append(FieldError("contact_id", "Choose a contact of this account."))
    account = await _check_account(session, principal, account_id, errors)
    contact = await _check_contact(session, contact_id, account, errors)
    order_account = await _check_order(session, principal, order_id, account, errors)
    if account is None and order_account is not None:  # the order says whose ticket it is
        account = await _check_account(session, principal, order_account, errors)
    await _check_product(session, product_id, errors)
    if channel == "customer_portal" and account is None and not errors:
        errors.append(FieldError("account_id", "Choose an existing account."))
    owner_id = team_id = None
    if staff:
        assert principal is not None
        team_id = clean_optional_id(data.get("team_id"), "team_id", errors)
        if team_id is not None and await session.get(Team, team_id) is None:
            errors.append(FieldError("team_id", "Choose an existing team."))
        chosen = clean_optional_id(data.get("owner_id"), "owner_id", errors)
        if chosen is not None:
            assigned = await assignment_for(
                session, principal, CRM_TICKET_WRITE, chosen, errors, default_to_actor=False
            )
            owner_id, team_id = assigned.owner_id, assigned.team_id or team_id
    if errors:
        raise ValidationFailed(errors)
    if owner_id is None:
        pick = await pick_assignee(
            session, channel=channel, region=account.region if account else None, team_id=team_id
        )
        owner_id, team_id = pick.owner_id, pick.team_id
    now = utcnow()
    async with audited(session, "crm.ticket_opened"):
        ticket = Ticket(
            number=await next_number(session, "ticket", now.year),
            subject=subject,
            description=description,
            account_id=account.id if account else None,
            contact_id=contact.id if contact else None,
            sales_order_id=order_id,
            product_id=product_id,
            requester_email=requester,
            channel=channel,
            category=category,
            priority=priority,
            status="new",
            owner_id=owner_id,
            team_id=team_id,
            email_thread_id=email_message_id or new_message_id("ticket"),
            created_at=now,
            updated_at=now,
        )
        await apply_policy(session, ticket, now)
        session.add(ticket)
    await publish(
        session,
        events.TICKET_CREATED,
        {"ticket_id": ticket.id, "number": ticket.number, "channel": channel, "owner_id": owner_id},
    )
    if owner_id is not None:
        await announce_assignment(session, ticket, actor_id=principal.id if staff and principal else None)
    return ticket


async def announce_assignment(session: AsyncSession, ticket: Ticket, *, actor_id: int | None) -> None:
    """Tell the new assignee (not when they assigned it to themselves) and publish the event."""
    assert ticket.owner_id is not None
    await publish(
        session,
        events.TICKET_ASSIGNED,
        {"ticket_id": ticket.id, "number": ticket.number, "owner_id": ticket.owner_id},
    )
    await tell(
        session,
        ticket.owner_id,
        TICKET_ASSIGNED,
        lazy("{number} is assigned to you: {subject}"),
        ticket,
        actor_id=actor_id,
        body=ticket.description,
    )


# --- the customer's side of the conversation -------------------------------------------------


async def add_customer_message(
    session: AsyncSession,
    ticket: Ticket,
    body: str,
    *,
    user_id: int | None = None,
    email: str | None = None,
    email_message_id: str | None = None,
) -> TicketMessage:
    """The customer wrote (portal or e-mail): a pending or resolved ticket is open again, and the
    assignee hears about it. A closed ticket takes no more messages (``TicketClosed``)."""
    errors: list[FieldError] = []
    text = clean_long_text(body, "body", errors, max_len=BODY_MAX)
    if not text and not errors:
        errors.append(FieldError("body", "This field is required."))
    if errors:
        raise ValidationFailed(errors)
    if ticket.status == "closed":
        raise TicketClosed()
    now = utcnow()
    async with audited(session, "crm.ticket_customer_replied"):
        message = TicketMessage(
            ticket_id=ticket.id,
            author_kind="customer",
            author_user_id=user_id,
            author_email=email,
            body=text,
            is_internal=False,
            email_message_id=email_message_id,
            created_at=now,
        )
        session.add(message)
        if ticket.status in ("pending", "resolved"):
            ticket.status = "open"
            ticket.resolved_at = None
        ticket.updated_at = now
    await tell(
        session,
        ticket.owner_id,
        TICKET_CUSTOMER_REPLIED,
        lazy("The customer replied on {number}: {subject}"),
        ticket,
        body=text,
    )
    return message
