"""The ledger's rules, held by the posting service and — for balance, immutability and closed
periods — by the database itself (raw SQL cannot break them either)."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app.finance import errors
from app.finance.events import ENTRY_POSTED
from app.finance.models import Account, EntryLine
from app.finance.services import periods, posting, reports
from app.finance.services.charts import IFRS
from app.finance.services.posting import PostingLine, PostingRequest
from app.finance.services.setup import install_chart
from app.kernel.db import get_database
from app.kernel.outbox import OutboxEvent
from tenants.service import in_tenant
from tests.crm.support import acting_as
from tests.finance.support import codes, fresh_month, ledger_counts, sale, scalar


async def test_the_chart_is_installed_once_with_group_accounts(acme):
    async with in_tenant(acme.slug) as (session, _):
        assert await install_chart(session, "ifrs") == "ifrs"
        assert await install_chart(session, "cas") == "ifrs"  # the first choice stays
        template_codes = [a.code for a in IFRS]
        count = (
            await session.execute(
                select(func.count()).select_from(Account).where(Account.code.in_(template_codes))
            )
        ).scalar_one()
        taxes = (await session.execute(select(Account).where(Account.code == "2200"))).scalar_one()
        vat = (await session.execute(select(Account).where(Account.code == "2210"))).scalar_one()
    assert count == len(IFRS)
    assert not taxes.postable
    assert vat.parent_id == taxes.id
    assert vat.postable


async def test_a_posting_is_numbered_totalled_and_announced(acme):
    c, on = await codes(acme), fresh_month()
    async with acting_as(acme, "bob") as (session, principal):
        first = await posting.post(session, principal, sale(c, on))
        second = await posting.post(session, principal, sale(c, on, journal="receipts"))
        third = await posting.post(session, principal, sale(c, on))
    assert first.number == f"记-{on.year}-06-0001"
    assert second.number == f"收-{on.year}-06-0001"
    assert third.number == f"记-{on.year}-06-0002"
    assert first.status == "posted"
    assert first.posted_by == f"user:{acme.users['bob']}"
    debit = await scalar(
        acme,
        "SELECT b.debit FROM S.fin_period_balances b JOIN S.fin_periods p ON p.id = b.period_id "
        "JOIN S.fin_accounts a ON a.id = b.account_id WHERE p.year = :y AND p.month = 6 AND a.code = :code",
        y=on.year,
        code=c["receivable"],
    )
    assert debit == Decimal("3390.00")
    async with get_database().shared_session() as s:
        event = (
            await s.execute(
                select(OutboxEvent).where(
                    OutboxEvent.topic == ENTRY_POSTED,
                    OutboxEvent.tenant_id == acme.id,
                    OutboxEvent.payload["entry_id"].as_integer() == first.id,
                )
            )
        ).scalar_one()
    assert event.payload["number"] == first.number
    assert event.payload["total"] == "1130.00"


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ([("receivable", "100.00", "0"), ("revenue", "0", "99.99")], "unbalanced_entry"),
        ([("receivable", "-5.00", "0"), ("revenue", "0", "-5.00")], "negative_amount"),
        ([("receivable", "1.005", "0"), ("revenue", "0", "1.005")], "invalid_amount"),
        ([("receivable", "5.00", "5.00"), ("revenue", "0", "5.00")], "invalid_amount"),
        ([("receivable", "5.00", "0")], "too_few_lines"),
        ([("9999", "5.00", "0"), ("revenue", "0", "5.00")], "unknown_account"),
        ([("taxes", "5.00", "0"), ("revenue", "0", "5.00")], "account_not_postable"),
    ],
)
async def test_bad_postings_are_refused_and_write_nothing(acme, lines, code):
    c = {**await codes(acme), "taxes": "2200", "9999": "9999"}
    before = await ledger_counts(acme)
    request = PostingRequest(
        date=fresh_month(),
        lines=[PostingLine(c[a], debit=Decimal(d), credit=Decimal(cr)) for a, d, cr in lines],
    )
    with pytest.raises(errors.PostingRefused) as refused:
        async with acting_as(acme, "bob") as (session, principal):
            await posting.post(session, principal, request)
    assert refused.value.code == code
    assert await ledger_counts(acme) == before


async def test_an_unknown_journal_or_partner_is_refused(acme):
    c, on = await codes(acme), fresh_month()
    with pytest.raises(errors.UnknownJournal):
        async with acting_as(acme, "bob") as (session, principal):
            await posting.post(session, principal, sale(c, on, journal="sales"))
    bad = PostingRequest(
        date=on,
        lines=[
            PostingLine(c["receivable"], debit=Decimal(1), partner_id=987654321),
            PostingLine(c["revenue"], credit=Decimal(1)),
        ],
    )
    with pytest.raises(errors.UnknownPartner) as refused:
        async with acting_as(acme, "bob") as (session, principal):
            await posting.post(session, principal, bad)
    assert refused.value.errors[0].field == "lines.0.partner_id"


async def test_nothing_posts_into_a_closed_period(acme):
    c, on = await codes(acme), fresh_month()
    async with acting_as(acme, "bob") as (session, principal):
        entry = await posting.post(session, principal, sale(c, on))
        await periods.set_period_status(session, on.year, on.month, "closed")
    before = await ledger_counts(acme)
    with pytest.raises(errors.PeriodClosed):
        async with acting_as(acme, "bob") as (session, principal):
            await posting.post(session, principal, sale(c, on))
    with pytest.raises(errors.PeriodClosed):  # a reversal dated in the closed period too
        async with acting_as(acme, "bob") as (session, principal):
            await posting.reverse(session, principal, entry.id)
    assert await ledger_counts(acme) == before
    # The trigger refuses it even when the service is bypassed.
    insert = (
        f'INSERT INTO "{acme.schema}".fin_entries (journal, number, entry_date, period_id, status, memo) '
        "VALUES ('general', 'X-closed', :d, :p, 'posted', '')"
    )
    with pytest.raises(DBAPIError, match="fin_period_closed"):
        await execute(acme, insert, d=on, p=entry.period_id)
    # Reopened, it takes postings again.
    async with acting_as(acme, "bob") as (session, principal):
        await periods.set_period_status(session, on.year, on.month, "open")
        again = await posting.post(session, principal, sale(c, on))
    assert again.number == f"记-{on.year}-06-0002"


async def _raw_entry(session, schema: str, on: date, status: str = "draft") -> int:
    period = await periods.period_for(session, on)
    return (
        await session.execute(
            text(
                f'INSERT INTO "{schema}".fin_entries (journal, number, entry_date, period_id, status, memo) '
                "VALUES ('general', :n, :d, :p, :s, 'raw') RETURNING id"
            ),
            {"n": f"RAW-{on.year}-{status}", "d": on, "p": period.id, "s": status},
        )
    ).scalar_one()


async def _account_id(session, code: str) -> int:
    return (await session.execute(select(Account.id).where(Account.code == code))).scalar_one()


async def _raw_line(tenant, on: date, code: str, **amounts: Decimal) -> None:
    async with in_tenant(tenant.slug) as (session, _):
        entry_id = await _raw_entry(session, tenant.schema, on)
        account_id = await _account_id(session, code)
        session.add(EntryLine(entry_id=entry_id, line_no=1, account_id=account_id, **amounts))
        await session.flush()


async def execute(tenant, sql: str, **params) -> None:
    async with in_tenant(tenant.slug) as (session, _):
        await session.execute(text(sql), params)


async def test_the_database_refuses_an_unbalanced_posted_entry_at_commit(acme):
    c, on = await codes(acme), fresh_month()
    before = await ledger_counts(acme)

    async def one_sided() -> None:
        async with in_tenant(acme.slug) as (session, _):
            entry_id = await _raw_entry(session, acme.schema, on)
            account = await _account_id(session, c["receivable"])
            await session.execute(
                text(
                    f'INSERT INTO "{acme.schema}".fin_entry_lines '
                    "(entry_id, line_no, account_id, debit, credit, memo) VALUES (:e, 1, :a, 100, 0, '')"
                ),
                {"e": entry_id, "a": account},
            )
            await session.execute(
                text(f"UPDATE \"{acme.schema}\".fin_entries SET status = 'posted' WHERE id = :e"),
                {"e": entry_id},
            )
            # Still fine here: the constraint trigger is deferred to the commit.

    with pytest.raises(DBAPIError, match="fin_unbalanced_entry"):
        await one_sided()

    async def without_lines() -> None:
        async with in_tenant(acme.slug) as (session, _):
            await _raw_entry(session, acme.schema, on, status="posted")

    with pytest.raises(DBAPIError, match="fin_unbalanced_entry"):
        await without_lines()
    assert await ledger_counts(acme) == before


async def test_a_line_is_a_debit_xor_a_credit_in_the_database(acme):
    c, on = await codes(acme), fresh_month()
    with pytest.raises(DBAPIError, match="debit_xor_credit"):
        await _raw_line(acme, on, c["bank"], debit=Decimal(5), credit=Decimal(5))


async def test_posted_entries_and_lines_cannot_change(acme):
    c, on = await codes(acme), fresh_month()
    async with acting_as(acme, "bob") as (session, principal):
        entry = await posting.post(session, principal, sale(c, on))
    statements = [
        f'UPDATE "{acme.schema}".fin_entry_lines SET debit = debit + 1 WHERE entry_id = :e AND debit > 0',
        f'DELETE FROM "{acme.schema}".fin_entry_lines WHERE entry_id = :e',
        f"UPDATE \"{acme.schema}\".fin_entries SET memo = 'changed' WHERE id = :e",
        f'DELETE FROM "{acme.schema}".fin_entries WHERE id = :e',
        f'INSERT INTO "{acme.schema}".fin_entry_lines (entry_id, line_no, account_id, debit, credit, memo) '
        "SELECT :e, 9, account_id, debit, credit, '' FROM "
        + f'"{acme.schema}".fin_entry_lines WHERE entry_id = :e',
    ]
    for sql in statements:
        with pytest.raises(DBAPIError, match="fin_posted_entry_immutable"):
            await execute(acme, sql, e=entry.id)
    assert await scalar(acme, "SELECT memo FROM S.fin_entries WHERE id = :e", e=entry.id) == "sale"


async def test_group_accounts_refuse_lines_in_the_database(acme):
    on = fresh_month()
    with pytest.raises(DBAPIError, match="fin_account_not_postable"):
        await _raw_line(acme, on, "2200", debit=Decimal(5))


async def test_a_reversal_mirrors_the_entry_once(acme):
    c, on = await codes(acme), fresh_month()
    async with acting_as(acme, "bob") as (session, principal):
        entry = await posting.post(session, principal, sale(c, on, source_id=42))
        undo = await posting.reverse(session, principal, entry.id)
    assert undo.reversal_of == entry.id
    assert undo.number == f"记-{on.year}-06-0002"
    assert (undo.source_type, undo.source_id) == ("test", 42)
    async with in_tenant(acme.slug) as (session, _):
        tb = await reports.trial_balance(session, on.year, on.month)
    receivable = next(r for r in tb.rows if r.code == c["receivable"])
    assert receivable.period_debit == receivable.period_credit == Decimal("1130.00")
    assert (receivable.closing_debit, receivable.closing_credit) == (
        receivable.opening_debit,
        receivable.opening_credit,
    )
    with pytest.raises(errors.AlreadyReversed):
        async with acting_as(acme, "bob") as (session, principal):
            await posting.reverse(session, principal, entry.id)


async def test_voucher_numbers_stay_gapless_under_concurrent_posting(acme):
    c, on = await codes(acme), fresh_month()

    class Abandon(Exception):
        pass

    async def one(i: int) -> str | None:
        try:
            async with acting_as(acme, "bob") as (session, principal):
                entry = await posting.post(session, principal, sale(c, on, memo=f"concurrent {i}"))
                number = entry.number
                await asyncio.sleep(0.01 * (i % 3))
                if i == 2:
                    raise Abandon  # rolled back after taking a number: the number is given back
            return number
        except Abandon:
            return None

    numbers = await asyncio.gather(*(one(i) for i in range(6)))
    kept = sorted(n for n in numbers if n is not None)
    assert kept == [f"记-{on.year}-06-{k:04d}" for k in range(1, 6)]
    async with acting_as(acme, "bob") as (session, principal):
        after = await posting.post(session, principal, sale(c, on))
    assert after.number == f"记-{on.year}-06-0006"
    async with in_tenant(acme.slug) as (session, _):
        assert await reports.check_ledger(session) == []


async def test_the_trial_balance_equals_the_ledger(acme):
    c, on = await codes(acme), fresh_month()
    earlier = date(on.year, 5, 3)
    async with acting_as(acme, "bob") as (session, principal):
        await posting.post(session, principal, sale(c, earlier, net="500.00", tax="65.00"))
        await posting.post(session, principal, sale(c, on))
        await posting.post(
            session,
            principal,
            PostingRequest(
                date=on,
                journal="receipts",
                lines=[
                    PostingLine(c["bank"], debit=Decimal("565.00")),
                    PostingLine(c["receivable"], credit=Decimal("565.00")),
                ],
            ),
        )
    async with in_tenant(acme.slug) as (session, _):
        tb = await reports.trial_balance(session, on.year, on.month)
        ledger = await reports.ledger_totals(session, on.year, on.month)
        assert await reports.check_ledger(session) == []
    assert tb.balanced
    assert {
        r.account_id: (r.period_debit, r.period_credit) for r in tb.rows if r.period_debit or r.period_credit
    } == ledger
    receivable = next(r for r in tb.rows if r.code == c["receivable"])
    assert receivable.opening_debit >= Decimal("565.00")
    assert receivable.closing_debit - receivable.opening_debit == Decimal("1130.00") - Decimal("565.00")


async def test_the_posting_door_shares_the_callers_transaction(acme):
    """A document that fails after its entry was posted takes the entry (and its event) with it."""
    c, on = await codes(acme), fresh_month()
    before = await ledger_counts(acme)

    class DocumentFailed(Exception):
        pass

    async def document_fails() -> None:
        async with acting_as(acme, "bob") as (session, principal):
            await posting.post(session, principal, sale(c, on, memo="door"))
            raise DocumentFailed

    with pytest.raises(DocumentFailed):
        await document_fails()
    assert await ledger_counts(acme) == before

    async def second_posting_refused() -> None:
        async with acting_as(acme, "bob") as (session, principal):
            await posting.post(session, principal, sale(c, on))
            await posting.post(
                session,
                principal,
                PostingRequest(
                    date=on,
                    lines=[
                        PostingLine(c["bank"], debit=Decimal("1.00")),
                        PostingLine(c["revenue"], credit=Decimal("2.00")),
                    ],
                ),
            )

    with pytest.raises(errors.Unbalanced):
        await second_posting_refused()
    assert await ledger_counts(acme) == before


async def test_the_ledger_check_sees_a_gap_in_the_voucher_numbers(acme):
    """An entry numbered out of sequence behind the service's back (then rolled back)."""
    c, on = await codes(acme), fresh_month()

    class Undo(Exception):
        pass

    async def gap() -> list[str]:
        async with in_tenant(acme.slug) as (session, _):
            entry_id = await _raw_entry(session, acme.schema, on)
            for no, (code, debit, credit) in enumerate([(c["bank"], 5, 0), (c["revenue"], 0, 5)], start=1):
                session.add(
                    EntryLine(
                        entry_id=entry_id,
                        line_no=no,
                        account_id=await _account_id(session, code),
                        debit=Decimal(debit),
                        credit=Decimal(credit),
                    )
                )
            await session.flush()
            await session.execute(
                text(
                    f"UPDATE \"{acme.schema}\".fin_entries SET status = 'posted', number = :n WHERE id = :e"
                ),
                {"n": f"记-{on:%Y-%m}-0007", "e": entry_id},
            )
            problems = await reports.check_ledger(session)
            raise Undo(problems)

    with pytest.raises(Undo) as undone:
        await gap()
    assert any("voucher numbers" in p for p in undone.value.args[0])
    async with in_tenant(acme.slug) as (session, _):
        assert await reports.check_ledger(session) == []


async def test_an_entry_on_an_account_taken_out_of_use_can_still_be_reversed(acme):
    c, on = await codes(acme), fresh_month()
    async with acting_as(acme, "bob") as (session, principal):
        account = Account(code=f"9{on.year}", name="Old revenue", type="income", postable=True, active=True)
        session.add(account)
        await session.flush()
        entry = await posting.post(
            session,
            principal,
            PostingRequest(
                date=on,
                lines=[
                    PostingLine(c["bank"], debit=Decimal("10.00")),
                    PostingLine(account.code, credit=Decimal("10.00")),
                ],
            ),
        )
        account.active = False
    # New postings to it are refused, the reversal of what was posted to it is not.
    with pytest.raises(errors.AccountInactive):
        async with acting_as(acme, "bob") as (session, principal):
            await posting.post(
                session,
                principal,
                PostingRequest(
                    date=on,
                    lines=[
                        PostingLine(c["bank"], debit=Decimal("1.00")),
                        PostingLine(f"9{on.year}", credit=Decimal("1.00")),
                    ],
                ),
            )
    async with acting_as(acme, "bob") as (session, principal):
        undo = await posting.reverse(session, principal, entry.id)
    assert undo.reversal_of == entry.id
