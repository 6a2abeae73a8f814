"""service: outbox event handlers — agents' replies mailed to customers, surveys after closing.

Both run in the workers (mail never leaves from a request). They are idempotent the usual way
(workers/runtime.py records the event as applied in the handler's transaction), and what they
mail has a stable Message-ID — the reply's own, stored when the agent wrote it; the survey's
from the event — so a retried send is recognisably the same message.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm import events
from app.crm.models import Contact, Ticket, TicketMessage
from app.crm.services.surveys import create_survey, survey_path
from app.crm.services.ticket_notices import customer_locale
from app.kernel import context, mail
from app.kernel.db import utcnow
from app.kernel.events import Event, subscribe
from app.kernel.logging import get_logger
from app.security.models import User
from app.settings import get_settings

log = get_logger("crm.service.mail")


async def _recipient(session: AsyncSession, ticket: Ticket) -> tuple[str | None, str]:
    """The customer's address and name: the contact's, else the address the ticket came from."""
    if ticket.contact_id is not None:
        row = (
            await session.execute(
                select(Contact.email, Contact.full_name).where(Contact.id == ticket.contact_id)
            )
        ).first()
        if row is not None and row.email:
            return row.email, row.full_name
    return ticket.requester_email, ""


async def _thread_headers(session: AsyncSession, ticket: Ticket, message: TicketMessage) -> dict[str, str]:
    """In-Reply-To the customer's latest mail before this reply (else the thread's first message)."""
    latest = await session.scalar(
        select(TicketMessage.email_message_id)
        .where(
            TicketMessage.ticket_id == ticket.id,
            TicketMessage.author_kind == "customer",
            TicketMessage.email_message_id.is_not(None),
            TicketMessage.id < message.id,
        )
        .order_by(TicketMessage.id.desc())
        .limit(1)
    )
    root = ticket.email_thread_id
    parent = latest or root
    if parent is None:
        return {}
    references = " ".join(dict.fromkeys(r for r in (root, latest) if r))
    return {"In-Reply-To": parent, "References": references}


@subscribe(events.TICKET_REPLIED)
async def mail_agent_reply(event: Event, session: AsyncSession) -> None:
    tenant = context.current_tenant()
    if tenant is None or tenant.status != "active":
        log.info("no mail: the organisation is not active")
        return
    message = await session.get(TicketMessage, int(event.payload["message_id"]))
    if message is None or message.is_internal or message.email_message_id is None:
        log.info("no mail: not a reply to the customer", message_id=event.payload["message_id"])
        return
    ticket = await session.get(Ticket, message.ticket_id)
    assert ticket is not None  # messages cascade with their ticket
    to, name = await _recipient(session, ticket)
    if not to:
        log.info("no mail: the ticket has no customer address", ticket_id=ticket.id)
        return
    agent = await session.get(User, message.author_user_id) if message.author_user_id else None
    rendered = mail.render(
        "ticket_reply",
        await customer_locale(session, ticket.account_id, ticket.contact_id),
        number=ticket.number,
        subject=ticket.subject,
        body=message.body,
        customer_name=name,
        agent_name=agent.full_name if agent else "",
        tenant_name=tenant.name,
    )
    await mail.send(
        to,
        rendered,
        message_id=message.email_message_id,
        headers=await _thread_headers(session, ticket, message),
    )
    log.info("ticket reply mailed", ticket_id=ticket.id, message_id=message.id)


@subscribe(events.TICKET_CLOSED)
async def send_satisfaction_survey(event: Event, session: AsyncSession) -> None:
    """Create the closed ticket's survey and mail its link (the portal lists it either way)."""
    ticket = await session.get(Ticket, int(event.payload["ticket_id"]))
    if ticket is None or ticket.status != "closed":
        log.info("no survey: the ticket is not closed", ticket_id=event.payload["ticket_id"])
        return
    survey = await create_survey(session, ticket, seed=str(event.event_id))
    if survey is None:
        log.info("no survey: the ticket already has one", ticket_id=ticket.id)
        return
    tenant = context.current_tenant()
    if not survey.email or tenant is None or tenant.status != "active":
        log.info("survey not mailed: no address or the organisation is not active", ticket_id=ticket.id)
        return
    to, name = await _recipient(session, ticket)
    rendered = mail.render(
        "survey",
        await customer_locale(session, ticket.account_id, ticket.contact_id),
        number=ticket.number,
        subject=ticket.subject,
        customer_name=name if to == survey.email else "",
        link=f"{get_settings().tenant_origin(tenant.slug)}{survey_path(survey)}",
        tenant_name=tenant.name,
    )
    await mail.send(
        survey.email, rendered, message_id=f"<{event.event_id}.survey@{get_settings().base_domain}>"
    )
    survey.sent_at = utcnow()
    log.info("survey mailed", ticket_id=ticket.id, survey_id=survey.id)
