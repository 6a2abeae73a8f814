"""Suppliers: create, edit, deactivate, delete only without documents; every bad input refused
with its field and nothing written."""

from __future__ import annotations

import pytest

from app.finance import errors
from app.finance.services import suppliers
from app.kernel.errors import NotFound
from tests.crm.support import acting_as
from tests.finance.payables_support import bill_input, counts, enter, make_supplier, pay, unique
from tests.finance.support import fresh_month


async def test_a_supplier_is_created_with_the_defaults_and_edited(acme):
    code = unique("S")
    async with acting_as(acme, "bob") as (session, principal):
        s = await suppliers.create_supplier(
            session,
            principal,
            {
                "code": f" {code} ",
                "name": "上海明辉贸易有限公司",
                "email": "AP@Minghui.example",
                "tax_id": "91310000",
            },
        )
    assert (s.code, s.currency, s.payment_terms_days, s.active, s.email) == (
        code,
        "CNY",
        30,
        True,
        "ap@minghui.example",
    )
    async with acting_as(acme, "bob") as (session, principal):
        s = await suppliers.update_supplier(
            session, principal, s.id, {"payment_terms_days": "0", "phone": "+86 21 5555 0101", "address": ""}
        )
    assert (s.payment_terms_days, s.phone, s.address, s.name) == (
        0,
        "+86 21 5555 0101",
        None,
        "上海明辉贸易有限公司",
    )


async def test_bad_supplier_input_is_refused_with_its_field_and_nothing_written(acme):
    taken = unique("S")
    await make_supplier(acme, code=taken)
    ok = {"code": unique("S"), "name": "Acme Paper"}
    cases = [
        ({**ok, "code": ""}, "required", "code"),
        ({**ok, "name": "   "}, "required", "name"),
        ({**ok, "code": "X" * 41}, "too_long", "code"),
        ({**ok, "payment_terms_days": "366"}, "out_of_range", "payment_terms_days"),
        ({**ok, "payment_terms_days": -1}, "out_of_range", "payment_terms_days"),
        ({**ok, "payment_terms_days": "thirty"}, "out_of_range", "payment_terms_days"),
        ({**ok, "currency": "RMB1"}, "invalid_currency", "currency"),
        ({**ok, "email": "not-an-address"}, "invalid_email", "email"),
        ({**ok, "tax_id": "9" * 41}, "too_long", "tax_id"),
        ({**ok, "code": taken.lower()}, "duplicate_supplier_code", "code"),
    ]
    before = await counts(acme)
    for data, code, field in cases:
        async with acting_as(acme, "bob") as (session, principal):
            with pytest.raises(errors.PayableRefused) as caught:
                await suppliers.create_supplier(session, principal, data)
        assert (caught.value.code, caught.value.errors[0].field) == (code, field), data
    assert caught.value.status == 409  # the duplicate code
    other = await make_supplier(acme)
    for data, code in (({"code": taken}, "duplicate_supplier_code"), ({"active": "no"}, "invalid_choice")):
        async with acting_as(acme, "bob") as (session, principal):
            with pytest.raises(errors.PayableRefused) as caught:
                await suppliers.update_supplier(session, principal, other, data)
        assert caught.value.code == code
    assert (await counts(acme))["fin_suppliers"] == before["fin_suppliers"] + 1


async def test_a_supplier_with_bills_is_deactivated_not_deleted(acme):
    on = fresh_month()
    used, unused, paid_only = await make_supplier(acme), await make_supplier(acme), await make_supplier(acme)
    await enter(acme, bill_input(used, on))
    await pay(acme, paid_only, on, "5.00")
    before = await counts(acme)
    for supplier in (used, paid_only):
        async with acting_as(acme, "bob") as (session, principal):
            with pytest.raises(errors.SupplierInUse) as caught:
                await suppliers.delete_supplier(session, principal, supplier)
        assert (caught.value.code, caught.value.status) == ("supplier_in_use", 409)
    assert await counts(acme) == before
    async with acting_as(acme, "bob") as (session, principal):
        await suppliers.delete_supplier(session, principal, unused)
        sleeping = await suppliers.set_supplier_active(session, principal, used, False)
    assert not sleeping.active
    async with acting_as(acme, "bob") as (session, principal):
        with pytest.raises(NotFound):
            await suppliers.get_supplier(session, unused)
    # A deactivated supplier gets no new bills but is still paid what it is owed.
    with pytest.raises(errors.PayableRefused) as refused:
        await enter(acme, bill_input(used, on))
    assert refused.value.code == "supplier_inactive"
    await pay(acme, used, on, "1.00")


async def test_suppliers_are_searched_by_code_name_and_tax_id(acme):
    marker = unique("find")
    first = await make_supplier(acme, name=f"Zhejiang {marker} Tools", tax_id="91330100X")
    second = await make_supplier(acme, code=f"{marker}-2")
    async with acting_as(acme, "bob") as (session, principal):
        await suppliers.set_supplier_active(session, principal, second, False)
        found = {s.id for s in (await session.execute(suppliers.suppliers_stmt(q=marker.lower()))).scalars()}
        active = {
            s.id for s in (await session.execute(suppliers.suppliers_stmt(q=marker, active=True))).scalars()
        }
        by_tax = {s.id for s in (await session.execute(suppliers.suppliers_stmt(q="91330100x"))).scalars()}
    assert found == {first, second}
    assert active == {first}
    assert first in by_tax
