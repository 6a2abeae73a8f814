"""Repair and service records on a ticket (CRM-10): what was done, by whom, labour and parts.

    record = await add_service_record(session, principal, ticket, {
        "summary": "更换定影器", "labour_hours": "1.5", "labour_rate": "180",
        "parts": [{"product_id": 12, "quantity": "1", "unit_cost": "420.00"},
                  {"description": "螺丝 M3", "quantity": "4", "unit_cost": "0.35"}]})
    record.total   # Decimal("691.40"): labour 270.00 + parts 421.40

Amounts follow CRM's one rounding rule (``fields.cents``: half up, per line): each part's amount
is quantity × unit cost rounded to the cent, labour is hours × rate rounded, the totals are sums.
Records are read through their ticket, so they follow the ticket's record rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Product, ServicePart, ServiceRecord, Ticket
from app.crm.services.fields import (
    cents,
    clean_decimal,
    clean_long_text,
    clean_optional_id,
    clean_optional_text,
    clean_text,
)
from app.crm.services.ticket_workflow import get_writable_ticket
from app.crm.services.tickets import TicketClosed, get_ticket
from app.kernel.audit import audited
from app.kernel.db import utcnow
from app.kernel.errors import FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.security.models import User
from app.security.principal import Principal

MAX_PARTS = 50
ZERO = Decimal("0")


@dataclass(frozen=True, slots=True)
class CleanPart:
    product_id: int | None
    description: str
    quantity: Decimal
    unit_cost: Decimal

    @property
    def amount(self) -> Decimal:
        return cents(self.quantity * self.unit_cost)


async def get_service_record(
    session: AsyncSession, principal: Principal, record_id: int
) -> tuple[ServiceRecord, Ticket]:
    """The record and its ticket, if the principal may see the ticket (else NotFound)."""
    record = await session.get(ServiceRecord, record_id)
    if record is None:
        raise NotFound(lazy("service record"))
    try:
        ticket = await get_ticket(session, principal, record.ticket_id)
    except NotFound:
        raise NotFound(lazy("service record")) from None
    return record, ticket


async def records_of(session: AsyncSession, ticket_id: int) -> list[ServiceRecord]:
    stmt = (
        select(ServiceRecord)
        .where(ServiceRecord.ticket_id == ticket_id)
        .order_by(ServiceRecord.performed_at, ServiceRecord.id)
    )
    return list((await session.execute(stmt)).scalars())


async def parts_of(session: AsyncSession, record_ids: Sequence[int]) -> dict[int, list[ServicePart]]:
    out: dict[int, list[ServicePart]] = {rid: [] for rid in record_ids}
    if record_ids:
        rows = await session.execute(
            select(ServicePart).where(ServicePart.record_id.in_(record_ids)).order_by(ServicePart.id)
        )
        for part in rows.scalars():
            out[part.record_id].append(part)
    return out


def _clean_performed_at(value: object, tz: str, errors: list[FieldError]) -> datetime:
    if value is None or (isinstance(value, str) and not value.strip()):
        return utcnow()
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            errors.append(FieldError("performed_at", "Enter a date and time as YYYY-MM-DD HH:MM."))
            return utcnow()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tz))
    if moment > utcnow():
        errors.append(FieldError("performed_at", "The work cannot be in the future."))
    return moment


async def _clean_parts(session: AsyncSession, value: object, errors: list[FieldError]) -> list[CleanPart]:
    if value in (None, ""):
        return []
    if not isinstance(value, list | tuple):
        errors.append(FieldError("parts", "Parts are a list of lines."))
        return []
    if len(value) > MAX_PARTS:
        errors.append(FieldError("parts", "Use at most {n} parts.", {"n": MAX_PARTS}))
        return []
    rows_in = [raw if isinstance(raw, Mapping) else None for raw in value]
    product_ids = [
        clean_optional_id(raw.get("product_id"), f"parts[{i}].product_id", errors) if raw else None
        for i, raw in enumerate(rows_in)
    ]
    wanted = {pid for pid in product_ids if pid is not None}
    products: dict[int, Product] = {}
    if wanted:
        found = await session.execute(select(Product).where(Product.id.in_(wanted)))
        products = {p.id: p for p in found.scalars()}
    parts = []
    for i, (raw, product_id) in enumerate(zip(rows_in, product_ids, strict=True)):
        key = f"parts[{i}]"
        if raw is None:
            errors.append(FieldError(key, "Each part needs a description or product, a quantity and a cost."))
            continue
        product = products.get(product_id) if product_id is not None else None
        product_field, description_field = f"{key}.product_id", f"{key}.description"
        if product_id is not None and (product is None or not product.active):
            errors.append(FieldError(product_field, "Choose a product from the catalogue."))
        description = clean_optional_text(raw.get("description"), description_field, errors, max_len=200)
        if not description and product is not None:
            description = f"{product.sku} {product.name}"[:200]
        if not description and product_id is None:
            errors.append(FieldError(description_field, "Describe the part or choose a product."))
        quantity = clean_decimal(raw.get("quantity"), f"{key}.quantity", errors, places=3, positive=True)
        default_cost = product.list_price if product is not None else None
        unit_cost = clean_decimal(
            raw.get("unit_cost"), f"{key}.unit_cost", errors, places=4, default=default_cost
        )
        parts.append(CleanPart(product_id, description or "", quantity, unit_cost))
    return parts


async def _clean_technician(
    session: AsyncSession, principal: Principal, value: object, errors: list[FieldError]
) -> int | None:
    technician_id = clean_optional_id(value, "technician_id", errors)
    if technician_id is None:
        return principal.id if principal.kind == "user" else None
    user = await session.get(User, technician_id)
    if user is None or not user.is_active or user.is_external:
        errors.append(FieldError("technician_id", "Choose an active staff member."))
    return technician_id


async def _clean(
    session: AsyncSession, principal: Principal, data: Mapping[str, Any], tz: str
) -> tuple[dict[str, Any], list[CleanPart]]:
    errors: list[FieldError] = []
    values: dict[str, Any] = {
        "summary": clean_text(data.get("summary"), "summary", errors, required=True, max_len=200),
        "work_done": clean_long_text(data.get("work_done"), "work_done", errors),
        "performed_at": _clean_performed_at(data.get("performed_at"), tz, errors),
        "technician_id": await _clean_technician(session, principal, data.get("technician_id"), errors),
        "labour_hours": clean_decimal(
            data.get("labour_hours"), "labour_hours", errors, places=3, default=ZERO
        ),
        "labour_rate": clean_decimal(data.get("labour_rate"), "labour_rate", errors, places=4, default=ZERO),
    }
    parts = await _clean_parts(session, data.get("parts"), errors)
    if errors:
        raise ValidationFailed(errors)
    labour_total = cents(values["labour_hours"] * values["labour_rate"])
    parts_total = sum((p.amount for p in parts), ZERO)
    values.update(labour_total=labour_total, parts_total=parts_total, total=labour_total + parts_total)
    return values, parts


def _add_parts(session: AsyncSession, record_id: int, parts: list[CleanPart]) -> None:
    session.add_all(
        ServicePart(
            record_id=record_id,
            product_id=p.product_id,
            description=p.description,
            quantity=p.quantity,
            unit_cost=p.unit_cost,
            amount=p.amount,
        )
        for p in parts
    )


async def add_service_record(
    session: AsyncSession, principal: Principal, ticket_id: int, data: Mapping[str, Any], *, tz: str = "UTC"
) -> ServiceRecord:
    ticket = await get_writable_ticket(session, principal, ticket_id)
    values, parts = await _clean(session, principal, data, tz)
    if ticket.status == "closed":
        raise TicketClosed()
    async with audited(session, "crm.service_record_added"):
        record = ServiceRecord(ticket_id=ticket.id, **values)
        session.add(record)
        await session.flush()
        _add_parts(session, record.id, parts)
        ticket.updated_at = utcnow()
    return record


async def update_service_record(
    session: AsyncSession, principal: Principal, record_id: int, data: Mapping[str, Any], *, tz: str = "UTC"
) -> ServiceRecord:
    """Replace the record's fields and parts with ``data`` (the form sends the whole record)."""
    record, ticket = await get_service_record(session, principal, record_id)
    await get_writable_ticket(session, principal, ticket.id)
    values, parts = await _clean(session, principal, data, tz)
    if ticket.status == "closed":
        raise TicketClosed()
    async with audited(session, "crm.service_record_updated"):
        for key, value in values.items():
            setattr(record, key, value)
        for old in (await parts_of(session, [record.id]))[record.id]:
            await session.delete(old)
        _add_parts(session, record.id, parts)
    return record
