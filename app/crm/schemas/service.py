"""API representations and request bodies: service tickets and inbound e-mail (CRM-10).

Bodies forbid unknown fields and carry their shapes (lengths, enumerations), so a malformed
request is a 400 before any service runs; the ticket rules (an account the client may see, a
contact of that account, an owner within reach, a closed ticket taking no more changes) answer
422/409 from app/crm/services — the same messages the service portal shows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from app.crm import models

Priority = Literal["low", "normal", "high", "urgent"]
Status = Literal["new", "open", "pending", "resolved", "closed"]
AgentStatus = Literal["open", "pending", "resolved", "closed"]
Channel = Literal["agent", "customer_portal", "email", "api", "phone"]
AuthorKind = Literal["agent", "customer", "system"]
# Required by the service (422 with a field error), not the schema: an id route answers 404 for
# a record the caller cannot see before it judges the body.
Body = Annotated[str, Meta(max_length=20_000, description="Required; plain text.")]


class TicketMessage(Struct):
    id: int
    author_kind: AuthorKind
    author_user_id: int | None
    author_email: str | None
    body: str
    internal: Annotated[bool, Meta(description="An internal note: never shown or mailed to the customer.")]
    email_message_id: str | None
    created_at: datetime


class Ticket(Struct):
    id: int
    number: Annotated[str, Meta(description='The ticket number customers quote, e.g. "T-000123".')]
    subject: str
    description: str
    status: Status
    priority: Priority
    channel: Channel
    category: str | None
    account_id: int | None
    contact_id: int | None
    requester_email: str | None
    sales_order_id: int | None
    product_id: int | None
    owner_id: int | None
    team_id: int | None
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    first_responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    response_breached: bool
    resolution_breached: bool
    escalation_level: int
    created_at: datetime
    updated_at: datetime


class TicketDetail(Ticket):
    messages: Annotated[
        list[TicketMessage], Meta(description="The whole conversation, internal notes included.")
    ]


class TicketPage(Struct):
    items: list[Ticket]
    next_cursor: str | None


class TicketCreate(Struct, forbid_unknown_fields=True):
    """Open a ticket. Without ``owner_id`` the assignment rules (or the team's rotation) choose."""

    subject: Annotated[str, Meta(min_length=1, max_length=200)]
    description: Annotated[str, Meta(max_length=20_000)] = ""
    priority: Priority = "normal"
    category: Annotated[str, Meta(max_length=80)] | None = None
    account_id: int | None = None
    contact_id: int | None = None
    requester_email: Annotated[str, Meta(max_length=254)] | None = None
    sales_order_id: int | None = None
    product_id: int | None = None
    owner_id: int | None = None
    team_id: int | None = None


class TicketUpdate(Struct, forbid_unknown_fields=True):
    """A partial update: only the fields present change; ``"owner_id": null`` unassigns."""

    priority: Priority | UnsetType = UNSET
    status: AgentStatus | UnsetType = UNSET
    owner_id: int | UnsetType | None = UNSET


class MessageCreate(Struct, forbid_unknown_fields=True):
    """An agent's reply (mailed to the customer) or, with ``internal``, a note for colleagues."""

    body: Body = ""
    internal: bool = False
    status: Annotated[AgentStatus | None, Meta(description="Move the ticket on with the reply.")] = None


class InboundEmail(Struct, forbid_unknown_fields=True, rename={"sender": "from"}):
    """A received message in JSON form (or send the raw message as ``message/rfc822``)."""

    sender: Annotated[str, Meta(min_length=3, max_length=500, description='"Name <address>" or an address.')]
    subject: Annotated[str, Meta(max_length=2000)] = ""
    text: Annotated[str, Meta(max_length=1_000_000)] = ""
    to: Annotated[str, Meta(max_length=2000)] = ""
    message_id: Annotated[str, Meta(max_length=300)] | None = None
    in_reply_to: Annotated[str, Meta(max_length=5000)] | None = None


class InboundResult(Struct):
    ticket_id: int
    number: str
    message_id: Annotated[
        int | None, Meta(description="The appended message; null when the mail opened the ticket.")
    ]
    outcome: Annotated[
        Literal["created", "appended", "duplicate"],
        Meta(description="A new ticket, a reply appended to one, or a message already received."),
    ]


def message_of(m: models.TicketMessage) -> TicketMessage:
    return TicketMessage(
        id=m.id,
        author_kind=m.author_kind,  # type: ignore[arg-type]  # checked by the table's values
        author_user_id=m.author_user_id,
        author_email=m.author_email,
        body=m.body,
        internal=m.is_internal,
        email_message_id=m.email_message_id,
        created_at=m.created_at,
    )


def _fields(t: models.Ticket) -> dict[str, object]:
    return {
        "id": t.id,
        "number": t.number,
        "subject": t.subject,
        "description": t.description,
        "status": t.status,
        "priority": t.priority,
        "channel": t.channel,
        "category": t.category,
        "account_id": t.account_id,
        "contact_id": t.contact_id,
        "requester_email": t.requester_email,
        "sales_order_id": t.sales_order_id,
        "product_id": t.product_id,
        "owner_id": t.owner_id,
        "team_id": t.team_id,
        "first_response_due_at": t.first_response_due_at,
        "resolution_due_at": t.resolution_due_at,
        "first_responded_at": t.first_responded_at,
        "resolved_at": t.resolved_at,
        "closed_at": t.closed_at,
        "response_breached": t.response_breached,
        "resolution_breached": t.resolution_breached,
        "escalation_level": t.escalation_level,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
    }


def ticket_of(t: models.Ticket) -> Ticket:
    return Ticket(**_fields(t))  # type: ignore[arg-type]


def ticket_detail_of(t: models.Ticket, messages: list[models.TicketMessage]) -> TicketDetail:
    return TicketDetail(**_fields(t), messages=[message_of(m) for m in messages])  # type: ignore[arg-type]
