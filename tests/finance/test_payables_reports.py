"""Ageing of payables as of a date, a supplier's statement, and the AP invariant (subledger =
payable control account, overall and per supplier) noticing each kind of discrepancy."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import text

from app.finance.services import bills, payables_reports, posting, supplier_payments, suppliers
from app.finance.services.bills import BillInput, BillLineInput
from app.finance.services.posting import PostingLine, PostingRequest
from app.finance.services.supplier_payments import AllocationInput, SupplierPaymentInput
from tenants.service import in_tenant
from tests.crm.support import acting_as
from tests.finance.payables_support import bill_input, enter, line, make_supplier, pay
from tests.finance.support import fresh_month
from tests.tenants.conftest import make_tenant  # noqa: F401  (fixture)

D = Decimal


async def test_ageing_puts_what_was_open_on_the_day_in_its_bucket(acme):
    as_of = fresh_month()
    supplier = await make_supplier(acme)

    async def bill(due_in: int, net: str, **kw) -> int:
        due = as_of + timedelta(days=due_in)
        data = bill_input(supplier, kw.pop("on", due - timedelta(days=30)), [line(net)], due_date=due)
        return (await enter(acme, data)).id

    await bill(5, "100.00")  # not yet due
    await bill(0, "10.00")  # due today: not yet overdue
    partly = await bill(-10, "200.00")  # 1-30 days
    await pay(acme, supplier, as_of - timedelta(days=1), "50.00", [(partly, "50.00")])
    later_paid = await bill(-45, "300.00")  # 31-60, paid only after the day
    await bill(-75, "400.00")  # 61-90
    await bill(-120, "500.00")  # over 90
    await bill(10, "999.00", on=as_of + timedelta(days=1))  # billed after the day
    cancelled_before = await bill(-20, "111.00")
    cancelled_after = await bill(-31, "222.00")  # 31-60 on the day
    async with acting_as(acme, "bob") as (session, principal):
        await bills.cancel_bill(session, principal, cancelled_before, on=as_of - timedelta(days=2))
        await bills.cancel_bill(session, principal, cancelled_after, on=as_of + timedelta(days=2))
    await pay(acme, supplier, as_of + timedelta(days=1), "300.00", [(later_paid, "300.00")])
    await pay(acme, supplier, as_of - timedelta(days=3), "70.00")  # an advance
    advance = await pay(acme, supplier, as_of - timedelta(days=3), "30.00")  # allocated after the day
    open_one = await bill(60, "30.00", on=as_of - timedelta(days=5))
    async with acting_as(acme, "bob") as (session, principal):
        await supplier_payments.allocate_payment(
            session, principal, advance.id, [AllocationInput(open_one, "30.00")], on=as_of + timedelta(days=3)
        )

    async with in_tenant(acme.slug) as (session, _):
        report = await payables_reports.ageing(session, as_of, supplier_id=supplier)
        today = await payables_reports.ageing(session, as_of + timedelta(days=3), supplier_id=supplier)
    (row,) = report.rows
    assert row.buckets == {
        "not_due": D("140.00"),  # 100 + 10 + the 30 bill not yet reached by the advance
        "days_1_30": D("150.00"),
        "days_31_60": D("522.00"),  # 300 (paid later) + 222 (cancelled later)
        "days_61_90": D("400.00"),
        "over_90": D("500.00"),
    }
    assert row.advances == D("100.00")
    assert (row.open_bills, row.balance) == (D("1712.00"), D("1612.00"))
    assert report.totals.balance == row.balance
    (now,) = today.rows
    # Three days on: the 999 bill is there, the 300 and the 30 are paid, the 222 is cancelled.
    assert now.advances == D("70.00")
    assert now.buckets["days_31_60"] == D("0.00")
    assert now.open_bills == D("1712.00") + D("999.00") - D("300.00") - D("222.00") - D("30.00")


async def test_a_statement_runs_from_the_opening_balance_to_the_closing_one(acme):
    start = fresh_month()
    supplier = await make_supplier(acme)
    await enter(
        acme, bill_input(supplier, start - timedelta(days=10), [line("100.00")], supplier_reference="OLD-1")
    )
    await pay(acme, supplier, start - timedelta(days=5), "30.00")
    b1 = await enter(
        acme, bill_input(supplier, start + timedelta(days=2), [line("200.00")], supplier_reference="A-1")
    )
    p1 = await pay(acme, supplier, start + timedelta(days=2), "50.00", [(b1.id, "50.00")], reference="TT-9")
    b2 = await enter(
        acme, bill_input(supplier, start + timedelta(days=1), [line("40.00")], supplier_reference="A-2")
    )
    async with acting_as(acme, "bob") as (session, principal):
        await bills.cancel_bill(session, principal, b2.id, on=start + timedelta(days=4))
    await enter(acme, bill_input(supplier, start + timedelta(days=40), [line("7.00")]))  # after the range
    async with in_tenant(acme.slug) as (session, _):
        s = await suppliers.get_supplier(session, supplier)
        st = await payables_reports.statement(session, s, start, start + timedelta(days=30))
    assert st.opening == D("70.00")
    assert [(x.kind, x.number, x.reference, x.billed, x.paid, x.balance) for x in st.lines] == [
        ("bill", b2.number, "A-2", D("40.00"), 0, D("110.00")),
        ("bill", b1.number, "A-1", D("200.00"), 0, D("310.00")),
        ("payment", p1.number, "TT-9", 0, D("50.00"), D("260.00")),
        ("cancellation", b2.number, "A-2", 0, D("40.00"), D("220.00")),
    ]
    assert (st.closing, st.billed, st.paid) == (D("220.00"), D("240.00"), D("90.00"))


async def test_the_ap_subledger_equals_the_control_account_and_discrepancies_are_noticed(make_tenant):  # noqa: F811
    tenant = await make_tenant("finap", locale="zh_Hans")  # 企业会计准则: 2202 应付账款
    on = date(2026, 11, 3)
    async with in_tenant(tenant.slug) as (session, _):
        a = await suppliers.create_supplier(session, None, {"code": "A", "name": "甲供应商"})
        b = await suppliers.create_supplier(session, None, {"code": "B", "name": "乙供应商"})
        first = await bills.enter_bill(
            session,
            None,
            BillInput(a.id, "A-001", on, [BillLineInput("办公用品", "1000.00", tax_rate="VAT13")]),
        )
        gone = await bills.enter_bill(
            session, None, BillInput(a.id, "A-002", on, [BillLineInput("x", "5.00")])
        )
        await bills.cancel_bill(session, None, gone.id)
        await bills.enter_bill(
            session, None, BillInput(b.id, "B-001", on, [BillLineInput("运输", "300.00", tax_rate="VAT9")])
        )
        await supplier_payments.pay_supplier(
            session,
            None,
            SupplierPaymentInput(a.id, on, "1500.00", allocations=[AllocationInput(first.id, "1130.00")]),
        )
        assert await payables_reports.check_payables(session) == []
        report = await payables_reports.ageing(session, on)
    assert [(r.code, r.open_bills, r.advances) for r in report.rows] == [  # by name: 乙 before 甲
        ("B", D("327.00"), D("0.00")),
        ("A", D("0.00"), D("370.00")),
    ]
    assert report.totals.balance == D("-43.00")

    # A manual entry on the control account that names no supplier: the total no longer agrees.
    async with in_tenant(tenant.slug) as (session, _):
        await posting.post(
            session,
            None,
            PostingRequest(
                on, [PostingLine("660202", debit=D("10.00")), PostingLine("2202", credit=D("10.00"))]
            ),
        )
        found = await payables_reports.check_payables(session)
    assert found == ["AP subledger -43.00 differs from the payable account(s) 2202: -33.00"]

    # A posting naming supplier B that no document explains: B's ledger lines no longer agree.
    async with in_tenant(tenant.slug) as (session, _):
        await posting.post(
            session,
            None,
            PostingRequest(
                on,
                [
                    PostingLine("2202", debit=D("10.00"), supplier_id=b.id),
                    PostingLine("1002", credit=D("10.00")),
                ],
            ),
        )
        found = await payables_reports.check_payables(session)
    assert found == [f"supplier B (#{b.id}): subledger 327.00 differs from its ledger lines 317.00"]

    # A bill marked paid behind the allocations' back.
    async with in_tenant(tenant.slug) as (session, _):
        await session.execute(
            text(f'UPDATE "{tenant.schema}".fin_bills SET paid = paid + 7 WHERE number = :n'),
            {"n": "BILL-2026-00003"},
        )
        found = await payables_reports.check_payables(session)
    assert "bill BILL-2026-00003: paid 7.00 but allocations add up to 0" in found
    assert any(p.startswith("AP subledger -50.00") for p in found)
