"""Inbound e-mail (CRM-10): a mail gateway posts what customers send to the support address.

    mail = parse_message(raw_bytes)                      # RFC 822, or from_fields({...}) for JSON
    result = await receive_email(session, mail)          # a reply, a new ticket, or a duplicate

* A **reply** — In-Reply-To/References naming a ticket's thread or one of our replies' Message-IDs,
  or ``[T-000123]`` in the subject *from someone the ticket belongs to* — is appended to that
  ticket as the customer's message (quoted history cut off). A reply to a closed ticket opens a
  follow-up ticket instead.
* Anything else opens a **new ticket**, matched to a contact by the sender's address (else the
  address is kept as ``requester_email``).
* The Message-ID makes it **idempotent**: a gateway retry finds the message already stored and
  creates nothing. Concurrent deliveries of one message queue on an advisory lock on its id.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from sqlalchemy import func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, Contact, Ticket, TicketMessage
from app.crm.services.fields import clean_email
from app.crm.services.tickets import BODY_MAX, SUBJECT_MAX, add_customer_message, open_ticket
from app.kernel import context, i18n
from app.kernel.audit import audited
from app.kernel.db import utcnow
from app.kernel.errors import FieldError, ValidationFailed
from app.kernel.i18n import lazy

_MSGID_RE = re.compile(r"<[^<>\s]{1,298}>")
_NUMBER_RE = re.compile(r"\[(T-\d{6,})\]")
_QUOTE_MARKERS = [
    re.compile(r"^\s*On .{4,200} wrote:\s*$"),
    re.compile(r"^\s*-{2,}\s*(Original Message|原始邮件|原始郵件)\s*-{2,}", re.IGNORECASE),
    re.compile(r"^\s*在.{2,200}(写道|寫道)\s*[:：]\s*$"),
    re.compile(r"^\s*_{20,}\s*$"),  # Outlook's line above the quoted header block
]
_BLOCK_TAGS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "hr"}


@dataclass(frozen=True)
class InboundMail:
    sender: str
    subject: str
    text: str
    message_id: str | None = None
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    to: str = ""


@dataclass(frozen=True)
class Received:
    ticket: Ticket
    message: TicketMessage | None  # None when the mail opened the ticket
    created_ticket: bool
    duplicate: bool


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def message_ids(value: str | None) -> list[str]:
    return _MSGID_RE.findall(value or "")


def parse_message(raw: bytes) -> InboundMail:
    """An RFC 822 message as the gateway received it; text/plain preferred, else HTML as text."""
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    body = msg.get_body(preferencelist=("plain", "html"))
    content = ""
    if body is not None:
        try:
            content = str(body.get_content())
        except (LookupError, UnicodeError):
            content = body.get_payload(decode=True).decode("utf-8", "replace")  # type: ignore[union-attr]
        if body.get_content_type() == "text/html":
            content = html_to_text(content)
    addresses = getaddresses([str(msg.get("From", ""))])
    ids = message_ids(str(msg.get("Message-ID", "")))
    return InboundMail(
        sender=addresses[0][1] if addresses else "",
        subject=str(msg.get("Subject", "")),
        text=content,
        message_id=ids[0] if ids else None,
        in_reply_to=message_ids(str(msg.get("In-Reply-To", ""))),
        references=message_ids(str(msg.get("References", ""))),
        to=str(msg.get("To", "")),
    )


def from_fields(
    *, sender: str, subject: str, text: str, message_id: str | None, in_reply_to: str | None, to: str = ""
) -> InboundMail:
    """The gateway's JSON form of a message."""
    ids = message_ids(message_id)
    return InboundMail(
        sender=parseaddr(sender)[1],
        subject=subject,
        text=text,
        message_id=ids[0] if ids else None,
        in_reply_to=message_ids(in_reply_to),
        to=to,
    )


def strip_quoted(body: str) -> str:
    """The new part of a reply: everything above the quoted history ("On … wrote:", "> …")."""
    lines = body.replace("\r\n", "\n").split("\n")
    for i, line in enumerate(lines):
        if any(m.match(line) for m in _QUOTE_MARKERS):
            lines = lines[:i]
            break
    while lines and (lines[-1].startswith(">") or not lines[-1].strip()):
        lines.pop()
    new = "\n".join(lines).strip()
    return new or body.strip()


def _fallback_id(mail: InboundMail) -> str:
    """Mail without a Message-ID still dedupes: the same sender, subject and text are one message."""
    digest = hashlib.sha256(f"{mail.sender}\0{mail.subject}\0{mail.text}".encode()).hexdigest()[:40]
    return f"<{digest}@inbound.tessera>"


async def _duplicate(session: AsyncSession, message_id: str) -> Received | None:
    row = (
        await session.execute(
            select(TicketMessage, Ticket)
            .join(Ticket, Ticket.id == TicketMessage.ticket_id)
            .where(TicketMessage.email_message_id == message_id)
        )
    ).first()
    if row is not None:
        return Received(row[1], row[0], created_ticket=False, duplicate=True)
    ticket = (
        await session.execute(select(Ticket).where(Ticket.email_thread_id == message_id).limit(1))
    ).scalar_one_or_none()
    return Received(ticket, None, created_ticket=False, duplicate=True) if ticket else None


async def _belongs_to(session: AsyncSession, ticket: Ticket, sender: str) -> bool:
    if ticket.requester_email and ticket.requester_email.lower() == sender:
        return True
    if ticket.account_id is None:
        return False
    found = await session.scalar(
        select(Contact.id).where(Contact.account_id == ticket.account_id, func.lower(Contact.email) == sender)
    )
    return found is not None


async def _thread_of(session: AsyncSession, mail: InboundMail, sender: str) -> Ticket | None:
    ids = list(dict.fromkeys(mail.in_reply_to + mail.references))
    if ids:
        ticket = (
            await session.execute(
                select(Ticket)
                .outerjoin(TicketMessage, TicketMessage.ticket_id == Ticket.id)
                .where(or_(Ticket.email_thread_id.in_(ids), TicketMessage.email_message_id.in_(ids)))
                .order_by(Ticket.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        if ticket is not None:
            return ticket
    if m := _NUMBER_RE.search(mail.subject):
        ticket = (await session.execute(select(Ticket).where(Ticket.number == m[1]))).scalar_one_or_none()
        # The number is printed in every subject, so it proves nothing on its own.
        if ticket is not None and await _belongs_to(session, ticket, sender):
            return ticket
    return None


async def _contact_for(session: AsyncSession, sender: str) -> Contact | None:
    stmt = (
        select(Contact)
        .join(Account, Account.id == Contact.account_id)
        .where(
            func.lower(Contact.email) == sender,
            Contact.archived_at.is_(None),
            Account.merged_into_id.is_(None),
        )
        .order_by(Contact.is_primary.desc(), Contact.id)
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


def _tenant_text(msgid: str, **params: object) -> str:
    """Text Tessera writes into a ticket itself, in the organisation's language."""
    tenant = context.current_tenant()
    with i18n.use_locale(tenant.locale if tenant else None):
        return i18n.gettext(msgid, **params)


async def receive_email(session: AsyncSession, mail: InboundMail) -> Received:
    errors: list[FieldError] = []
    sender = clean_email(mail.sender, "from", errors, required=True)
    if errors or sender is None:
        raise ValidationFailed(errors)
    message_id = mail.message_id or _fallback_id(mail)
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"crm.inbound:{message_id}"}
    )
    if (earlier := await _duplicate(session, message_id)) is not None:
        return earlier
    body = mail.text.replace("\r\n", "\n").strip()
    subject = " ".join(mail.subject.split())[:SUBJECT_MAX] or _tenant_text(lazy("(no subject)"))
    ticket = await _thread_of(session, mail, sender)
    if ticket is not None and ticket.status != "closed":
        reply = strip_quoted(body)[:BODY_MAX] or _tenant_text(lazy("(The e-mail had no text.)"))
        user_id = (
            await session.scalar(select(Contact.portal_user_id).where(Contact.id == ticket.contact_id))
            if ticket.contact_id
            else None
        )
        message = await add_customer_message(
            session, ticket, reply, user_id=user_id, email=sender, email_message_id=message_id
        )
        return Received(ticket, message, created_ticket=False, duplicate=False)
    contact = await _contact_for(session, sender)
    new = await open_ticket(
        session,
        None,
        {
            "subject": subject,
            "description": body[:BODY_MAX],
            "requester_email": None if contact else sender,
        },
        channel="email",
        account_id=contact.account_id if contact else None,
        contact_id=contact.id if contact else None,
        email_message_id=message_id,
    )
    if ticket is not None:  # the customer answered a closed ticket: say where this one came from
        async with audited(session, "crm.ticket_follow_up"):
            session.add(
                TicketMessage(
                    ticket_id=new.id,
                    author_kind="system",
                    body=_tenant_text(lazy("Follow-up to the closed ticket {number}."), number=ticket.number),
                    is_internal=True,
                    created_at=utcnow(),
                )
            )
    return Received(new, None, created_ticket=True, duplicate=False)
