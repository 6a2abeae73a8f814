"""How long a confirmation holds the tenant's gapless counters.

Every confirmation that invoices takes two counter rows — the invoice series of the year and the
general journal's vouchers of the month — and holds their locks until it commits, so all
confirmations of a tenant queue behind each other from that moment on (docs/finance.md,
"Numbering"). Both are therefore taken in ONE statement (the one that posts the entry) after every
read, and only the writes that need the numbers follow it. These tests keep it that way, and keep
the statement count of a confirmation from creeping back up (bench/README.md §8c)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.crm.models import SalesOrder
from app.crm.services import order_status
from app.finance.models import Entry, EntryLine, Invoice
from tests.finance.ar_support import as_admin, customer, draft_order
from tests.helpers import sql_sent

LINES = [("100.00", "2", "13"), ("50.00", "1", "6"), ("80.00", "3", "13"), ("20.00", "5", "9")]
# A confirmation that invoices, steady state (the month's period exists): 19 statements today.
STATEMENT_BUDGET = 22


async def test_both_numbers_are_taken_in_one_statement_after_every_read(books):
    async with as_admin(books) as (session, admin):
        buyer = await customer(session, "华南贸易")
        warm = await draft_order(session, buyer, LINES)
        await order_status.confirm_order(session, admin, warm.id)  # the month's first posting
        order = await draft_order(session, buyer, LINES)
        order_id = order.id
        await session.commit()
        with sql_sent() as seen:
            confirmed = await order_status.confirm_order(session, admin, order_id)
            invoice_ref = confirmed.invoice_ref
        await session.commit()

    counters = [i for i, s in enumerate(seen) if "fin_document_counters" in s or "fin_voucher_counters" in s]
    assert len(counters) == 1, [seen[i][:120] for i in counters]
    taking = seen[counters[0]]
    assert "fin_document_counters" in taking
    assert "fin_voucher_counters" in taking
    after = seen[counters[0] + 1 :]
    assert after, "the invoice is written after its number is taken"
    assert all(s.startswith(("INSERT", "UPDATE")) for s in after), [s[:80] for s in after]
    written = {s.split()[2 if s.startswith("INSERT") else 1].rsplit(".", 1)[-1] for s in after}
    assert written == {"fin_invoices", "fin_invoice_lines", "crm_sales_orders", "outbox", "audit_log"}
    assert len(seen) <= STATEMENT_BUDGET, "\n".join(s[:120] for s in seen)
    assert invoice_ref is not None


async def test_the_entry_memo_is_led_by_the_invoice_number_taken_with_the_voucher(books):
    async with as_admin(books) as (session, admin):
        buyer = await customer(session, "西南电子")
        order = await draft_order(session, buyer, LINES[:2])
        confirmed = await order_status.confirm_order(session, admin, order.id)
        invoice = (
            await session.execute(select(Invoice).where(Invoice.sales_order_id == order.id))
        ).scalar_one()
        entry = await session.get(Entry, invoice.entry_id)
        assert entry is not None
        assert (entry.memo, entry.source_type, entry.source_id, entry.status) == (
            f"{invoice.number} · {confirmed.number} · 西南电子",
            "finance.invoice",
            invoice.id,
            "posted",
        )
        await session.commit()
        session.expunge_all()  # what the database holds, not the session's copy
        stored = await session.get(Entry, invoice.entry_id)
        assert stored is not None
        assert stored.memo == entry.memo
        memos = (
            await session.execute(
                select(EntryLine.memo).where(EntryLine.entry_id == entry.id).order_by("line_no")
            )
        ).scalars()
        # receivable and revenue show the entry's memo (the account ledger falls back to it)
        assert list(memos) == ["", "", "VAT13", "VAT6"]
        assert invoice.number == confirmed.invoice_ref
        assert invoice.total == Decimal("279.00")


async def test_an_invoice_into_a_closed_month_is_refused_before_any_number_is_taken(books):
    from app.finance.errors import PeriodClosed
    from app.finance.services.periods import period_for, set_status_by_id

    async with as_admin(books) as (session, admin):
        buyer = await customer(session, "东北重工")
        order = await draft_order(session, buyer, LINES[:1])
        order_id = order.id
        await session.commit()
    async with as_admin(books) as (session, admin):
        period = await period_for(session, order.order_date, lock=True)  # remembered, then closed
        await set_status_by_id(session, period.id, "closed")
        with sql_sent() as seen, pytest.raises(PeriodClosed):
            await order_status.confirm_order(session, admin, order_id)
        assert not [s for s in seen if "fin_document_counters" in s or "fin_voucher_counters" in s]
        await session.rollback()
    async with as_admin(books) as (session, _):
        stored = await session.get(SalesOrder, order_id)
        assert stored is not None
        assert stored.status == "draft"


async def test_a_session_used_again_after_commit_reads_the_settings_afresh(books):
    """What a transaction remembered goes with it: a session that lives on (the CLI, the demo,
    workers) sees settings another transaction changed since."""
    from sqlalchemy import update

    from app.finance.models import FinanceSettings
    from app.finance.services.receivables import finance_settings
    from tenants.service import in_tenant

    async with as_admin(books) as (session, _):
        before = (await finance_settings(session)).invoice_on
        await session.commit()
        changed = "fulfilled" if before != "fulfilled" else "confirmed"
        async with in_tenant(books.slug) as (other, _):
            await other.execute(update(FinanceSettings).values(invoice_on=changed))
        assert (await finance_settings(session)).invoice_on == changed
