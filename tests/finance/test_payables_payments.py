"""Payments to suppliers: Dr payable (naming the supplier) / Cr bank in the payments journal,
partial allocations to open bills, advances allocated later, every refusal with nothing written,
and concurrent payments of one bill that never over-pay it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.finance import errors
from app.finance.models import Allocation, Bill, Entry, Payment
from app.finance.services import periods, supplier_payments
from app.finance.services.supplier_payments import AllocationInput
from tenants.service import in_tenant
from tests.crm.support import acting_as
from tests.finance.payables_support import bill_input, counts, enter, line, make_supplier, pay
from tests.finance.support import codes, fresh_month
from tests.finance.test_payables_bills import entry_lines

D = Decimal


async def bill_of(tenant, bill_id: int) -> Bill:
    async with in_tenant(tenant.slug) as (session, _):
        bill = await session.get(Bill, bill_id)
        assert bill is not None
        return bill


async def test_a_payment_settles_bills_in_part_and_posts_to_the_payments_journal(acme):
    c, on = await codes(acme), fresh_month()
    supplier = await make_supplier(acme)
    first = await enter(acme, bill_input(supplier, on, [line("1000.00", tax_rate="STD")]))  # 1200.00
    second = await enter(acme, bill_input(supplier, on, [line("300.00")]))
    payment = await pay(
        acme,
        supplier,
        on + timedelta(days=3),
        "1,500.00",
        [(first.id, "1200.00"), (second.id, "250.00")],
        reference="BOC 7781",
        method="bank_transfer",
    )
    assert payment.number == f"PAY-{on.year}-00001"
    assert (payment.amount, payment.allocated, payment.direction) == (D("1500.00"), D("1450.00"), "out")
    assert (await bill_of(acme, first.id)).paid == D("1200.00")
    assert (await bill_of(acme, second.id)).paid == D("250.00")
    assert await entry_lines(acme, payment.entry_id) == [
        (c["payable"], D("1500.00"), 0, None, supplier),
        (c["bank"], 0, D("1500.00"), None, None),
    ]
    async with in_tenant(acme.slug) as (session, _):
        entry = await session.get(Entry, payment.entry_id)
        allocations = (
            await session.execute(
                select(Allocation).where(Allocation.payment_id == payment.id).order_by(Allocation.id)
            )
        ).scalars()
        dates = [(a.bill_id, a.amount, a.allocated_on) for a in allocations]
    assert (entry.journal, entry.source_type, entry.source_id) == ("payments", "finance.payment", payment.id)
    assert entry.number.startswith(f"付-{on.year}-06-")
    assert dates == [
        (first.id, D("1200.00"), payment.payment_date),
        (second.id, D("250.00"), payment.payment_date),
    ]


async def test_an_advance_is_allocated_later_and_can_come_from_the_cash_box(acme):
    c, on = await codes(acme), fresh_month()
    supplier = await make_supplier(acme)
    advance = await pay(acme, supplier, on, "500.00", bank_account=c["cash"], method="cash")
    assert advance.allocated == 0
    assert (await entry_lines(acme, advance.entry_id))[1][0] == c["cash"]
    bill = await enter(acme, bill_input(supplier, on + timedelta(days=5), [line("800.00")]))
    async with acting_as(acme, "bob") as (session, principal):
        await supplier_payments.allocate_payment(
            session, principal, advance.id, [AllocationInput(bill.id, "300.00")], on=on + timedelta(days=6)
        )
    async with acting_as(acme, "bob") as (session, principal):
        again = await supplier_payments.allocate_payment(
            session, principal, advance.id, [AllocationInput(str(bill.id), "200")], on=on + timedelta(days=7)
        )
    assert again.allocated == D("500.00")
    assert (await bill_of(acme, bill.id)).paid == D("500.00")
    async with acting_as(acme, "bob") as (session, principal):
        with pytest.raises(errors.PayableRefused) as spent:
            await supplier_payments.allocate_payment(
                session, principal, advance.id, [AllocationInput(bill.id, "0.01")], on=on + timedelta(days=7)
            )
    assert spent.value.code == "allocations_exceed_payment"


async def test_a_bill_dated_after_the_payment_is_settled_from_its_own_date(acme):
    on = fresh_month()
    supplier = await make_supplier(acme)
    bill = await enter(acme, bill_input(supplier, on + timedelta(days=10)))
    payment = await pay(acme, supplier, on, "100.00", [(bill.id, "100.00")])
    async with in_tenant(acme.slug) as (session, _):
        allocation = (
            await session.execute(select(Allocation).where(Allocation.payment_id == payment.id))
        ).scalar_one()
    assert allocation.allocated_on == bill.bill_date


async def test_every_bad_payment_is_refused_with_its_field_and_nothing_written(acme):
    c, on = await codes(acme), fresh_month()
    supplier, other = await make_supplier(acme), await make_supplier(acme)
    bill = await enter(acme, bill_input(supplier, on, [line("100.00")]))
    foreign = await enter(acme, bill_input(other, on))
    gone = await enter(acme, bill_input(supplier, on))
    async with acting_as(acme, "bob") as (session, principal):
        from app.finance.services import bills

        await bills.cancel_bill(session, principal, gone.id)
    closed = fresh_month()
    async with in_tenant(acme.slug) as (session, _):
        await periods.set_period_status(session, closed.year, closed.month, "closed")
    cases = [
        (
            "more than open",
            dict(amount="150.00", allocations=[(bill.id, "100.01")]),
            "payment_exceeds_open_amount",
            "allocations.0.amount",
        ),
        (
            "more than paid",
            dict(amount="50.00", allocations=[(bill.id, "60.00")]),
            "allocations_exceed_payment",
            "allocations",
        ),
        (
            "other supplier",
            dict(amount="10.00", allocations=[(foreign.id, "10.00")]),
            "bill_of_another_supplier",
            "allocations.0.bill_id",
        ),
        (
            "cancelled bill",
            dict(amount="10.00", allocations=[(gone.id, "10.00")]),
            "bill_cancelled",
            "allocations.0.bill_id",
        ),
        (
            "unknown bill",
            dict(amount="10.00", allocations=[(987654321, "10.00")]),
            "unknown_bill",
            "allocations.0.bill_id",
        ),
        (
            "no bill",
            dict(amount="10.00", allocations=[("", "10.00")]),
            "unknown_bill",
            "allocations.0.bill_id",
        ),
        (
            "twice",
            dict(amount="10.00", allocations=[(bill.id, "5.00"), (bill.id, "5.00")]),
            "duplicate_allocation",
            "allocations.1.bill_id",
        ),
        (
            "negative allocation",
            dict(amount="10.00", allocations=[(bill.id, "-5.00")]),
            "negative_amount",
            "allocations.0.amount",
        ),
        ("zero", dict(amount="0"), "negative_amount", "amount"),
        ("negative", dict(amount="-10"), "negative_amount", "amount"),
        ("not a number", dict(amount="ten"), "invalid_amount", "amount"),
        ("mills", dict(amount="10.001"), "invalid_amount", "amount"),
        ("dollars", dict(amount="10.00", currency="USD"), "currency_mismatch", "currency"),
        (
            "revenue as bank",
            dict(amount="10.00", bank_account=c["revenue"]),
            "not_a_bank_account",
            "bank_account",
        ),
        ("unknown bank", dict(amount="10.00", bank_account="0000"), "not_a_bank_account", "bank_account"),
        ("bad method", dict(amount="10.00", method="barter"), "invalid_choice", "method"),
        ("no supplier", dict(amount="10.00", supplier_id=None), "unknown_supplier", "supplier_id"),
        ("unknown supplier", dict(amount="10.00", supplier_id=987654321), "unknown_supplier", "supplier_id"),
        ("no date", dict(amount="10.00", on=None), "invalid_date", "payment_date"),
        ("closed period", dict(amount="10.00", on=closed), "period_closed", "payment_date"),
    ]
    before = await counts(acme)
    problems = []
    for name, kw, code, field in cases:
        supplier_id = kw.pop("supplier_id", supplier)
        day = kw.pop("on", on)
        amount = kw.pop("amount")
        try:
            await pay(acme, supplier_id, day, amount, kw.pop("allocations", []), **kw)  # type: ignore[arg-type]
        except (errors.PayableRefused, errors.PeriodClosed) as exc:
            fields = [e.field for e in exc.errors]
            if exc.code != code or field not in fields:
                problems.append(f"{name}: {exc.code} {fields}")
        else:
            problems.append(f"{name}: accepted")
    assert problems == []
    assert await counts(acme) == before


async def test_bad_allocations_of_an_advance_write_nothing(acme):
    on = fresh_month()
    supplier, other = await make_supplier(acme), await make_supplier(acme)
    advance = await pay(acme, supplier, on, "100.00")
    bill = await enter(acme, bill_input(supplier, on + timedelta(days=2), [line("50.00")]))
    foreign = await enter(acme, bill_input(other, on))
    cases = [
        ([], on, "no_allocations"),
        ([AllocationInput(bill.id, "50.01")], on + timedelta(days=3), "payment_exceeds_open_amount"),
        ([AllocationInput(bill.id, "50.00")], on - timedelta(days=1), "allocation_before_payment"),
        ([AllocationInput(bill.id, "50.00")], on + timedelta(days=1), "allocation_before_bill"),
        ([AllocationInput(foreign.id, "5.00")], on + timedelta(days=3), "bill_of_another_supplier"),
        ([AllocationInput(bill.id, "5.00")], "someday", "invalid_date"),
    ]
    before = await counts(acme)
    for allocations, day, code in cases:
        async with acting_as(acme, "bob") as (session, principal):
            with pytest.raises(errors.PayableRefused) as caught:
                await supplier_payments.allocate_payment(session, principal, advance.id, allocations, on=day)
        assert caught.value.code == code
    assert await counts(acme) == before


async def test_concurrent_payments_of_one_bill_never_over_pay_it(acme):
    on = fresh_month()
    supplier = await make_supplier(acme)
    bill = await enter(acme, bill_input(supplier, on, [line("100.00")]))
    results = await asyncio.gather(
        *(pay(acme, supplier, on, "30.00", [(bill.id, "30.00")]) for _ in range(5)), return_exceptions=True
    )
    paid = [r for r in results if isinstance(r, Payment)]
    refused = [r for r in results if isinstance(r, errors.PayableRefused)]
    assert len(paid) == 3, results
    assert len(refused) == 2
    assert {r.code for r in refused} == {"payment_exceeds_open_amount"}
    assert (await bill_of(acme, bill.id)).paid == D("90.00")
    # Gapless: the refused ones gave nothing back because they never took a number.
    assert sorted(p.number for p in paid) == [f"PAY-{on.year}-0000{n}" for n in (1, 2, 3)]


async def test_concurrent_allocations_of_two_advances_to_one_bill_never_over_pay_it(acme):
    on = fresh_month()
    supplier = await make_supplier(acme)
    advances = [await pay(acme, supplier, on, "80.00") for _ in range(2)]
    bill = await enter(acme, bill_input(supplier, on, [line("100.00")]))

    async def allocate(payment_id: int) -> object:
        async with acting_as(acme, "bob") as (session, principal):
            return await supplier_payments.allocate_payment(
                session, principal, payment_id, [AllocationInput(bill.id, "80.00")], on=on
            )

    results = await asyncio.gather(*(allocate(p.id) for p in advances), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["PayableRefused", "Payment"]
    assert (await bill_of(acme, bill.id)).paid == D("80.00")
