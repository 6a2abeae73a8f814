"""The finance statements as ``Report`` tables for the CSV, XLSX and PDF exports: the same rows
and figures the pages show, labels in the reader's language, account names as they are."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.finance.services.account_ledger import AccountLedger
from app.finance.services.movements import DateRange
from app.finance.services.reports import TrialBalance, TrialBalanceRow
from app.finance.services.sources import source_label
from app.finance.services.statements import CashReport, Line, Statement
from app.kernel import context, i18n
from portals.finance.report_files import Column, Report, Row, Table

STYLES = {"heading": "heading", "section": "section", "subtotal": "subtotal", "total": "total"}


def span(r: DateRange) -> str:
    """ "1 Jan 2026 – 31 Mar 2026", or "At 31 Mar 2026" for a balance at a date."""
    if r.start is None:
        return i18n.gettext("At {date}", date=i18n.format_date(r.end))
    return f"{i18n.format_date(r.start)} – {i18n.format_date(r.end)}"


def compared_span(r: DateRange) -> str:
    """A comparison column in a sentence: "1 Jan 2025 – 31 Mar 2025", or just the date."""
    return i18n.format_date(r.end) if r.start is None else span(r)


def change_header() -> str:
    return i18n.pgettext("difference of two amounts", "Change")


def line_label(line: Line) -> str:
    return i18n.gettext(line.label) if line.translate else line.label


def _subtitle(*parts: str) -> str:
    tenant = context.current_tenant()
    return " · ".join(p for p in (tenant.name if tenant else "", *parts) if p)


def _compared(columns: list[DateRange]) -> str:
    if len(columns) < 2:
        return ""
    return i18n.gettext("compared with {period}", period=compared_span(columns[1]))


def _stamp(r: DateRange) -> str:
    return r.end.isoformat() if r.start is None else f"{r.start.isoformat()}-{r.end.isoformat()}"


def _compared_columns(columns: list[DateRange]) -> list[Column]:
    out = [
        Column(i18n.gettext("Code"), width=0.8),
        Column(i18n.pgettext("statement column", "Line item"), width=3.4),
        Column(span(columns[0]), "money", 1.3),
    ]
    if len(columns) > 1:
        out += [
            Column(span(columns[1]), "money", 1.3),
            Column(change_header(), "money", 1.2),
            Column(f"{change_header()} %", "percent", 0.8),
        ]
    return out


def _line_rows(lines: list[Line], compared: bool, width: int) -> list[Row]:
    rows = []
    for line in lines:
        cells: list[Any] = [line.code, line_label(line)]
        if line.values:
            cells.append(line.current)
            if compared:
                cells += [line.comparison, line.change, line.change_percent]
        else:
            cells += [None] * (width - 2)
        rows.append(Row(cells, STYLES.get(line.kind, ""), line.depth))
    return rows


def statement_report(statement: Statement) -> Report:
    pnl = statement.kind == "profit_and_loss"
    columns = _compared_columns(statement.columns)
    notes = []
    if not pnl:
        notes.append(
            i18n.gettext("Assets equal liabilities and equity.")
            if statement.balanced
            else i18n.gettext("Out of balance: check the ledger.")
        )
    return Report(
        i18n.gettext("Profit and loss") if pnl else i18n.gettext("Balance sheet"),
        _subtitle(span(statement.columns[0]), _compared(statement.columns)),
        [Table(columns, _line_rows(statement.lines, statement.compared, len(columns)))],
        f"{'profit-and-loss' if pnl else 'balance-sheet'}-{_stamp(statement.columns[0])}",
        notes=notes,
    )


def cash_report_file(cash: CashReport) -> Report:
    """Two tables: money in and out by source (with the comparison), then each cash account."""
    summary_columns = _compared_columns(cash.columns)
    accounts = [
        Column(i18n.gettext("Code"), width=0.8),
        Column(i18n.pgettext("ledger account", "Account"), width=3.4),
        Column(i18n.gettext("Opening balance"), "money", 1.2),
        Column(i18n.gettext("Money in"), "money", 1.2),
        Column(i18n.gettext("Money out"), "money", 1.2),
        Column(i18n.gettext("Closing balance"), "money", 1.2),
    ]
    rows = [Row([a.code, a.name, a.opening, a.money_in, a.money_out, a.closing]) for a in cash.accounts]
    t = cash.total
    rows.append(Row(["", i18n.gettext("Total"), t.opening, t.money_in, t.money_out, t.closing], "total"))
    return Report(
        i18n.gettext("Cash report"),
        _subtitle(span(cash.columns[0]), _compared(cash.columns)),
        [
            Table(
                summary_columns,
                _line_rows(cash.summary, cash.compared, len(summary_columns)),
                i18n.gettext("Money in and out by source"),
            ),
            Table(accounts, rows, i18n.gettext("Cash and bank accounts")),
        ],
        f"cash-report-{_stamp(cash.columns[0])}",
    )


def _tb_cells(r: TrialBalanceRow) -> list[Any]:
    return [
        r.opening_debit,
        r.opening_credit,
        r.period_debit,
        r.period_credit,
        r.closing_debit,
        r.closing_credit,
    ]


def trial_balance_report(tb: TrialBalance) -> Report:
    d, c = i18n.gettext("Debit"), i18n.gettext("Credit")
    columns = [
        Column(i18n.gettext("Code"), width=0.8),
        Column(i18n.pgettext("ledger account", "Account"), width=2.6),
    ]
    for caption in (
        i18n.gettext("Opening balance"),
        i18n.gettext("Movements"),
        i18n.gettext("Closing balance"),
    ):
        columns += [Column(f"{caption} · {d}", "money"), Column(f"{caption} · {c}", "money")]
    rows = [Row([r.code, r.name, *_tb_cells(r)]) for r in tb.rows]
    rows.append(Row(["", i18n.gettext("Total"), *_tb_cells(tb.totals)], "total"))
    return Report(
        i18n.gettext("Trial balance"),
        _subtitle(i18n.gettext("Period {period}", period=tb.period)),
        [Table(columns, rows)],
        f"trial-balance-{tb.period}",
        landscape=True,
        notes=[i18n.gettext("Balanced") if tb.balanced else i18n.gettext("Out of balance")],
    )


def ledger_report(ledger: AccountLedger) -> Report:
    columns = [
        Column(i18n.gettext("Date"), "date", 0.9),
        Column(i18n.gettext("Voucher"), width=1.3),
        Column(i18n.gettext("Memo"), width=2.4),
        Column(i18n.gettext("Partner"), width=1.5),
        Column(i18n.gettext("Source"), width=1.1),
        Column(i18n.gettext("Debit"), "money", 1.1),
        Column(i18n.gettext("Credit"), "money", 1.1),
        Column(i18n.gettext("Balance"), "money", 1.2),
    ]
    start: date = ledger.period.start or ledger.period.end
    rows = [Row([start, "", i18n.gettext("Opening balance"), "", "", None, None, ledger.opening], "subtotal")]
    for x in ledger.lines:
        label = source_label(x.source_type)
        source = i18n.gettext(label) if label else (x.source_type or "")
        partner = x.partner or x.supplier or ""
        rows.append(Row([x.entry_date, x.number, x.memo, partner, source, x.debit, x.credit, x.balance]))
    closing = i18n.gettext("Totals and closing balance")
    rows.append(
        Row([ledger.period.end, "", closing, "", "", ledger.debit, ledger.credit, ledger.closing], "total")
    )
    a = ledger.account
    return Report(
        f"{i18n.gettext('Account ledger')} · {a.code} {a.name}",
        _subtitle(span(ledger.period), i18n.gettext("Balance: debit positive, credit negative")),
        [Table(columns, rows)],
        f"ledger-{a.code}-{_stamp(ledger.period)}",
        landscape=True,
    )
