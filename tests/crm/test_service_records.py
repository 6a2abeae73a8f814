"""Repair and service records (CRM-10): labour and parts with totals rounded per line, product
defaults, bad input refused with nothing written, and the record form in the service portal."""

from __future__ import annotations

import uuid
from datetime import UTC
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.crm.errors import InvalidState
from app.crm.models import Product, ServicePart, ServiceRecord, Ticket
from app.crm.services import service_records, ticket_workflow, tickets
from app.kernel.errors import NotFound, ValidationFailed
from tenants.service import in_tenant
from tests.crm.support import acting_as, table_counts
from tests.helpers import signed_in

TABLES = ("crm_service_records", "crm_service_parts", "audit_log")


def marker() -> str:
    return uuid.uuid4().hex[:10]


def errors_of(exc: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {e.field: e.message.format(**e.params) for e in exc.value.errors}


async def _ticket(tenant, persona: str = "sue") -> Ticket:  # type: ignore[no-untyped-def]
    async with acting_as(tenant, persona) as (s, p):
        return await tickets.open_ticket(
            s, p, {"subject": f"Repair {marker()}", "owner_id": p.id}, channel="agent"
        )


async def _product(tenant, price: str) -> Product:  # type: ignore[no-untyped-def]
    async with in_tenant(tenant.slug) as (s, _):
        product = Product(sku=f"FU-{marker()}", name="Fuser unit", list_price=Decimal(price), currency="CNY")
        s.add(product)
        await s.flush()
        return product


async def test_totals_are_labour_plus_parts_rounded_per_line(acme):
    t = await _ticket(acme)
    fuser = await _product(acme, "420.0050")
    async with acting_as(acme, "sue") as (s, sue):
        record = await service_records.add_service_record(
            s,
            sue,
            t.id,
            {
                "summary": "更换定影器",
                "work_done": "Replaced the fuser.\nTest print OK.",
                "labour_hours": "1.333",
                "labour_rate": "180.0000",
                "parts": [
                    {"product_id": fuser.id, "quantity": "1"},  # cost and description from the product
                    {"description": "Screws M3", "quantity": "3", "unit_cost": "0.3350"},
                ],
            },
        )
        record_id = record.id
    async with acting_as(acme, "sue") as (s, sue):
        stored, ticket = await service_records.get_service_record(s, sue, record_id)
        parts = (await service_records.parts_of(s, [record_id]))[record_id]
    assert ticket.id == t.id
    assert (stored.summary, stored.technician_id) == ("更换定影器", acme.users["sue"])
    assert stored.labour_total == Decimal("239.94")  # 1.333 h × 180 = 239.94
    assert [(p.description, p.quantity, p.unit_cost, p.amount) for p in parts] == [
        (f"{fuser.sku} Fuser unit", Decimal("1.000"), Decimal("420.0050"), Decimal("420.01")),  # half up
        ("Screws M3", Decimal("3.000"), Decimal("0.3350"), Decimal("1.01")),  # 1.005 → 1.01
    ]
    assert (stored.parts_total, stored.total) == (Decimal("421.02"), Decimal("660.96"))


async def test_updating_replaces_the_parts(acme):
    t = await _ticket(acme)
    async with acting_as(acme, "sue") as (s, sue):
        record = await service_records.add_service_record(
            s,
            sue,
            t.id,
            {"summary": "Visit", "parts": [{"description": "Belt", "quantity": "2", "unit_cost": "10"}]},
        )
        await service_records.update_service_record(
            s, sue, record.id, {"summary": "Visit 2", "labour_hours": "2", "labour_rate": "100", "parts": []}
        )
        record_id = record.id
    async with in_tenant(acme.slug) as (s, _):
        stored = await s.get(ServiceRecord, record_id)
        assert (stored.summary, stored.total, stored.parts_total) == (
            "Visit 2",
            Decimal("200.00"),
            Decimal("0.00"),
        )  # type: ignore[union-attr]
        assert (
            list((await s.execute(select(ServicePart).where(ServicePart.record_id == record_id))).scalars())
            == []
        )


async def test_bad_input_writes_nothing(acme):
    t = await _ticket(acme)
    inactive = await _product(acme, "5")
    async with in_tenant(acme.slug) as (s, _):
        (await s.get(Product, inactive.id)).active = False  # type: ignore[union-attr]
    before = await table_counts(acme, *TABLES)
    async with acting_as(acme, "sue") as (s, sue):
        with pytest.raises(ValidationFailed) as exc:
            await service_records.add_service_record(
                s,
                sue,
                t.id,
                {
                    "summary": "",
                    "labour_hours": "-1",
                    "labour_rate": "12.34567",
                    "performed_at": "yesterday",
                    "technician_id": acme.users["carol"],
                    "parts": [
                        {"description": "", "quantity": "1", "unit_cost": "1"},
                        {"description": "Gear", "quantity": "0", "unit_cost": "-2"},
                        {"product_id": inactive.id, "quantity": "abc"},
                        "not a line",
                    ],
                },
            )
    assert errors_of(exc) == {
        "summary": "This field is required.",
        "labour_hours": "Must be at least 0.",
        "labour_rate": "Use at most 4 decimal places.",
        "performed_at": "Enter a date and time as YYYY-MM-DD HH:MM.",
        "technician_id": "Choose an active staff member.",
        "parts[0].description": "Describe the part or choose a product.",
        "parts[1].quantity": "Must be greater than zero.",
        "parts[1].unit_cost": "Must be at least 0.",
        "parts[2].product_id": "Choose a product from the catalogue.",
        "parts[2].quantity": "Enter a number.",
        "parts[3]": "Each part needs a description or product, a quantity and a cost.",
    }
    assert await table_counts(acme, *TABLES) == before


async def test_records_follow_their_tickets_rules_and_closed_tickets_refuse_new_ones(acme):
    t = await _ticket(acme)
    async with acting_as(acme, "sue") as (s, sue):
        record = await service_records.add_service_record(s, sue, t.id, {"summary": "Check"})
        await ticket_workflow.set_status(s, sue, await tickets.get_ticket(s, sue, t.id), "closed")
    async with acting_as(acme, "alice") as (s, alice):
        with pytest.raises(NotFound):
            await service_records.get_service_record(s, alice, record.id)
    async with acting_as(acme, "sue") as (s, sue):
        with pytest.raises(InvalidState) as exc:
            await service_records.add_service_record(s, sue, t.id, {"summary": "Too late"})
        assert exc.value.code == "ticket_closed"


async def test_the_record_form_in_the_portal(app, acme):
    t = await _ticket(acme)
    async with signed_in(app, acme, "sue") as b:
        form = await b.get(f"/service/tickets/{t.id}/records/new")
        assert form.status_code == 200
        assert 'name="part_description[]"' in form.text
        before = await table_counts(acme, *TABLES)
        bad = await b.post(
            f"/service/tickets/{t.id}/records",
            {"summary": "", "labour_hours": "x", "part_description[]": ["Belt"], "part_quantity[]": ["-1"],
             "part_unit_cost[]": ["3"], "part_product_id[]": [""]},
        )  # fmt: skip
        assert bad.status_code == 422
        assert "This field is required." in bad.text
        assert "Enter a number." in bad.text
        assert "Must be greater than zero." in bad.text
        assert await table_counts(acme, *TABLES) == before
        ok = await b.post(
            f"/service/tickets/{t.id}/records",
            {"summary": "Belt swap", "labour_hours": "0.5", "labour_rate": "200",
             "performed_at": "2026-01-05T09:30", "part_description[]": ["Belt", "", ""],
             "part_quantity[]": ["2", "", ""], "part_unit_cost[]": ["12.5", "", ""],
             "part_product_id[]": ["", "", ""]},
        )  # fmt: skip
        assert ok.status_code == 303
        assert ok.headers["location"] == f"/service/tickets/{t.id}#records"
        page = await b.get(f"/service/tickets/{t.id}")
        assert "Belt swap" in page.text
        assert "CN¥125.00" in page.text  # 0.5 h × 200 + 2 × 12.50
    async with in_tenant(acme.slug) as (s, _):
        stored = (await s.execute(select(ServiceRecord).where(ServiceRecord.ticket_id == t.id))).scalar_one()
        assert (stored.labour_total, stored.parts_total, stored.total) == (
            Decimal("100.00"), Decimal("25.00"), Decimal("125.00"),
        )  # fmt: skip
        # Typed in the reader's zone (acme: Asia/Shanghai, UTC+8), stored in UTC.
        assert stored.performed_at.astimezone(UTC).isoformat() == "2026-01-05T01:30:00+00:00"


async def test_editing_a_record_in_the_portal_refuses_bad_input(app, acme):
    t = await _ticket(acme)
    async with acting_as(acme, "sue") as (s, sue):
        record = await service_records.add_service_record(
            s, sue, t.id, {"summary": "First visit", "labour_hours": "1"}
        )
    async with signed_in(app, acme, "sue") as b:
        page = await b.get(f"/service/records/{record.id}")
        assert page.status_code == 200
        assert 'value="First visit"' in page.text
        before = await table_counts(acme, *TABLES)
        r = await b.post(f"/service/records/{record.id}", {"summary": "Second", "labour_rate": "-5"})
        assert r.status_code == 422
        assert "Must be at least 0." in r.text
        assert await table_counts(acme, *TABLES) == before
        ok = await b.post(
            f"/service/records/{record.id}",
            {"summary": "Second visit", "labour_hours": "2", "labour_rate": "50"},
        )
        assert ok.status_code == 303
    async with in_tenant(acme.slug) as (s, _):
        stored = await s.get(ServiceRecord, record.id)
        assert stored is not None
        assert (stored.summary, stored.total) == ("Second visit", Decimal("100.00"))
