"""Property test: any sequence of bills (taxed, split across cost centres), payments with partial
allocations, advances allocated later, cancellations and bursts of concurrent payments of one bill
keeps the AP invariants — subledger = payable control account overall and per supplier, paid =
allocations, bill totals = lines (payables_reports.check_payables) — and the ledger's
(reports.check_ledger), and the ageing's total agrees with the subledger."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import ROUND_DOWN, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.finance import errors
from app.finance.models import Bill, CostCentre, Payment, SplitRule, SplitRuleShare
from app.finance.services import bills, payables_reports, reports, supplier_payments, suppliers
from app.finance.services.bills import BillInput, BillLineInput
from app.finance.services.supplier_payments import AllocationInput, SupplierPaymentInput
from tenants.service import in_tenant
from tests.tenants.conftest import make_tenant  # noqa: F401  (fixture)

YEAR = 2031
DAY = date(YEAR, 3, 15)
LATE = date(YEAR, 3, 28)
CENT = Decimal("0.01")

cents = st.integers(min_value=1, max_value=2_000_000).map(lambda n: Decimal(n).scaleb(-2))
percent = st.integers(min_value=1, max_value=100)
operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("bill"),
            st.integers(0, 2),  # supplier
            st.lists(
                st.tuples(cents, st.sampled_from(["", "VAT13", "VAT9", "VAT6"]), st.booleans()),
                min_size=1,
                max_size=3,
            ),
            st.integers(1, 28),  # day of the month
        ),
        st.tuples(st.just("pay"), st.integers(0, 2), st.lists(percent, max_size=3), st.integers(0, 50_000)),
        st.tuples(st.just("allocate"), st.integers(0, 50), percent),
        st.tuples(st.just("cancel"), st.integers(0, 50)),
        st.tuples(st.just("concurrent"), st.integers(0, 50), st.lists(percent, min_size=2, max_size=4)),
    ),
    min_size=1,
    max_size=8,
)


def share(amount: Decimal, pct: int) -> Decimal:
    return max(CENT, (amount * pct / 100).quantize(CENT, rounding=ROUND_DOWN))


async def _setup(tenant) -> list[int]:
    async with in_tenant(tenant.slug) as (session, _):
        ids = [
            (await suppliers.create_supplier(session, None, {"code": f"P{n}", "name": f"供应商 {n}"})).id
            for n in range(3)
        ]
        centres = [CostCentre(code=c, name=c, active=True) for c in ("PA", "PB", "PC")]
        rule = SplitRule(code="THIRDS", name="Thirds", active=True)
        session.add_all([*centres, rule])
        await session.flush()
        session.add_all(
            SplitRuleShare(rule_id=rule.id, cost_centre_id=c.id, percent=Decimal(p), position=k)
            for k, (c, p) in enumerate(zip(centres, ("33.33", "33.33", "33.34"), strict=True))
        )
    return ids


async def _invariants(tenant) -> None:
    async with in_tenant(tenant.slug) as (session, _):
        assert await payables_reports.check_payables(session) == []
        assert await reports.check_ledger(session) == []
        open_bills = (
            await session.execute(
                select(func.coalesce(func.sum(Bill.total - Bill.paid), 0)).where(Bill.cancelled_on.is_(None))
            )
        ).scalar_one()
        advances = (
            await session.execute(
                select(func.coalesce(func.sum(Payment.amount - Payment.allocated), 0)).where(
                    Payment.direction == "out"
                )
            )
        ).scalar_one()
        ageing = await payables_reports.ageing(session, date(YEAR, 12, 31))
        assert ageing.totals.balance == open_bills - advances


async def _open_bills(tenant, supplier_id: int) -> list[Bill]:
    async with in_tenant(tenant.slug) as (session, _):
        return await supplier_payments.open_bills(session, supplier_id)


async def _pay(
    tenant, supplier_id: int, allocations: list[tuple[int, Decimal]], extra: Decimal
) -> Payment | None:
    amount = sum((a for _, a in allocations), Decimal(0)) + extra
    if amount <= 0:
        return None
    async with in_tenant(tenant.slug) as (session, _):
        return await supplier_payments.pay_supplier(
            session,
            None,
            SupplierPaymentInput(
                supplier_id, DAY, amount, allocations=[AllocationInput(b, a) for b, a in allocations]
            ),
        )


@pytest.fixture
async def books(make_tenant):  # noqa: F811
    """A fresh 企业会计准则 tenant with three suppliers and a split rule, shared by every example
    of the test: the invariants must hold cumulatively, whatever came before."""
    tenant = await make_tenant("approp", locale="zh_Hans")
    return tenant, await _setup(tenant)


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=operations)
async def test_random_bills_and_payments_keep_the_subledger_equal_to_the_ledger(books, ops):
    tenant, supplier_ids = books
    async with in_tenant(tenant.slug) as (session, _):
        bill_ids = list((await session.execute(select(Bill.id).order_by(Bill.id))).scalars())
        payment_ids = list((await session.execute(select(Payment.id).order_by(Payment.id))).scalars())

    for op in ops:
        kind = op[0]
        if kind == "bill":
            _, s, lines, day = op
            async with in_tenant(tenant.slug) as (session, _):
                bill = await bills.enter_bill(
                    session,
                    None,
                    BillInput(
                        supplier_ids[s],
                        f"R-{len(bill_ids)}-{day}",
                        date(YEAR, 3, day),
                        [
                            BillLineInput(
                                f"line {k}",
                                net,
                                tax_rate=rate or None,
                                split_rule="THIRDS" if split else None,
                            )
                            for k, (net, rate, split) in enumerate(lines)
                        ],
                    ),
                )
            bill_ids.append(bill.id)
        elif kind == "pay":
            _, s, pcts, extra = op
            open_ = await _open_bills(tenant, supplier_ids[s])
            allocations = [(b.id, share(b.total - b.paid, p)) for b, p in zip(open_, pcts, strict=False)]
            payment = await _pay(tenant, supplier_ids[s], allocations, Decimal(extra).scaleb(-2))
            if payment is not None:
                payment_ids.append(payment.id)
        elif kind == "allocate" and payment_ids:
            _, n, pct = op
            async with in_tenant(tenant.slug) as (session, _):
                payment = await supplier_payments.get_payment(session, payment_ids[n % len(payment_ids)])
                left = payment.amount - payment.allocated
                open_ = await supplier_payments.open_bills(session, payment.supplier_id or 0)
                if left <= 0 or not open_:
                    continue
                amount = min(left, share(open_[0].total - open_[0].paid, pct))
                await supplier_payments.allocate_payment(
                    session, None, payment.id, [AllocationInput(open_[0].id, amount)], on=LATE
                )
        elif kind == "cancel" and bill_ids:
            _, n = op
            async with in_tenant(tenant.slug) as (session, _):
                target = await bills.get_bill(session, bill_ids[n % len(bill_ids)])
                expected = (
                    "bill_already_cancelled"
                    if target.cancelled_on
                    else "bill_has_payments"
                    if target.paid
                    else None
                )
                if expected is None:
                    await bills.cancel_bill(session, None, target.id, on=LATE)
                else:
                    with pytest.raises(errors.PayableRefused) as refused:
                        await bills.cancel_bill(session, None, target.id, on=LATE)
                    assert refused.value.code == expected
        elif kind == "concurrent" and bill_ids:
            _, n, pcts = op
            async with in_tenant(tenant.slug) as (session, _):
                target = await bills.get_bill(session, bill_ids[n % len(bill_ids)])
            if target.cancelled_on or target.paid >= target.total:
                continue
            wanted = [share(target.total - target.paid, p) for p in pcts]
            results = await asyncio.gather(
                *(_pay(tenant, target.supplier_id, [(target.id, a)], Decimal(0)) for a in wanted),
                return_exceptions=True,
            )
            for r in results:
                if isinstance(r, Payment):
                    payment_ids.append(r.id)
                else:
                    assert isinstance(r, errors.PayableRefused), r
                    assert r.code == "payment_exceeds_open_amount"
            async with in_tenant(tenant.slug) as (session, _):
                after = await bills.get_bill(session, target.id)
            paid_now = sum(
                (a for a, r in zip(wanted, results, strict=True) if isinstance(r, Payment)), Decimal(0)
            )
            assert after.paid == target.paid + paid_now <= after.total
        await _invariants(tenant)
