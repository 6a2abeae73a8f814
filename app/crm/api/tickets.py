"""Tickets under /api/v1/crm, and the inbound e-mail endpoint (CRM-10).

API clients are staff acting with record scope ``all``: they read whole conversations, internal
notes included. A ticket created without ``owner_id`` goes through the ticket assignment rules,
exactly as one from the customer portal or e-mail. Every ``{id}`` route loads the ticket first,
so a hidden or foreign id is a 404 before the body is judged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import ClientException, HTTPException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody, QueryParameter

from app.crm.models import Ticket
from app.crm.schemas import service as schemas
from app.crm.services import inbound_email, ticket_workflow, tickets
from app.kernel.api import Cursor, IdempotencyKey, Limit, StrictBody, as_utc, create_once, operation
from app.kernel.pagination import DEFAULT_LIMIT, Key, Ordering, fetch_page
from app.kernel.web import DbSession, header
from app.security.permissions import CRM_TICKET_READ, CRM_TICKET_WRITE
from app.security.principal import Principal

CurrentPrincipal = NamedDependency[Principal]

# Most recently changed first: with `updated_since`, a sync client reads what changed.
TICKETS = Ordering("crm_tickets", (Key(Ticket.updated_at, datetime), Key(Ticket.id, int)), descending=True)


@get(
    "/tickets",
    summary="List tickets",
    description="Most recently changed first. Filters combine; `owner=none` lists unassigned tickets.",
    tags=["tickets"],
    **operation(CRM_TICKET_READ),
)
async def list_tickets(
    db: DbSession,
    principal: CurrentPrincipal,
    status: Annotated[schemas.Status | None, QueryParameter()] = None,
    priority: Annotated[schemas.Priority | None, QueryParameter()] = None,
    owner: Annotated[
        str | None,
        QueryParameter(pattern=r"^(\d{1,18}|none)$", description="A user id, or `none` for unassigned."),
    ] = None,
    account: Annotated[int | None, QueryParameter(ge=1, description="An account id.")] = None,
    updated_since: Annotated[
        datetime | None, QueryParameter(description="Changed at or after (ISO 8601; UTC if no offset).")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> schemas.TicketPage:
    stmt = tickets.visible_tickets(principal)
    if status is not None:
        stmt = stmt.where(Ticket.status == status)
    if priority is not None:
        stmt = stmt.where(Ticket.priority == priority)
    if owner == "none":
        stmt = stmt.where(Ticket.owner_id.is_(None))
    elif owner is not None:
        stmt = stmt.where(Ticket.owner_id == int(owner))
    if account is not None:
        stmt = stmt.where(Ticket.account_id == account)
    since = as_utc(updated_since)
    if since is not None:
        stmt = stmt.where(Ticket.updated_at >= since)
    page = await fetch_page(db, stmt, TICKETS, limit=limit, cursor=cursor)
    return schemas.TicketPage(items=[schemas.ticket_of(t) for t in page.rows], next_cursor=page.next_cursor)


@get(
    "/tickets/{ticket_id:int}",
    summary="Get a ticket",
    description="With the whole conversation, internal notes included.",
    tags=["tickets"],
    **operation(CRM_TICKET_READ, resource="crm_tickets", problems=[404]),
)
async def get_ticket(
    db: DbSession, principal: CurrentPrincipal, ticket_id: FromPath[int]
) -> schemas.TicketDetail:
    ticket = await tickets.get_ticket(db, principal, ticket_id)
    return schemas.ticket_detail_of(ticket, await tickets.messages_of(db, ticket.id))


@post(
    "/tickets",
    summary="Open a ticket",
    description="Honours `Idempotency-Key`. The SLA deadlines come from the priority's policy; "
    "without `owner_id` the assignment rules choose the agent.",
    tags=["tickets"],
    dto=StrictBody[schemas.TicketCreate],
    return_dto=None,
    **operation(CRM_TICKET_WRITE, problems=[413, 422]),
)
async def create_ticket(
    request: Request[Any, Any, Any],
    db: DbSession,
    principal: CurrentPrincipal,
    data: JSONBody[schemas.TicketCreate],
    idempotency_key: IdempotencyKey = None,
) -> Response[schemas.Ticket]:
    async def create() -> schemas.Ticket:
        values = msgspec.to_builtins(data)
        account_id, contact_id = values.pop("account_id"), values.pop("contact_id")
        ticket = await tickets.open_ticket(
            db, principal, values, channel="api", account_id=account_id, contact_id=contact_id
        )
        return schemas.ticket_of(ticket)

    return await create_once(
        request, db, actor=principal.key, key=idempotency_key, data=data, out=schemas.Ticket, create=create
    )


@patch(
    "/tickets/{ticket_id:int}",
    summary="Change a ticket",
    description="Only the fields sent change: `priority` (re-fixes the SLA deadlines), `status`, "
    "`owner_id`. A closed ticket changes no more (409 `ticket_closed`).",
    tags=["tickets"],
    dto=StrictBody[schemas.TicketUpdate],
    return_dto=None,
    **operation(CRM_TICKET_WRITE, resource="crm_tickets", problems=[404, 409, 413, 422]),
)
async def update_ticket(
    db: DbSession, principal: CurrentPrincipal, ticket_id: FromPath[int], data: JSONBody[schemas.TicketUpdate]
) -> schemas.Ticket:
    ticket = await ticket_workflow.get_writable_ticket(db, principal, ticket_id)
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    return schemas.ticket_of(await ticket_workflow.update_ticket(db, principal, ticket, changes))


@post(
    "/tickets/{ticket_id:int}/messages",
    summary="Reply or add a note",
    description="A reply is e-mailed to the customer (the first one is the ticket's first response); "
    "`internal: true` adds a note only staff see. `status` moves the ticket on at the same time.",
    tags=["tickets"],
    dto=StrictBody[schemas.MessageCreate],
    return_dto=None,
    **operation(CRM_TICKET_WRITE, resource="crm_tickets", problems=[404, 409, 413, 422]),
)
async def add_message(
    db: DbSession,
    principal: CurrentPrincipal,
    ticket_id: FromPath[int],
    data: JSONBody[schemas.MessageCreate],
) -> Response[schemas.TicketMessage]:
    ticket = await ticket_workflow.get_writable_ticket(db, principal, ticket_id)
    message = await ticket_workflow.reply_to_ticket(
        db, principal, ticket, data.body, internal=data.internal, status=data.status
    )
    return Response(schemas.message_of(message), status_code=201)


def _mail_of(request: Request[Any, Any, Any], raw: bytes) -> inbound_email.InboundMail:
    content_type = (header(request.scope, b"content-type") or "").split(";")[0].strip().lower()
    if content_type == "message/rfc822":
        return inbound_email.parse_message(raw)
    if content_type != "application/json":
        raise HTTPException(
            status_code=415,
            detail="Send the raw message as message/rfc822, or its fields as application/json.",
        )
    try:
        body = msgspec.json.decode(raw, type=schemas.InboundEmail, strict=True)
    except msgspec.ValidationError as exc:
        raise ValidationException(
            "The request body does not match the schema.", extra=[{"key": "body", "message": str(exc)}]
        ) from exc
    except msgspec.DecodeError as exc:
        raise ClientException(f"The request body is not valid JSON: {exc}") from exc
    return inbound_email.from_fields(
        sender=body.sender,
        subject=body.subject,
        text=body.text,
        message_id=body.message_id,
        in_reply_to=body.in_reply_to,
        to=body.to,
    )


@post(
    "/inbound-email",
    summary="Receive a customer e-mail",
    description="For mail gateways. The body is the raw message (`Content-Type: message/rfc822`) or "
    "JSON `{from, to, subject, text, message_id, in_reply_to}`. A reply to a ticket (by its thread "
    "headers, or `[T-000123]` in the subject from the ticket's customer) is appended to it; any "
    "other message opens a ticket. The same Message-ID twice creates nothing (`outcome: duplicate`).",
    tags=["tickets"],
    status_code=200,
    **operation(CRM_TICKET_WRITE, problems=[409, 413, 422]),
)
async def receive_email(request: Request[Any, Any, Any], db: DbSession) -> Response[schemas.InboundResult]:
    received = await inbound_email.receive_email(db, _mail_of(request, await request.body()))
    outcome = "duplicate" if received.duplicate else "created" if received.created_ticket else "appended"
    result = schemas.InboundResult(
        ticket_id=received.ticket.id,
        number=received.ticket.number,
        message_id=received.message.id if received.message else None,
        outcome=outcome,  # type: ignore[arg-type]
    )
    return Response(result, status_code=201 if outcome == "created" else 200)


ROUTES: list[HTTPRouteHandler] = [
    list_tickets,
    get_ticket,
    create_ticket,
    update_ticket,
    add_message,
    receive_email,
]
