"""Statements against figures worked out by hand (tests/finance/statement_books.py): profit and
loss for whole and partial months, comparisons, the balance sheet balancing with the unclosed
result in equity, the cash report by source, and each figure equal to its account's ledger."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.finance import errors
from app.finance.services import account_ledger, statements, year_end
from app.finance.services.movements import DateRange
from tenants.service import in_tenant
from tests.finance.statement_books import D, cas_books, ifrs_books
from tests.tenants.conftest import make_tenant  # noqa: F401  (fixture)

Q1 = (date(2026, 1, 1), date(2026, 3, 31))


def figures(statement) -> dict[str, tuple[Decimal, ...]]:
    return {line.key: line.values for line in statement.lines if line.values and line.account_id is None}


def by_code(statement) -> dict[str, tuple[Decimal, ...]]:
    return {line.code: line.values for line in statement.lines if line.kind == "account"}


@pytest.fixture
async def books(make_tenant):  # noqa: F811
    return await ifrs_books(await make_tenant("fst"))


async def test_profit_and_loss_of_a_quarter_compared_with_last_year(books):
    async with in_tenant(books.tenant.slug) as (session, _):
        compare = statements.range_comparison("year", DateRange(*Q1))
        pnl = await statements.profit_and_loss(session, *Q1, compare=compare)
    assert compare == DateRange(date(2025, 1, 1), date(2025, 3, 31))
    f = figures(pnl)
    assert f["revenue"] == (D("3000.00"), D("500.00"))
    assert f["cost_of_sales"] == (D("600.00"), D("0.00"))
    assert f["gross_profit"] == (D("2400.00"), D("500.00"))
    assert f["operating_expenses"] == (D("300.00"), D("0.00"))
    assert f["operating_profit"] == (D("2100.00"), D("500.00"))
    assert f["finance_costs"] == (D("50.00"), D("0.00"))
    assert f["profit_before_tax"] == (D("2050.00"), D("500.00"))
    assert f["income_tax"] == (D("200.00"), D("0.00"))
    assert f["net_profit"] == (D("1850.00"), D("500.00"))
    net = pnl.figure("net_profit")
    assert (net.change, net.change_percent) == (D("1350.00"), D("270.0"))
    assert pnl.figure("cost_of_sales").change_percent is None  # nothing to compare with
    assert by_code(pnl) == {
        "4000": (D("3000.00"), D("500.00")),
        "5000": (D("600.00"), D("0.00")),
        "6200": (D("300.00"), D("0.00")),
        "7000": (D("50.00"), D("0.00")),
        "8000": (D("200.00"), D("0.00")),
    }
    # 6200's group 6000 Operating expenses is the whole section: no group row of its own.
    assert [line.kind for line in pnl.lines].count("group") == 0
    admin = pnl.account_line(books.accounts["6200"])
    assert admin is not None
    assert admin.depth == 1
    assert [line.key for line in pnl.lines if line.kind == "total"] == ["net_profit"]


@pytest.mark.parametrize(
    ("start", "end", "net", "revenue"),
    [
        # Partial months at both ends, each more than half its month (month balance less the rest).
        (date(2026, 1, 15), date(2026, 2, 20), "-900.00", "0.00"),
        # A few days inside one month (the lines of those days).
        (date(2026, 2, 10), date(2026, 2, 16), "-300.00", "0.00"),
        # Half a month or less at each end, with a whole month between.
        (date(2026, 1, 25), date(2026, 3, 10), "1650.00", "2000.00"),
        (date(2026, 3, 1), date(2026, 3, 31), "1800.00", "2000.00"),
        (date(2026, 1, 11), date(2026, 3, 9), "-950.00", "0.00"),
        (date(2026, 1, 10), date(2026, 1, 10), "1000.00", "1000.00"),
    ],
)
async def test_any_range_of_days(books, start, end, net, revenue):
    async with in_tenant(books.tenant.slug) as (session, _):
        pnl = await statements.profit_and_loss(session, start, end)
    assert pnl.figure("net_profit").values == (D(net),)
    assert pnl.figure("revenue").values == (D(revenue),)
    assert not pnl.compared


async def test_the_balance_sheet_balances_with_the_unclosed_result_in_equity(books):
    async with in_tenant(books.tenant.slug) as (session, _):
        compare = statements.date_comparison("year_start", Q1[1])
        bs = await statements.balance_sheet(session, Q1[1], compare=compare)
    assert compare == date(2025, 12, 31)
    f = figures(bs)
    assert f["current_assets"] == (D("3940.00"), D("500.00"))
    inventories = next(line for line in bs.lines if line.kind == "group")  # 1230 under 1200, with others
    assert (inventories.code, inventories.label, inventories.values) == (
        "1200",
        "Inventories",
        (D("400.00"), D("0.00")),
    )
    assert bs.account_line(books.accounts["1230"]).depth == 2
    assert f["total_assets"] == (D("3940.00"), D("500.00"))
    assert f["current_liabilities"] == (D("1590.00"), D("0.00"))
    assert f["result_current_year"] == (D("1850.00"), D("500.00"))
    assert f["result_earlier_years"] == (D("500.00"), D("0.00"))
    assert f["equity"] == (D("2350.00"), D("500.00"))
    assert f["total_liabilities_and_equity"] == (D("3940.00"), D("500.00"))
    assert bs.balanced
    assert by_code(bs) == {
        "1000": (D("100.00"), D("0.00")),
        "1010": (D("1180.00"), D("500.00")),
        "1100": (D("2260.00"), D("0.00")),
        "1230": (D("400.00"), D("0.00")),
        "2000": (D("1000.00"), D("0.00")),
        "2210": (D("390.00"), D("0.00")),
        "2220": (D("200.00"), D("0.00")),
    }
    assert "other_assets" not in f  # optional sections with nothing in them are left out


async def test_closing_the_year_moves_the_result_into_retained_earnings(books):
    async with in_tenant(books.tenant.slug) as (session, _):
        await year_end.close_year(session, None, 2025)
    async with in_tenant(books.tenant.slug) as (session, _):
        bs = await statements.balance_sheet(session, Q1[1])
        year = await statements.profit_and_loss(session, date(2025, 1, 1), date(2025, 12, 31))
        december = await statements.profit_and_loss(session, date(2025, 12, 31), date(2026, 1, 31))
    # The closing entry (31 Dec 2025, revenue Dr 500 / retained earnings Cr 500) is not income.
    assert year.figure("net_profit").values == (D("500.00"),)
    assert december.figure("revenue").values == (D("1000.00"),)
    f = figures(bs)
    assert "result_earlier_years" not in f
    assert by_code(bs)["3200"] == (D("500.00"),)
    assert f["equity"] == (D("2350.00"),)
    assert bs.balanced


async def test_the_cash_report_by_account_and_by_source(books):
    async with in_tenant(books.tenant.slug) as (session, _):
        compare = statements.range_comparison("previous", DateRange(*Q1))
        cash = await statements.cash_report(session, *Q1, compare=compare)
    assert compare == DateRange(date(2025, 10, 1), date(2025, 12, 31))
    rows = {r.code: (r.opening, r.money_in, r.money_out, r.closing) for r in cash.accounts}
    assert rows == {
        "1000": (D("0.00"), D("100.00"), D("0.00"), D("100.00")),
        "1010": (D("500.00"), D("1130.00"), D("450.00"), D("1180.00")),
    }
    t = cash.total
    assert (t.opening, t.money_in, t.money_out, t.closing) == (
        D("500.00"),
        D("1230.00"),
        D("450.00"),
        D("1280.00"),
    )
    s = {line.key: line.values for line in cash.summary}
    assert s["opening"] == (D("500.00"), D("500.00"))
    assert s["in_customers"] == (D("1130.00"), D("0.00"))
    assert s["in_transfers"] == (D("100.00"), D("0.00"))
    assert s["out_transfers"] == (D("100.00"), D("0.00"))
    assert s["out_other"] == (D("350.00"), D("0.00"))
    assert s["out_suppliers"] == (D("0.00"), D("0.00"))  # always shown
    assert "in_other" not in s
    assert s["money_in"] == (D("1230.00"), D("0.00"))
    assert s["money_out"] == (D("450.00"), D("0.00"))
    assert s["net_change"] == (D("780.00"), D("0.00"))
    assert s["closing"] == (D("1280.00"), D("500.00"))


async def test_every_figure_equals_its_account_ledger(books):
    """Drill-down: the ledger behind each account figure adds up to the figure."""
    async with in_tenant(books.tenant.slug) as (session, _):
        pnl = await statements.profit_and_loss(session, date(2026, 1, 15), date(2026, 3, 20))
        bs = await statements.balance_sheet(session, date(2026, 3, 20))
        for statement in (pnl, bs):
            drill = statement.drill[0]
            for line in statement.lines:
                if line.kind != "account":
                    continue
                ledger = await account_ledger.account_ledger(session, line.account_id, drill.start, drill.end)
                side = 1 if ledger.account.type in ("asset", "expense") else -1
                if statement.kind == "profit_and_loss":
                    assert (ledger.debit - ledger.credit) * side == line.current, line.code
                else:
                    assert ledger.closing * side == line.current, line.code
                if ledger.lines:
                    assert ledger.lines[-1].balance == ledger.closing


async def test_the_account_ledger_pages_with_running_balances(books):
    bank = books.accounts["1010"]
    async with in_tenant(books.tenant.slug) as (session, _):
        first = await account_ledger.account_ledger(session, bank, *Q1, limit=2)
        second = await account_ledger.account_ledger(session, bank, *Q1, limit=2, cursor=first.next_cursor)
    assert (first.opening, first.debit, first.credit, first.closing) == (
        D("500.00"),
        D("1130.00"),
        D("450.00"),
        D("1180.00"),
    )
    assert [(x.entry_date, x.debit, x.credit, x.balance) for x in first.lines] == [
        (date(2026, 2, 5), D("1130.00"), D("0.00"), D("1630.00")),
        (date(2026, 2, 15), D("0.00"), D("300.00"), D("1330.00")),
    ]
    receipt = first.lines[0]
    assert receipt.partner == "Account books"
    assert receipt.memo == "receipt"
    assert receipt.number.startswith("收-2026-02-")
    assert receipt.source_url == f"/finance/payments/{books.payment_id}"
    assert first.lines[1].source_url is None  # a manual entry has no document
    assert [x.balance for x in second.lines] == [D("1280.00"), D("1180.00")]
    assert second.next_cursor is None


async def test_bad_dates_and_comparisons_are_refused():
    with pytest.raises(errors.InvalidStatementDate):
        statements.parse_range("2026-02-30", "2026-03-01")
    with pytest.raises(errors.InvalidStatementDate):
        statements.parse_range("", "2026-03-01")
    with pytest.raises(errors.InvalidDateRange):
        statements.parse_range("2026-03-02", "2026-03-01")
    with pytest.raises(errors.InvalidComparison):
        statements.range_comparison("lastweek", DateRange(*Q1))
    with pytest.raises(errors.InvalidStatementDate):
        statements.range_comparison("custom", DateRange(*Q1), "2025-01-01", None)
    with pytest.raises(errors.InvalidComparison):
        statements.date_comparison("tomorrow", Q1[1])


def test_comparison_ranges():
    feb = DateRange(date(2026, 2, 1), date(2026, 2, 28))
    assert statements.previous_period(feb) == DateRange(date(2026, 1, 1), date(2026, 1, 31))
    q = DateRange(date(2026, 4, 1), date(2026, 6, 30))
    assert statements.previous_period(q) == DateRange(date(2026, 1, 1), date(2026, 3, 31))
    days = DateRange(date(2026, 3, 10), date(2026, 3, 16))
    assert statements.previous_period(days) == DateRange(date(2026, 3, 3), date(2026, 3, 9))
    leap = DateRange(date(2028, 2, 1), date(2028, 2, 29))
    assert statements.same_period_last_year(leap) == DateRange(date(2027, 2, 1), date(2027, 2, 28))
    assert statements.same_period_last_year(DateRange(date(2027, 2, 1), date(2027, 2, 28))) == DateRange(
        date(2026, 2, 1), date(2026, 2, 28)
    )
    assert statements.date_comparison("previous", date(2026, 3, 15)) == date(2026, 2, 28)
    assert statements.date_comparison("year", date(2028, 2, 29)) == date(2027, 2, 28)
    assert statements.date_comparison("year_start", date(2026, 7, 1)) == date(2025, 12, 31)
    assert statements.date_comparison("none", date(2026, 7, 1)) is None


async def test_a_cas_tenant_gets_the_china_accounting_standards_layout(make_tenant):  # noqa: F811
    books = await cas_books(await make_tenant("fcas", locale="zh_Hans"))
    async with in_tenant(books.tenant.slug) as (session, _):
        pnl = await statements.profit_and_loss(session, *Q1)
        bs = await statements.balance_sheet(session, Q1[1])
    assert pnl.template == "cas"
    f = figures(pnl)
    assert f["revenue"] == (D("1000.00"),)
    assert f["gross_profit"] == (D("400.00"),)
    assert f["taxes_and_surcharges"] == (D("15.00"),)
    assert f["selling_expenses"] == (D("80.00"),)
    assert f["administrative_expenses"] == (D("300.00"),)
    assert f["finance_costs"] == (D("20.00"),)
    assert f["operating_profit"] == (D("-15.00"),)
    assert f["profit_before_tax"] == (D("-15.00"),)
    assert f["net_profit"] == (D("-115.00"),)
    admin = [
        (x.kind, x.key, x.code, x.label, x.depth)
        for x in pnl.lines
        if x.code.startswith("6602") or x.key == "administrative_expenses"
    ]
    assert admin == [
        ("section", "administrative_expenses", "", "Administrative expenses", 0),
        ("account", "660202", "660202", "管理费用-办公费", 1),
    ]
    b = figures(bs)
    assert b["current_assets"] == (D("1130.00"),)
    assert b["current_liabilities"] == (D("1245.00"),)
    assert b["result_current_year"] == (D("-115.00"),)
    assert b["total_liabilities_and_equity"] == (D("1130.00"),)
    assert bs.balanced
    taxes = next(x for x in bs.lines if x.code == "2221")
    assert (taxes.kind, taxes.label, taxes.values) == ("group", "应交税费", (D("245.00"),))
