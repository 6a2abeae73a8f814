"""How long a confirmation holds the tenant's gapless counters.

Every confirmation that invoices takes two counter rows — the invoice series of the year and the
general journal's vouchers of the month — and holds their locks until it commits, so all
confirmations of a tenant queue behind each other from that moment on (docs/finance.md,
"Numbering"). Both are therefore taken in ONE statement (the one that posts the entry) after every
read, and only the writes that need the numbers follow it. These tests keep it that way, and keep
the statement count of a confirmation from creeping back up (bench/README.md §8c)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import event, select

from app.crm.services import order_status
from app.finance.models import Entry, EntryLine, Invoice
from tests.finance.ar_support import as_admin, customer, draft_order

LINES = [("100.00", "2", "13"), ("50.00", "1", "6"), ("80.00", "3", "13"), ("20.00", "5", "9")]
# A confirmation that invoices, steady state (the month's period exists): 19 statements today.
STATEMENT_BUDGET = 22


@contextmanager
def statements(session: Any) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = session.bind.sync_engine

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_both_numbers_are_taken_in_one_statement_after_every_read(books):
    async with as_admin(books) as (session, admin):
        buyer = await customer(session, "华南贸易")
        warm = await draft_order(session, buyer, LINES)
        await order_status.confirm_order(session, admin, warm.id)  # the month's first posting
        order = await draft_order(session, buyer, LINES)
        order_id = order.id
        await session.commit()
        with statements(session) as seen:
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


async def test_the_entry_names_the_order_and_the_customer_and_points_to_its_invoice(books):
    async with as_admin(books) as (session, admin):
        buyer = await customer(session, "西南电子")
        order = await draft_order(session, buyer, LINES[:1])
        confirmed = await order_status.confirm_order(session, admin, order.id)
        invoice = (
            await session.execute(select(Invoice).where(Invoice.sales_order_id == order.id))
        ).scalar_one()
        entry = await session.get(Entry, invoice.entry_id)
        assert entry is not None
        assert (entry.memo, entry.source_type, entry.source_id, entry.status) == (
            f"{confirmed.number} · 西南电子",
            "finance.invoice",
            invoice.id,
            "posted",
        )
        memos = (
            await session.execute(
                select(EntryLine.memo).where(EntryLine.entry_id == entry.id).order_by("line_no")
            )
        ).scalars()
        assert list(memos) == [confirmed.number, confirmed.number, f"{confirmed.number} VAT13"]
        assert invoice.number == confirmed.invoice_ref
        assert invoice.total == Decimal("226.00")
