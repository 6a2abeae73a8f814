"""Supplier bills: one entry per bill through the posting door (expense per cost centre, input VAT
per rate, the payable naming the supplier), split rules with the residual on the last share,
every refusal with nothing written, cancellation by reversal."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from app.finance import errors
from app.finance.models import Account, Bill, BillLine, CategoryTaxRate, Entry, EntryLine, TaxRate
from app.finance.services import bills, periods
from tenants.service import in_tenant
from tests.crm.support import acting_as
from tests.finance.payables_support import (
    bill_input,
    counts,
    enter,
    line,
    make_centres,
    make_split_rule,
    make_supplier,
    pay,
    unique,
)
from tests.finance.support import codes, fresh_month
from tests.tenants.conftest import make_tenant  # noqa: F401  (fixture)

D = Decimal


async def entry_lines(tenant, entry_id: int) -> list[tuple[str, Decimal, Decimal, str | None, int | None]]:
    async with in_tenant(tenant.slug) as (session, _):
        rows = await session.execute(
            select(
                Account.code, EntryLine.debit, EntryLine.credit, EntryLine.cost_centre, EntryLine.supplier_id
            )
            .join(Account, Account.id == EntryLine.account_id)
            .where(EntryLine.entry_id == entry_id)
            .order_by(EntryLine.line_no)
        )
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]


async def stored_lines(tenant, bill_id: int) -> list[tuple[int, Decimal, Decimal, str | None]]:
    async with in_tenant(tenant.slug) as (session, _):
        rows = await session.execute(
            select(BillLine.line_no, BillLine.net_amount, BillLine.tax_amount, BillLine.cost_centre)
            .where(BillLine.bill_id == bill_id)
            .order_by(BillLine.id)
        )
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]


async def category_with_rate(tenant, rate_code: str) -> str:
    category = unique("Paper")
    async with in_tenant(tenant.slug) as (session, _):
        rate = (await session.execute(select(TaxRate).where(TaxRate.code == rate_code))).scalar_one()
        session.add(CategoryTaxRate(category=category, tax_rate_id=rate.id))
    return category


async def test_a_bill_posts_one_entry_with_input_vat_and_the_supplier_on_the_payable(acme):
    c, on = await codes(acme), fresh_month()
    supplier = await make_supplier(acme, payment_terms_days=45)
    (centre,) = await make_centres(acme, 1)
    category = await category_with_rate(acme, "RED")
    data = bill_input(
        supplier,
        on,
        [
            line("1000.00", description="Laptop stand", tax_rate="std", cost_centre=centre.lower()),
            line("500.00", description="Printer paper", category=category, account=c["inventory"]),
            line("80.00", description="Parking (no VAT)"),
        ],
        supplier_reference="INV-2040-77",
        memo="December purchases",
    )
    bill = await enter(acme, data)

    assert bill.number == f"BILL-{on.year}-00001"
    assert bill.due_date == on + timedelta(days=45)
    assert (bill.subtotal, bill.tax_total, bill.total, bill.paid) == (
        D("1580.00"),
        D("225.00"),
        D("1805.00"),
        0,
    )
    assert bill.currency == "CNY"
    assert await entry_lines(acme, bill.entry_id) == [
        (c["admin_expense"], D("1000.00"), 0, centre, None),
        (c["inventory"], D("500.00"), 0, None, None),
        (c["admin_expense"], D("80.00"), 0, None, None),
        (c["input_vat"], D("200.00"), 0, None, None),  # STD 20 %
        (c["input_vat"], D("25.00"), 0, None, None),  # RED 5 %, from the category
        (c["payable"], 0, D("1805.00"), None, supplier),
    ]
    async with in_tenant(acme.slug) as (session, _):
        entry = await session.get(Entry, bill.entry_id)
        lines = (await session.execute(select(BillLine).where(BillLine.bill_id == bill.id))).scalars().all()
    assert (entry.journal, entry.source_type, entry.source_id) == ("general", "finance.bill", bill.id)
    assert entry.number.startswith(f"记-{on.year}-06-")
    assert "INV-2040-77" in entry.memo
    assert [(ln.tax_rate, ln.tax_amount, ln.total_amount) for ln in lines] == [
        (D("20.00"), D("200.00"), D("1200.00")),
        (D("5.00"), D("25.00"), D("525.00")),
        (D("0.00"), D("0.00"), D("80.00")),
    ]


async def test_a_split_rule_becomes_one_line_per_cost_centre_with_the_residual_on_the_last(acme):
    c, on = await codes(acme), fresh_month()
    supplier = await make_supplier(acme)
    a, b, z = await make_centres(acme, 3)
    thirds = await make_split_rule(acme, [(a, "33.33"), (b, "33.33"), (z, "33.34")])
    bill = await enter(
        acme,
        bill_input(
            supplier,
            on,
            [
                line("100.00", description="Rent", split_rule=thirds, tax_rate="RED"),
                line("0.10", description="Bank fee", split_rule=thirds),
                line("0.01", description="Rounding", split_rule=thirds),
            ],
        ),
    )
    assert await stored_lines(acme, bill.id) == [
        (1, D("33.33"), D("1.67"), a),  # tax 5.00 split like the net: 1.67 / 1.67 / 1.66
        (1, D("33.33"), D("1.67"), b),
        (1, D("33.34"), D("1.66"), z),
        (2, D("0.03"), D("0.00"), a),
        (2, D("0.03"), D("0.00"), b),
        (2, D("0.04"), D("0.00"), z),
        (3, D("0.00"), D("0.00"), a),
        (3, D("0.00"), D("0.00"), b),
        (3, D("0.01"), D("0.00"), z),
    ]
    lines = await entry_lines(acme, bill.entry_id)
    assert lines == [
        (c["admin_expense"], D("33.33"), 0, a, None),
        (c["admin_expense"], D("33.33"), 0, b, None),
        (c["admin_expense"], D("33.34"), 0, z, None),
        (c["admin_expense"], D("0.03"), 0, a, None),
        (c["admin_expense"], D("0.03"), 0, b, None),
        (c["admin_expense"], D("0.04"), 0, z, None),
        (c["admin_expense"], D("0.01"), 0, z, None),  # the 0.00 shares post nothing
        (c["input_vat"], D("5.00"), 0, None, None),
        (c["payable"], 0, D("105.11"), None, supplier),
    ]
    assert bill.total == D("105.11")


async def test_a_purchase_receipt_posts_its_bill_through_the_interface(acme):
    from app.finance import interface as finance

    on = fresh_month()
    supplier = await make_supplier(acme)
    async with acting_as(acme, "bob") as (session, principal):
        posted = await finance.enter_bill(
            session,
            principal,
            finance.BillInput(
                supplier, "GRN-88", on, [finance.BillLineInput("Steel", "50.00", tax_rate="STD")]
            ),
            source_type="scm.purchase_receipt",
            source_id=42,
        )
    async with in_tenant(acme.slug) as (session, _):
        bill = await session.get(Bill, posted.id)
        entry = await session.get(Entry, posted.entry_id)
    assert (bill.source_type, bill.source_id, bill.number, posted.total) == (
        "scm.purchase_receipt",
        42,
        posted.number,
        D("60.00"),
    )
    assert (entry.source_type, entry.source_id) == ("finance.bill", bill.id)


async def _account(tenant, *, type_: str = "expense", active: bool = True, postable: bool = True) -> str:
    code = unique("9")[:12]
    async with in_tenant(tenant.slug) as (session, _):
        session.add(Account(code=code, name=f"Test {code}", type=type_, postable=postable, active=active))
    return code


async def _rate(tenant, *, active: bool) -> str:
    code = unique("R")[:20]
    async with in_tenant(tenant.slug) as (session, _):
        # Like the tax page would: output VAT on the liability account, input VAT on the asset one.
        accounts = dict((await session.execute(select(Account.code, Account.id))).all())
        session.add(
            TaxRate(
                code=code,
                name=code,
                rate=D("7.00"),
                output_account_id=accounts["2210"],
                input_account_id=accounts["1170"],
                active=active,
            )
        )
    return code


async def _bad_inputs(acme) -> list[tuple[str, Any, str, str]]:
    """(name, bill input, expected code, field at fault)."""
    c, on = await codes(acme), fresh_month()
    supplier = await make_supplier(acme)
    sleeping = await make_supplier(acme)
    async with acting_as(acme, "bob") as (session, principal):
        from app.finance.services import suppliers

        await suppliers.set_supplier_active(session, principal, sleeping, False)
    dollar = await make_supplier(acme, currency="usd")
    a, b = await make_centres(acme, 2)
    closed = await make_centres(acme, 1)
    async with in_tenant(acme.slug) as (session, _):
        from app.finance.models import CostCentre

        (
            await session.execute(select(CostCentre).where(CostCentre.code == closed[0]))
        ).scalar_one().active = False
    lopsided = await make_split_rule(acme, [(a, "50"), (b, "40")])
    retired = await make_split_rule(acme, [(a, "50"), (b, "50")], active=False)
    with_closed = await make_split_rule(acme, [(a, "50"), (closed[0], "50")])
    ok = bill_input(supplier, on)
    one = ok.lines[0]
    return [
        ("no supplier", replace(ok, supplier_id=None), "unknown_supplier", "supplier_id"),
        ("unknown supplier", replace(ok, supplier_id=987654321), "unknown_supplier", "supplier_id"),
        ("inactive supplier", replace(ok, supplier_id=sleeping), "supplier_inactive", "supplier_id"),
        ("no reference", replace(ok, supplier_reference="  "), "required", "supplier_reference"),
        ("long reference", replace(ok, supplier_reference="X" * 81), "too_long", "supplier_reference"),
        ("no date", replace(ok, bill_date=None), "invalid_date", "bill_date"),
        ("bad date", replace(ok, bill_date="2040-02-30"), "invalid_date", "bill_date"),
        ("ancient date", replace(ok, bill_date="0206-01-05"), "invalid_date", "bill_date"),
        ("due before", replace(ok, due_date=on - timedelta(days=1)), "due_before_bill_date", "due_date"),
        ("other currency", replace(ok, currency="EUR"), "currency_mismatch", "currency"),
        ("supplier in dollars", replace(ok, supplier_id=dollar), "currency_mismatch", "currency"),
        ("bad currency", replace(ok, currency="yuan"), "invalid_currency", "currency"),
        ("no lines", replace(ok, lines=[]), "too_few_lines", "lines"),
        (
            "no description",
            replace(ok, lines=[replace(one, description="")]),
            "required",
            "lines.0.description",
        ),
        (
            "negative",
            replace(ok, lines=[replace(one, net_amount="-5")]),
            "negative_amount",
            "lines.0.net_amount",
        ),
        ("zero", replace(ok, lines=[replace(one, net_amount="0")]), "negative_amount", "lines.0.net_amount"),
        (
            "not a number",
            replace(ok, lines=[replace(one, net_amount="lots")]),
            "invalid_amount",
            "lines.0.net_amount",
        ),
        (
            "mills",
            replace(ok, lines=[replace(one, net_amount="1.005")]),
            "invalid_amount",
            "lines.0.net_amount",
        ),
        (
            "no amount",
            replace(ok, lines=[replace(one, net_amount="")]),
            "invalid_amount",
            "lines.0.net_amount",
        ),
        (
            "unknown account",
            replace(ok, lines=[one, replace(one, account="0000")]),
            "unknown_account",
            "lines.1.account",
        ),
        (
            "group account",
            replace(ok, lines=[replace(one, account="6000")]),
            "account_not_postable",
            "lines.0.account",
        ),
        (
            "inactive account",
            replace(ok, lines=[replace(one, account=await _account(acme, active=False))]),
            "account_inactive",
            "lines.0.account",
        ),
        (
            "revenue account",
            replace(ok, lines=[replace(one, account=c["revenue"])]),
            "account_not_for_bills",
            "lines.0.account",
        ),
        (
            "payable account",
            replace(ok, lines=[replace(one, account=c["payable"])]),
            "account_not_for_bills",
            "lines.0.account",
        ),
        (
            "receivable account",
            replace(ok, lines=[replace(one, account=c["receivable"])]),
            "account_not_for_bills",
            "lines.0.account",
        ),
        (
            "unknown rate",
            replace(ok, lines=[replace(one, tax_rate="VAT99")]),
            "unknown_tax_rate",
            "lines.0.tax_rate",
        ),
        (
            "inactive rate",
            replace(ok, lines=[replace(one, tax_rate=await _rate(acme, active=False))]),
            "tax_rate_inactive",
            "lines.0.tax_rate",
        ),
        (
            "unknown centre",
            replace(ok, lines=[replace(one, cost_centre="NOPE")]),
            "unknown_cost_centre",
            "lines.0.cost_centre",
        ),
        (
            "inactive centre",
            replace(ok, lines=[replace(one, cost_centre=closed[0])]),
            "cost_centre_inactive",
            "lines.0.cost_centre",
        ),
        (
            "centre and rule",
            replace(ok, lines=[replace(one, cost_centre=a, split_rule=lopsided)]),
            "cost_centre_and_split_rule",
            "lines.0.split_rule",
        ),
        (
            "unknown rule",
            replace(ok, lines=[replace(one, split_rule="NOPE")]),
            "unknown_split_rule",
            "lines.0.split_rule",
        ),
        (
            "inactive rule",
            replace(ok, lines=[replace(one, split_rule=retired)]),
            "split_rule_inactive",
            "lines.0.split_rule",
        ),
        (
            "rule not 100",
            replace(ok, lines=[replace(one, split_rule=lopsided)]),
            "split_rule_invalid",
            "lines.0.split_rule",
        ),
        (
            "rule with an inactive centre",
            replace(ok, lines=[replace(one, split_rule=with_closed)]),
            "cost_centre_inactive",
            "lines.0.split_rule",
        ),
        ("too many lines", replace(ok, lines=[one] * 201), "too_many_lines", "lines"),
    ]


async def test_every_bad_bill_is_refused_with_its_field_and_nothing_written(acme):
    cases = await _bad_inputs(acme)
    before = await counts(acme)
    problems = []
    for name, data, code, field in cases:
        try:
            await enter(acme, data)
        except errors.PayableRefused as exc:
            fields = [e.field for e in exc.errors]
            if exc.code != code or field not in fields or exc.status != 422:
                problems.append(f"{name}: {exc.code} {fields} {exc.status}")
        else:
            problems.append(f"{name}: accepted")
    assert problems == []
    assert await counts(acme) == before


async def test_all_problems_of_a_bill_are_reported_at_once(acme):
    on = fresh_month()
    supplier = await make_supplier(acme)
    data = bill_input(
        supplier,
        on,
        [line("abc"), line("10.00", account="0000"), line("5", description="", tax_rate="NOPE")],
        supplier_reference="",
    )
    with pytest.raises(errors.PayableRefused) as caught:
        await enter(acme, data)
    assert caught.value.code == "required"
    assert [e.field for e in caught.value.errors] == [
        "supplier_reference",
        "lines.0.net_amount",
        "lines.2.description",
        "lines.1.account",
        "lines.2.tax_rate",
    ]


async def test_a_supplier_invoice_is_entered_once(acme):
    on = fresh_month()
    supplier, other = await make_supplier(acme), await make_supplier(acme)
    first = await enter(acme, bill_input(supplier, on, supplier_reference="INV 0042"))
    before = await counts(acme)
    for reference in ("INV 0042", "inv0042", " Inv 00 42 "):
        with pytest.raises(errors.PayableRefused) as caught:
            await enter(acme, bill_input(supplier, on, supplier_reference=reference))
        assert (caught.value.code, caught.value.status) == ("duplicate_supplier_reference", 409)
        assert caught.value.errors[0].field == "supplier_reference"
        assert caught.value.params["number"] == first.number
    assert await counts(acme) == before
    # Another supplier may use the same invoice number.
    await enter(acme, bill_input(other, on, supplier_reference="INV 0042"))


async def test_a_bill_in_a_closed_period_is_refused_before_anything_is_written(acme):
    on = fresh_month()
    supplier = await make_supplier(acme)
    async with in_tenant(acme.slug) as (session, _):
        await periods.set_period_status(session, on.year, on.month, "closed")
    before = await counts(acme)
    with pytest.raises(errors.PeriodClosed) as caught:
        await enter(acme, bill_input(supplier, on))
    assert caught.value.errors[0].field == "bill_date"
    assert await counts(acme) == before


async def test_a_refused_bill_leaves_the_callers_transaction_usable(acme):
    """A purchase receipt posting its bill can catch a refusal and carry on: nothing of the bill
    is left in the transaction, and the number it would have taken is not used up."""
    on = fresh_month()
    supplier = await make_supplier(acme)
    async with acting_as(acme, "bob") as (session, principal):
        with pytest.raises(errors.PayableRefused):
            await bills.enter_bill(session, principal, bill_input(supplier, on, [line("5", tax_rate="NOPE")]))
        bill = await bills.enter_bill(session, principal, bill_input(supplier, on))
    assert bill.number == f"BILL-{on.year}-00001"


async def test_an_unpaid_bill_is_cancelled_by_reversing_its_entry(acme):
    c, on = await codes(acme), fresh_month()
    supplier = await make_supplier(acme)
    bill = await enter(acme, bill_input(supplier, on, [line("100.00", tax_rate="STD")]))
    later = on + timedelta(days=40)
    async with acting_as(acme, "bob") as (session, principal):
        cancelled = await bills.cancel_bill(session, principal, bill.id, on=later)
    assert cancelled.cancelled_on == later
    async with in_tenant(acme.slug) as (session, _):
        undo = (await session.execute(select(Entry).where(Entry.reversal_of == bill.entry_id))).scalar_one()
    assert undo.entry_date == later
    assert (c["payable"], D("120.00"), 0, None, supplier) in await entry_lines(acme, undo.id)
    async with acting_as(acme, "bob") as (session, principal):
        with pytest.raises(errors.PayableRefused) as twice:
            await bills.cancel_bill(session, principal, bill.id)
    assert (twice.value.code, twice.value.status) == ("bill_already_cancelled", 409)
    with pytest.raises(errors.PayableRefused) as paying:
        await pay(acme, supplier, later, "10.00", [(bill.id, "10.00")])
    assert paying.value.code == "bill_cancelled"


async def test_a_paid_bill_or_a_date_before_the_bill_cannot_be_cancelled(acme):
    on = fresh_month()
    supplier = await make_supplier(acme)
    paid = await enter(acme, bill_input(supplier, on))
    await pay(acme, supplier, on, "1.00", [(paid.id, "1.00")])
    unpaid = await enter(acme, bill_input(supplier, on))
    before = await counts(acme)
    async with acting_as(acme, "bob") as (session, principal):
        with pytest.raises(errors.PayableRefused) as has_payments:
            await bills.cancel_bill(session, principal, paid.id)
        with pytest.raises(errors.PayableRefused) as too_early:
            await bills.cancel_bill(session, principal, unpaid.id, on=on - timedelta(days=1))
    assert has_payments.value.code == "bill_has_payments"
    assert too_early.value.code == "cancelled_before_bill_date"
    assert await counts(acme) == before
    async with in_tenant(acme.slug) as (session, _):
        assert (await session.get(Bill, unpaid.id)).cancelled_on is None


async def test_bill_lists_filter_by_status(acme):
    on = date(2041, 3, 1)
    supplier = await make_supplier(acme)
    open_bill = await enter(acme, bill_input(supplier, on))
    paid_bill = await enter(acme, bill_input(supplier, on, [line("10.00")]))
    await pay(acme, supplier, on, "10.00", [(paid_bill.id, "10.00")])
    gone = await enter(acme, bill_input(supplier, on))
    async with acting_as(acme, "bob") as (session, principal):
        await bills.cancel_bill(session, principal, gone.id)

    async def ids(status: str) -> list[int]:
        async with in_tenant(acme.slug) as (session, _):
            stmt = bills.bills_stmt(supplier_id=supplier, status=status, today=on + timedelta(days=31))
            return [b.id for b, _ in (await session.execute(stmt.order_by(Bill.id))).all()]

    assert await ids("open") == [open_bill.id]
    assert await ids("overdue") == [open_bill.id]
    assert await ids("paid") == [paid_bill.id]
    assert await ids("cancelled") == [gone.id]


async def test_a_refusal_after_the_number_was_taken_gives_the_number_back(make_tenant):  # noqa: F811
    """The posting door refuses the entry (the input VAT account is out of use) after the bill took
    its number and was written: the savepoint takes all of it back, the caller's transaction goes
    on and the next bill gets the same number."""
    tenant = await make_tenant("finsp", locale="zh_Hans")
    on = date(2026, 10, 9)
    async with in_tenant(tenant.slug) as (session, _):
        from app.finance.services import suppliers

        supplier = await suppliers.create_supplier(session, None, {"code": "A", "name": "甲"})
        vat = (await session.execute(select(Account).where(Account.code == "222102"))).scalar_one()
        vat.active = False
        await session.flush()
        with pytest.raises(errors.PostingRefused) as refused:
            await bills.enter_bill(
                session,
                None,
                bills.BillInput(supplier.id, "A-1", on, [bills.BillLineInput("x", "10", tax_rate="VAT13")]),
            )
        assert (refused.value.code, refused.value.errors) == ("account_inactive", [])
        assert (await session.execute(select(Bill))).first() is None
        bill = await bills.enter_bill(
            session, None, bills.BillInput(supplier.id, "A-1", on, [bills.BillLineInput("x", "10")])
        )
    assert bill.number == "BILL-2026-00001"
