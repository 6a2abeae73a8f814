"""Receivables reports (FIN-2): ageing as of a date, the statement of account, and the check that
the AR subledger equals its control account — which notices a deliberate discrepancy."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text

from app.finance.services.ar_reports import ageing, bucket_of, check_receivables, statement
from app.finance.services.credit_notes import issue_credit_note
from app.finance.services.payments_in import receive_payment
from app.finance.services.posting import PostingLine, PostingRequest, post
from app.kernel.errors import NotFound, ValidationFailed
from tests.finance.ar_support import (
    as_admin,
    customer,
    invoiced,
    on,
    past_year,
)

D = Decimal
ONE = [("100.00", "1", "13")]  # 113.00


def test_days_past_due_fall_in_their_bucket():
    assert [bucket_of(d) for d in (-5, 0, 1, 30, 31, 60, 61, 90, 91, 400)] == [
        "current", "current", "d1_30", "d1_30", "d31_60", "d31_60", "d61_90", "d61_90", "over_90", "over_90",
    ]  # fmt: skip


async def test_ageing_as_of_a_date_rebuilds_what_was_open_then(books):
    y = past_year()
    async with as_admin(books) as (session, admin):
        alpha = await customer(session, "Alpha 甲")
        beta = await customer(session, "Beta 乙")
        # due 30 days after issue; as of 30 June:
        await invoiced(session, alpha, ONE, on(y, 6, 15))  # due 15 Jul: not yet due
        await invoiced(session, alpha, ONE, on(y, 5, 1))  # due 31 May: 30 days
        old = await invoiced(session, alpha, ONE, on(y, 3, 1))  # due 31 Mar: 91 days
        await invoiced(session, beta, [("1000.00", "1", "13")], on(y, 4, 10))  # due 10 May: 51 days
        await invoiced(session, beta, ONE, on(y, 7, 2))  # issued after the date
        await receive_payment(
            session,
            admin,
            {
                "account_id": alpha.id,
                "payment_date": on(y, 6, 20),
                "amount": "50.00",
                "allocations": [{"invoice_id": old.id, "amount": "50.00"}],
            },
        )
        await issue_credit_note(
            session, admin, old.id, lines=[{"line_no": 1, "amount": "10.00"}], on=on(y, 7, 5)
        )
        await receive_payment(
            session, admin, {"account_id": beta.id, "payment_date": on(y, 6, 1), "amount": "200.00"}
        )
        await receive_payment(
            session, admin, {"account_id": beta.id, "payment_date": on(y, 7, 1), "amount": "7.00"}
        )
        report = await ageing(session, on(y, 6, 30))
        later = await ageing(session, on(y, 7, 10))
    mine = {r.name: r for r in report.rows if r.account_id in (alpha.id, beta.id)}
    assert mine["Alpha 甲"].buckets == {
        "current": D("113.00"), "d1_30": D("113.00"), "d31_60": D("0"), "d61_90": D("0"),
        "over_90": D("63.00"),
    }  # fmt: skip
    assert (mine["Alpha 甲"].open_total, mine["Alpha 甲"].unallocated, mine["Alpha 甲"].invoices) == (
        D("289.00"),
        D("0"),
        3,
    )
    assert mine["Beta 乙"].buckets["d31_60"] == D("1130.00")
    assert (mine["Beta 乙"].unallocated, mine["Beta 乙"].balance) == (D("200.00"), D("930.00"))
    assert report.totals.open_total == D("1419.00")
    assert report.totals.unallocated == D("200.00")
    later_rows = {r.account_id: r for r in later.rows}
    assert later_rows[alpha.id].buckets["over_90"] == D("51.70")  # the credit note of 5 July counts now
    assert later_rows[beta.id].buckets["current"] == D("113.00")  # the invoice of 2 July
    assert later_rows[beta.id].unallocated == D("207.00")


async def test_the_statement_runs_a_balance_from_the_opening_to_the_closing(books):
    y = past_year()
    async with as_admin(books) as (session, admin):
        buyer = await customer(session, "Statement Co")
        before = await invoiced(session, buyer, ONE, on(y, 1, 5))
        await receive_payment(
            session, admin, {"account_id": buyer.id, "payment_date": on(y, 1, 20), "amount": "13.00"}
        )
        feb = await invoiced(session, buyer, [("200.00", "1", "13")], on(y, 2, 3))
        paid = await receive_payment(
            session,
            admin,
            {
                "account_id": buyer.id,
                "payment_date": on(y, 2, 3),
                "amount": "300.00",
                "reference": "BANK 77",
                "allocations": [{"invoice_id": before.id, "amount": "100.00"}],
            },
        )
        note = await issue_credit_note(
            session, admin, feb.id, lines=[{"line_no": 1, "amount": "20.00"}], on=on(y, 2, 10)
        )
        await invoiced(session, buyer, ONE, on(y, 3, 1))  # after the statement
        st = await statement(session, buyer.id, on(y, 2, 1), on(y, 2, 28))
        with pytest.raises(ValidationFailed):
            await statement(session, buyer.id, on(y, 3, 1), on(y, 2, 1))
        with pytest.raises(NotFound):
            await statement(session, 987654321, on(y, 2, 1), on(y, 2, 28))
    assert (st.name, st.currency, st.opening) == ("Statement Co", "CNY", D("100.00"))
    assert [(ln.on.day, ln.kind, ln.number, ln.debit, ln.credit, ln.balance) for ln in st.lines] == [
        (3, "invoice", feb.number, D("226.00"), D("0"), D("326.00")),
        (3, "payment", paid.number, D("0"), D("300.00"), D("26.00")),
        (10, "credit_note", note.number, D("0"), D("22.60"), D("3.40")),
    ]
    assert st.lines[1].description == "BANK 77"
    assert st.lines[2].description == feb.number
    assert (st.debits, st.credits, st.closing) == (D("226.00"), D("322.60"), D("3.40"))


async def test_the_check_finds_the_subledger_equal_to_its_control_account_and_notices_a_discrepancy(books):
    y = past_year()
    async with as_admin(books) as (session, admin):
        buyer = await customer(session, "Checked Co")
        invoice = await invoiced(session, buyer, ONE, on(y, 8, 1))
        await receive_payment(
            session,
            admin,
            {
                "account_id": buyer.id,
                "payment_date": on(y, 8, 9),
                "amount": "150.00",
                "allocations": [{"invoice_id": invoice.id, "amount": "100.00"}],
            },
        )
        await issue_credit_note(
            session, admin, invoice.id, lines=[{"line_no": 1, "amount": "5.00"}], on=on(y, 8, 10)
        )
        assert await check_receivables(session) == []
        # An accountant posts to the receivable control account by hand, for the customer:
        await post(
            session,
            admin,
            PostingRequest(
                date=on(y, 8, 31),
                source_type="manual",
                lines=[
                    PostingLine("1122", debit=D("40.00"), partner_id=buyer.id),
                    PostingLine("6001", credit=D("40.00")),
                ],
            ),
        )
        assert await check_receivables(session) == [
            "AR subledger -42.65 ≠ control account(s) 1122 balance -2.65",
            f"customer {buyer.id}: subledger -42.65 ≠ ledger -2.65",
        ]
        # … and without a customer:
        await post(
            session,
            admin,
            PostingRequest(
                date=on(y, 8, 31),
                source_type="manual",
                lines=[PostingLine("6001", debit=D("40.00")), PostingLine("1122", credit=D("40.00"))],
            ),
        )
        # the totals agree again, the customer's lines still do not:
        assert await check_receivables(session) == [
            "control account(s) 1122: -40.00 posted without a customer",
            f"customer {buyer.id}: subledger -42.65 ≠ ledger -2.65",
        ]


async def test_the_check_notices_documents_that_disagree_with_their_allocations(books):
    async with as_admin(books) as (session, admin):
        buyer = await customer(session, "Tampered Co")
        invoice = await invoiced(session, buyer, ONE)
        payment = await receive_payment(
            session,
            admin,
            {
                "account_id": buyer.id,
                "amount": "50.00",
                "allocations": [{"invoice_id": invoice.id, "amount": "50.00"}],
            },
        )
        schema = books.schema
        await session.execute(
            text(f'UPDATE "{schema}".fin_invoices SET paid = 60 WHERE id = :i'), {"i": invoice.id}
        )
        await session.execute(
            text(f'UPDATE "{schema}".fin_payments SET allocated = 40 WHERE id = :i'), {"i": payment.id}
        )
        problems = await check_receivables(session)
        await session.rollback()
    assert (
        f"invoice {invoice.number}: paid 60.00 / credited 0.00 ≠ allocations 50.00 / credit notes 0"
        in problems
    )
    assert f"payment {payment.number}: allocated 40.00 ≠ allocations 50.00" in problems
