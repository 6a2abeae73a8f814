"""Payments received (FIN-2): posted in the receipts journal, allocated in part to a customer's
open invoices, the rest kept as a prepayment and allocated later; every refusal writes nothing;
concurrent payments never take an invoice below zero."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from app.finance import errors
from app.finance.events import PAYMENT_RECEIVED
from app.finance.models import Account, Allocation, Entry, Invoice, Payment
from app.finance.services import invoices as invoice_reads
from app.finance.services.ar_reports import check_receivables
from app.finance.services.payments_in import allocate, bank_accounts, receive_payment, unallocated
from app.kernel.errors import NotFound, ValidationFailed
from tenants.service import in_tenant
from tests.finance.ar_support import (
    as_admin,
    customer,
    entry_lines,
    events_of,
    invoiced,
    on,
    past_year,
    written,
)

D = Decimal
LINES = [("100.00", "2", "13"), ("50.00", "1", "6")]  # 279.00


async def test_a_receipt_is_posted_allocated_in_part_and_the_rest_allocated_later(books):
    year = past_year()
    async with as_admin(books) as (session, admin):
        buyer = await customer(session, "付款客户")
        first = await invoiced(session, buyer, LINES, on(year, 2, 1))
        second = await invoiced(session, buyer, [("500.00", "1", "13")], on(year, 2, 3))  # 565.00
        payment = await receive_payment(
            session,
            admin,
            {
                "account_id": buyer.id,
                "payment_date": on(year, 2, 10).isoformat(),
                "amount": "1,000.00",
                "method": "bank_transfer",
                "reference": "招行 8812",
                "allocations": [
                    {"invoice_id": first.id, "amount": "279.00"},
                    {"invoice_id": second.id, "amount": "300.00"},
                ],
            },
        )
        assert (payment.number, payment.amount, payment.allocated, unallocated(payment)) == (
            f"RCV-{year}-00001",
            D("1000.00"),
            D("579.00"),
            D("421.00"),
        )
        entry = await session.get(Entry, payment.entry_id)
        assert (entry.journal, entry.number, entry.source_type, entry.source_id) == (
            "receipts",
            f"收-{year}-02-0001",
            "finance.payment",
            payment.id,
        )
        assert await entry_lines(session, entry.id) == [
            ("1002", D("1000.00"), D("0"), None),
            ("1122", D("0"), D("1000.00"), buyer.id),
        ]
        assert (first.paid, invoice_reads.status_of(first, on(year, 2, 11))) == (D("279.00"), "paid")
        assert (second.paid, invoice_reads.open_amount(second)) == (D("300.00"), D("265.00"))
        assert await check_receivables(session) == []

        entries_before = len((await session.execute(select(Entry.id))).all())
        await allocate(session, admin, payment.id, [{"invoice_id": second.id, "amount": "265.00"}])
        assert (payment.allocated, unallocated(payment), invoice_reads.open_amount(second)) == (
            D("844.00"),
            D("156.00"),
            D("0.00"),
        )
        assert len((await session.execute(select(Entry.id))).all()) == entries_before  # no new entry
        dates = (
            await session.execute(
                select(Allocation.amount, Allocation.allocated_on).where(Allocation.payment_id == payment.id)
            )
        ).all()
        assert dates[:2] == [(D("279.00"), on(year, 2, 10)), (D("300.00"), on(year, 2, 10))]
        assert await check_receivables(session) == []
    payloads = await events_of(books, PAYMENT_RECEIVED)
    assert payloads[0]["unallocated"] == "421.00"
    assert [a["amount"] for a in payloads[0]["allocations"]] == ["279.00", "300.00"]


async def test_a_prepayment_settles_an_invoice_issued_later(books):
    year = past_year()
    async with as_admin(books) as (session, admin):
        buyer = await customer(session, "Advance Co")
        payment = await receive_payment(
            session, admin, {"account_id": buyer.id, "payment_date": on(year, 4, 1), "amount": "279.00"}
        )
        invoice = await invoiced(session, buyer, LINES, on(year, 4, 20))
        await allocate(
            session, admin, payment.id, [{"invoice_id": invoice.id, "amount": "279.00"}], on=on(year, 4, 20)
        )
        assert invoice_reads.status_of(invoice, on(year, 12, 1)) == "paid"
        assert await check_receivables(session) == []


async def test_money_goes_into_the_chosen_bank_or_cash_account_only(books):
    async with as_admin(books) as (session, admin):
        buyer = await customer(session, "Cash Co")
        choices = [a.code for a in await bank_accounts(session)]
        cash = (await session.execute(select(Account).where(Account.code == "1001"))).scalar_one()
        revenue = (await session.execute(select(Account).where(Account.code == "6001"))).scalar_one()
        paid = await receive_payment(
            session,
            admin,
            {"account_id": buyer.id, "amount": "20", "method": "cash", "bank_account_id": cash.id},
        )
        assert (await entry_lines(session, paid.entry_id))[0][0] == "1001"
        with pytest.raises(errors.NotABankAccount) as refused:
            await receive_payment(
                session, admin, {"account_id": buyer.id, "amount": "20", "bank_account_id": revenue.id}
            )
    assert choices == ["1001", "1002"]
    assert (refused.value.code, refused.value.errors[0].field) == ("not_a_bank_account", "bank_account_id")


async def test_every_refused_receipt_writes_nothing(books):
    year = past_year()
    async with as_admin(books) as (session, admin):
        buyer = await customer(session, "Careful Co")
        other = await customer(session, "Other Co")
        mine = await invoiced(session, buyer, LINES, on(year, 6, 1))
        theirs = await invoiced(session, other, LINES, on(year, 6, 1))
        note = await invoiced(session, buyer, LINES, on(year, 6, 2))
        from app.finance.services.credit_notes import issue_credit_note

        credit_note = await issue_credit_note(session, admin, note.id, lines=[{"line_no": 2, "amount": "1"}])
        prepaid = await receive_payment(session, admin, {"account_id": buyer.id, "amount": "100.00"})
        ids = {
            "buyer": buyer.id,
            "mine": mine.id,
            "theirs": theirs.id,
            "cn": credit_note.id,
            "prepaid": prepaid.id,
        }
    before = await written(books)

    def receipt(**changes: Any) -> dict[str, Any]:
        return {
            "account_id": ids["buyer"],
            "payment_date": on(year, 6, 5).isoformat(),
            "amount": "300.00",
            "allocations": [{"invoice_id": ids["mine"], "amount": "279.00"}],
        } | changes

    def to(invoice: str | int, amount: str) -> dict[str, Any]:
        return {"invoice_id": ids[invoice] if isinstance(invoice, str) else invoice, "amount": amount}

    cases: list[tuple[dict[str, Any], type[Exception], str, str | None]] = [
        (receipt(allocations=[to("mine", "279.01")]), errors.PaymentExceedsOpenAmount,
         "payment_exceeds_open_amount", "allocations.0.amount"),
        (receipt(amount="200.00"), errors.AllocationsExceedPayment, "allocations_exceed_payment",
         "allocations"),
        (receipt(allocations=[to("theirs", "1")]), errors.InvoiceOfAnotherCustomer,
         "invoice_of_another_customer", "allocations.0.invoice_id"),
        (receipt(allocations=[to(987654321, "1")]), errors.UnknownInvoice, "unknown_invoice",
         "allocations.0.invoice_id"),
        (receipt(allocations=[to("cn", "1")]), errors.UnknownInvoice, "unknown_invoice",
         "allocations.0.invoice_id"),
        (receipt(currency="USD"), errors.DocumentCurrencyMismatch, "currency_mismatch", "currency"),
        (receipt(account_id=987654321), errors.UnknownCustomer, "unknown_customer", "account_id"),
        (receipt(allocations=[to("mine", "1"), to("mine", "2")]), ValidationFailed, "validation_failed",
         "allocations.1.invoice_id"),
    ]  # fmt: skip
    for data, error, code, field in cases:
        async with as_admin(books) as (session, admin):
            with pytest.raises(error) as refused:
                await receive_payment(session, admin, data)
            await session.rollback()
        assert refused.value.code == code, data
        if field is not None:
            assert refused.value.errors[0].field == field, data
    assert {e.field for e in refused.value.errors} == {"allocations.1.invoice_id"}
    async with as_admin(books) as (session, admin):
        with pytest.raises(ValidationFailed) as several:
            await receive_payment(
                session,
                admin,
                receipt(amount="-5", payment_date="2999-01-01", method="barter", account_id=""),
            )
        with pytest.raises(errors.AllocationsExceedPayment):
            await allocate(session, admin, ids["prepaid"], [{"invoice_id": ids["mine"], "amount": "100.01"}])
        with pytest.raises(errors.InvoiceOfAnotherCustomer):
            await allocate(session, admin, ids["prepaid"], [{"invoice_id": ids["theirs"], "amount": "1"}])
        with pytest.raises(ValidationFailed):
            await allocate(session, admin, ids["prepaid"], [])
        with pytest.raises(NotFound):
            await allocate(session, admin, 987654321, [{"invoice_id": ids["mine"], "amount": "1"}])
        await session.rollback()
    assert {e.field for e in several.value.errors} == {"account_id", "amount", "payment_date", "method"}
    assert await written(books) == before


async def test_concurrent_payments_never_allocate_more_than_is_open(books):
    """Two receipts for the whole of one invoice at the same moment: the second waits for the
    first's lock on the invoice, then finds nothing open and is refused."""
    async with as_admin(books) as (session, _):
        buyer = await customer(session, "Race Co")
        invoice = await invoiced(session, buyer, LINES)
        buyer_id, invoice_id = buyer.id, invoice.id
    first_locked = asyncio.Event()

    async def pay(hold: bool) -> str:
        async with as_admin(books) as (session, admin):
            if not hold:
                await first_locked.wait()
            try:
                payment = await receive_payment(
                    session,
                    admin,
                    {
                        "account_id": buyer_id,
                        "amount": "279.00",
                        "allocations": [{"invoice_id": invoice_id, "amount": "279.00"}],
                    },
                )
            except errors.PaymentExceedsOpenAmount as exc:
                return exc.code
            if hold:
                first_locked.set()
                await asyncio.sleep(0.3)  # allocated, not committed: the other waits on the invoice
            return payment.number

    results = await asyncio.gather(pay(True), pay(False))
    assert sorted(results)[1] == "payment_exceeds_open_amount"
    async with in_tenant(books.slug) as (session, _):
        invoice = await session.get(Invoice, invoice_id)
        assert (invoice.paid, invoice.credited) == (D("279.00"), D("0.00"))
        assert len((await session.execute(select(Payment))).all()) == 1
        assert await check_receivables(session) == []


async def test_concurrent_allocations_of_one_prepayment_never_exceed_it(books):
    async with as_admin(books) as (session, admin):
        buyer = await customer(session, "Prepaid Co")
        a = await invoiced(session, buyer, LINES)
        b = await invoiced(session, buyer, LINES)
        payment = await receive_payment(session, admin, {"account_id": buyer.id, "amount": "279.00"})
        ids = (payment.id, a.id, b.id)
    locked = asyncio.Event()

    async def apply(invoice_id: int, hold: bool) -> str:
        async with as_admin(books) as (session, admin):
            if not hold:
                await locked.wait()
            try:
                await allocate(session, admin, ids[0], [{"invoice_id": invoice_id, "amount": "279.00"}])
            except errors.AllocationsExceedPayment as exc:
                return exc.code
            if hold:
                locked.set()
                await asyncio.sleep(0.3)
            return "allocated"

    results = await asyncio.gather(apply(ids[1], True), apply(ids[2], False))
    assert results == ["allocated", "allocations_exceed_payment"]
    async with in_tenant(books.slug) as (session, _):
        assert (await session.get(Payment, ids[0])).allocated == D("279.00")
        assert await check_receivables(session) == []
