"""Property test: any sequence of sales orders confirmed (each invoiced and posted in its
confirmation's transaction), credit notes, payments received with partial allocations, later
allocations of prepayments, manual postings and bursts of concurrent payments of one invoice keeps
every invariant after each step — debits = credits and trial balance = ledger
(reports.check_ledger), the AR subledger = the receivable control account overall and per
customer (ar_reports.check_receivables), no invoice over-allocated, the ageing equal to the
subledger. Refused steps (more than is open, a credit note above the invoice) leave the books as
they were."""

from __future__ import annotations

import asyncio
from decimal import ROUND_DOWN, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.crm.services import order_status
from app.finance.models import Entry, Invoice, Payment
from app.finance.services import ar_reports, credit_notes, payments_in, reports
from app.finance.services.posting import PostingLine, PostingRequest, post
from app.finance.services.receivables import tenant_today
from app.kernel.errors import DomainError
from tenants.service import in_tenant
from tests.finance.ar_support import as_admin, customer, draft_order

CENT = Decimal("0.01")
RATES = ["13", "9", "6", "0"]

prices = st.integers(min_value=1, max_value=500_000).map(lambda n: str(Decimal(n).scaleb(-2)))
percent = st.integers(min_value=1, max_value=120)  # above 100: more than is open (refused)
operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("order"),
            st.integers(0, 2),  # customer
            st.lists(
                st.tuples(prices, st.sampled_from(["1", "2", "3"]), st.sampled_from(RATES)),
                min_size=1,
                max_size=4,
            ),
        ),
        st.tuples(st.just("credit"), st.integers(0, 50), percent),
        st.tuples(
            st.just("receive"),
            st.integers(0, 2),
            st.integers(1, 400_000),  # cents
            st.lists(st.tuples(st.integers(0, 50), percent), max_size=3),
        ),
        st.tuples(st.just("allocate"), st.integers(0, 50), st.integers(0, 50), percent),
        st.tuples(st.just("manual"), st.integers(1, 100_000)),
        st.tuples(st.just("concurrent"), st.integers(0, 50), st.lists(percent, min_size=2, max_size=4)),
    ),
    min_size=1,
    max_size=8,
)


def share(amount: Decimal, pct: int) -> Decimal:
    return max(CENT, (amount * pct / 100).quantize(CENT, rounding=ROUND_DOWN))


async def _books_fingerprint(tenant) -> tuple[int, ...]:
    async with in_tenant(tenant.slug) as (s, _):
        return (
            await s.scalar(select(func.count()).select_from(Entry)),
            await s.scalar(select(func.count()).select_from(Invoice)),
            await s.scalar(select(func.count()).select_from(Payment)),
            int((await s.scalar(select(func.coalesce(func.sum(Invoice.paid + Invoice.credited), 0)))) * 100),
            int((await s.scalar(select(func.coalesce(func.sum(Payment.allocated), 0)))) * 100),
        )


async def _invariants(tenant) -> None:
    async with in_tenant(tenant.slug) as (s, _):
        assert await reports.check_ledger(s) == []
        assert await ar_reports.check_receivables(s) == []
        over = await s.scalar(select(func.count()).where(Invoice.paid + Invoice.credited > Invoice.total))
        assert over == 0
        ageing = await ar_reports.ageing(s, tenant_today())
        subledger = await ar_reports.subledger_by_customer(s)
        assert {r.account_id: r.balance for r in ageing.rows if r.balance} == {
            k: v for k, v in subledger.items() if v
        }


async def _attempt(tenant, step) -> None:
    """Run one step in its own transaction; a refusal must leave the books exactly as they were."""
    before = await _books_fingerprint(tenant)
    try:
        async with as_admin(tenant) as (session, admin):
            await step(session, admin)
    except DomainError:
        assert await _books_fingerprint(tenant) == before


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=operations)
async def test_random_receivables_keep_the_books_right(books, ops):
    async with as_admin(books) as (session, _):
        buyers = [(await customer(session, f"Buyer {i}")).id for i in range(3)]

    async def invoices() -> list[Invoice]:
        async with in_tenant(books.slug) as (s, _):
            rows = await s.execute(select(Invoice).where(Invoice.kind == "invoice").order_by(Invoice.id))
            return list(rows.scalars())

    async def receipts() -> list[int]:
        async with in_tenant(books.slug) as (s, _):
            return list((await s.execute(select(Payment.id).order_by(Payment.id))).scalars())

    for op in ops:
        kind = op[0]
        known = await invoices()
        if kind == "order":
            _, who, lines = op

            async def confirm(session, admin, who=who, lines=lines):
                from app.crm.models import Account

                buyer = await session.get(Account, buyers[who])
                order = await draft_order(session, buyer, lines)
                await order_status.confirm_order(session, admin, order.id)

            await _attempt(books, confirm)
        elif kind == "credit" and known:
            invoice = known[op[1] % len(known)]

            async def credit(session, admin, invoice=invoice, pct=op[2]):
                first = (await credit_notes.left_to_credit(session, invoice.id))[0]
                amount = share(first.net or CENT, pct)  # over 100 %: more than is left (refused)
                await credit_notes.issue_credit_note(
                    session, admin, invoice.id, lines=[{"line_no": first.line.line_no, "amount": str(amount)}]
                )

            await _attempt(books, credit)
        elif kind == "receive":
            _, who, cents, wanted = op
            amount = Decimal(cents).scaleb(-2)
            mine = [i for i in known if i.account_id == buyers[who]]
            allocations = []
            for idx, pct in wanted:
                if mine:
                    inv = mine[idx % len(mine)]
                    if inv.id not in {a["invoice_id"] for a in allocations}:
                        allocations.append(
                            {
                                "invoice_id": inv.id,
                                "amount": str(share(inv.total - inv.paid - inv.credited or CENT, pct)),
                            }
                        )

            async def receive(session, admin, who=who, amount=amount, allocations=allocations):
                await payments_in.receive_payment(
                    session,
                    admin,
                    {"account_id": buyers[who], "amount": str(amount), "allocations": allocations},
                )

            await _attempt(books, receive)
        elif kind == "allocate" and known:
            paid = await receipts()
            if not paid:
                continue
            payment_id = paid[op[1] % len(paid)]
            invoice = known[op[2] % len(known)]

            async def allocate(session, admin, payment_id=payment_id, invoice=invoice, pct=op[3]):
                payment = await session.get(Payment, payment_id)
                free = payment.amount - payment.allocated
                await payments_in.allocate(
                    session,
                    admin,
                    payment_id,
                    [{"invoice_id": invoice.id, "amount": str(share(free or CENT, pct))}],
                )

            await _attempt(books, allocate)
        elif kind == "manual":
            amount = Decimal(op[1]).scaleb(-2)

            async def manual(session, admin, amount=amount):
                await post(
                    session,
                    admin,
                    PostingRequest(
                        date=tenant_today(),
                        lines=[PostingLine("660202", debit=amount), PostingLine("1002", credit=amount)],
                    ),
                )

            await _attempt(books, manual)
        elif kind == "concurrent" and known:
            invoice = known[op[1] % len(known)]
            open_amount = invoice.total - invoice.paid - invoice.credited

            def pay(pct, invoice=invoice, open_amount=open_amount):
                amount = share(open_amount or CENT, pct)

                async def step(session, admin):
                    await payments_in.receive_payment(
                        session,
                        admin,
                        {
                            "account_id": invoice.account_id,
                            "amount": str(amount),
                            "allocations": [{"invoice_id": invoice.id, "amount": str(amount)}],
                        },
                    )

                return step

            async def one(step):
                try:
                    async with as_admin(books) as (session, admin):
                        await step(session, admin)
                except DomainError:
                    pass

            await asyncio.gather(*(one(pay(pct)) for pct in op[2]))
        await _invariants(books)
