"""Service › Repair records: what a technician did for a ticket — labour hours × rate and the
parts used (a catalogue product or free text), with totals computed by the service."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import ServiceRecord, Ticket
from app.crm.services import service_records, ticket_choices, ticket_workflow
from app.crm.services.opportunities import base_currency
from app.kernel import i18n
from app.kernel.errors import DomainError
from app.kernel.web import DbSession
from app.security.permissions import CRM_TICKET_READ, CRM_TICKET_WRITE
from app.security.record_rules import can_write
from app.security.services.users import active_staff
from portals.forms import as_list, viewer_tz
from portals.service.common import BASE, RECORDS
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

BLANK_ROWS = 3


def parts_from_form(form: dict[str, Any]) -> list[dict[str, Any]]:
    """The parts table's columns (repeated fields) as one dict per line; empty lines are skipped."""
    columns = {
        k: as_list(form.get(f"part_{k}[]")) for k in ("product_id", "description", "quantity", "unit_cost")
    }
    count = max((len(v) for v in columns.values()), default=0)
    lines = []
    for i in range(count):
        line = {k: (v[i] if i < len(v) else "") for k, v in columns.items()}
        if any(str(x).strip() for x in line.values()):
            lines.append(line)
    return lines


def _form_values(record: ServiceRecord, parts: list[Any], tz: str) -> dict[str, Any]:
    return {
        "summary": record.summary,
        "work_done": record.work_done,
        "performed_at": record.performed_at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M"),
        "technician_id": record.technician_id or "",
        "labour_hours": f"{record.labour_hours.normalize():f}",
        "labour_rate": f"{record.labour_rate.normalize():f}",
        "parts": [
            {
                "product_id": p.product_id or "",
                "description": p.description,
                "quantity": f"{p.quantity.normalize():f}",
                "unit_cost": f"{p.unit_cost.normalize():f}",
            }
            for p in parts
        ],
    }


async def _form(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    ticket: Ticket,
    form: FormState,
    *,
    record: ServiceRecord | None = None,
    status: int = 200,
) -> Response[Any]:
    lines = list(form.value("parts", []))
    return render(
        request,
        "service/record_form.html",
        status=status,
        ticket=ticket,
        record=record,
        form=form,
        lines=lines + [{}] * max(1, BLANK_ROWS - len(lines)),
        product_options=[
            (p.id, f"{p.sku} · {p.name}", f"{p.list_price.normalize():f}")
            for p in await ticket_choices.active_products(db)
        ],
        technician_options=[(u.id, u.full_name) for u in await active_staff(db)],
        currency=base_currency(),
        can_write=can_write(ticket, principal(request), CRM_TICKET_WRITE)
        and principal(request).can(CRM_TICKET_WRITE),
        action=f"{RECORDS}/{record.id}" if record else f"{BASE}/{ticket.id}/records",
    )


def _submitted(form: dict[str, Any]) -> dict[str, Any]:
    return {**form, "parts": parts_from_form(form)}


@get(f"{BASE}/{{ticket_id:int}}/records/new", opt=perm(CRM_TICKET_WRITE, resource="crm_tickets"))
async def record_new(
    request: Request[Any, Any, Any], db: DbSession, ticket_id: FromPath[int]
) -> Response[Any]:
    ticket = await ticket_workflow.get_writable_ticket(db, principal(request), ticket_id)
    now = datetime.now(ZoneInfo(viewer_tz(request))).strftime("%Y-%m-%dT%H:%M")
    values = {"performed_at": now, "technician_id": principal(request).id, "labour_hours": "0", "parts": []}
    return await _form(request, db, ticket, FormState(values))


@post(f"{BASE}/{{ticket_id:int}}/records", opt=perm(CRM_TICKET_WRITE, resource="crm_tickets"))
async def record_create(
    request: Request[Any, Any, Any], db: DbSession, ticket_id: FromPath[int]
) -> Response[Any]:
    ticket = await ticket_workflow.get_writable_ticket(db, principal(request), ticket_id)
    data = _submitted(await form_data(request))
    try:
        await service_records.add_service_record(
            db, principal(request), ticket.id, data, tz=viewer_tz(request)
        )
    except DomainError as exc:
        await db.rollback()
        ticket = await ticket_workflow.get_writable_ticket(db, principal(request), ticket_id)
        return await _form(request, db, ticket, FormState(data, exc), status=422)
    flash(request, "success", i18n.gettext("The repair record on {number} is saved.", number=ticket.number))
    return redirect(f"{BASE}/{ticket.id}#records", request)


@get(f"{RECORDS}/{{record_id:int}}", opt=perm(CRM_TICKET_READ, resource="crm_service_records"))
async def record_detail(
    request: Request[Any, Any, Any], db: DbSession, record_id: FromPath[int]
) -> Response[Any]:
    record, ticket = await service_records.get_service_record(db, principal(request), record_id)
    parts = (await service_records.parts_of(db, [record.id]))[record.id]
    return await _form(
        request, db, ticket, FormState(_form_values(record, parts, viewer_tz(request))), record=record
    )


@post(f"{RECORDS}/{{record_id:int}}", opt=perm(CRM_TICKET_WRITE, resource="crm_service_records"))
async def record_save(
    request: Request[Any, Any, Any], db: DbSession, record_id: FromPath[int]
) -> Response[Any]:
    record, ticket = await service_records.get_service_record(db, principal(request), record_id)
    await ticket_workflow.get_writable_ticket(db, principal(request), ticket.id)  # 403 before the form
    data = _submitted(await form_data(request))
    try:
        await service_records.update_service_record(
            db, principal(request), record.id, data, tz=viewer_tz(request)
        )
    except DomainError as exc:
        await db.rollback()
        record, ticket = await service_records.get_service_record(db, principal(request), record_id)
        return await _form(request, db, ticket, FormState(data, exc), record=record, status=exc.status)
    flash(request, "success", i18n.gettext("The repair record on {number} is saved.", number=ticket.number))
    return redirect(f"{BASE}/{ticket.id}#records", request)


ROUTES = [record_new, record_create, record_detail, record_save]
