"""The VAT summary (增值税汇总) of a date range, from the documents, checked against the ledger.

    summary = await vat_summary(session, date(2026, 12, 1), date(2026, 12, 31))
    summary.output_tax, summary.input_tax, summary.payable, summary.agrees

* **Output VAT** by rate: customer invoices issued in the range minus credit notes issued in it
  (``fin_invoices.kind``), from their lines' net and tax amounts.
* **Input VAT** by rate: supplier bills dated in the range (``fin_bill_lines``).
* **Payable** = output − input (negative: input VAT to carry forward or reclaim).
* **The ledger check**: the movements in the range of the output VAT accounts (credit − debit)
  and of the input VAT accounts (debit − credit) — the accounts the tax rates and the posting
  rules name today — must equal the documents' totals. A difference means VAT was posted outside
  invoices, credit notes and bills (manual entries, a month-end transfer to 未交增值税), a
  document posted to other accounts, or a rate whose accounts changed; ``other_output`` and
  ``other_input`` show how much of the movement came from entries that are not those documents.
  When one account serves both sides only the net can be compared (``shared_accounts``).

Rows are grouped by the line's rate (the percentage the document charged) and its tax rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.models import Account, Bill, BillLine, Entry, EntryLine, Invoice, InvoiceLine, TaxRate
from app.finance.services.rules import account_code

ZERO = Decimal("0.00")
DOCUMENT_SOURCES = ("finance.invoice", "finance.credit_note", "finance.bill")


@dataclass(frozen=True)
class VatRow:
    rate: Decimal  # percent charged on the lines
    tax_rate_id: int | None
    code: str  # the tax rate's code, "" for lines without one
    name: str
    net: Decimal
    tax: Decimal


@dataclass(frozen=True)
class VatSummary:
    date_from: date
    date_to: date
    output: list[VatRow]
    input: list[VatRow]
    output_accounts: list[str]
    input_accounts: list[str]
    ledger_output: Decimal  # credit − debit on the output VAT accounts
    ledger_input: Decimal  # debit − credit on the input VAT accounts
    other_output: Decimal  # … of which from entries that are not invoices, credit notes or bills
    other_input: Decimal
    shared_accounts: bool = field(default=False)

    @property
    def output_net(self) -> Decimal:
        return sum((r.net for r in self.output), ZERO)

    @property
    def output_tax(self) -> Decimal:
        return sum((r.tax for r in self.output), ZERO)

    @property
    def input_net(self) -> Decimal:
        return sum((r.net for r in self.input), ZERO)

    @property
    def input_tax(self) -> Decimal:
        return sum((r.tax for r in self.input), ZERO)

    @property
    def payable(self) -> Decimal:
        return self.output_tax - self.input_tax

    @property
    def ledger_payable(self) -> Decimal:
        return self.ledger_output - self.ledger_input

    @property
    def agrees(self) -> bool:
        if self.shared_accounts:
            return self.payable == self.ledger_payable
        return self.output_tax == self.ledger_output and self.input_tax == self.ledger_input


async def _rate_rows(session: AsyncSession, stmt: object) -> list[VatRow]:
    rows = (await session.execute(stmt)).all()  # type: ignore[call-overload]
    ids = {r[1] for r in rows if r[1] is not None}
    rates = (
        {t.id: t for t in (await session.execute(select(TaxRate).where(TaxRate.id.in_(ids)))).scalars()}
        if ids
        else {}
    )
    out = []
    for percent, rate_id, net, tax in rows:
        rate = rates.get(rate_id)
        out.append(
            VatRow(Decimal(percent), rate_id, rate.code if rate else "", rate.name if rate else "", net, tax)
        )
    return sorted(out, key=lambda r: (-r.rate, r.code))


async def _vat_accounts(session: AsyncSession) -> tuple[dict[int, str], dict[int, str]]:
    """(output, input) VAT accounts: id → code."""
    out_code, in_code = await account_code(session, "output_vat"), await account_code(session, "input_vat")
    by_code = dict(
        (
            await session.execute(
                select(Account.code, Account.id).where(Account.code.in_([out_code, in_code]))
            )
        ).all()
    )
    output, input_ = {by_code[out_code]}, {by_code[in_code]}
    for out_id, in_id in (
        await session.execute(select(TaxRate.output_account_id, TaxRate.input_account_id))
    ).all():
        output.add(out_id)
        input_.add(in_id)
    names = dict(
        (await session.execute(select(Account.id, Account.code).where(Account.id.in_(output | input_)))).all()
    )
    return {i: names[i] for i in output}, {i: names[i] for i in input_}


async def vat_summary(session: AsyncSession, date_from: date, date_to: date) -> VatSummary:
    sign = case((Invoice.kind == "credit_note", -1), else_=1)
    output = await _rate_rows(
        session,
        select(
            InvoiceLine.tax_rate,
            InvoiceLine.tax_rate_id,
            func.sum(InvoiceLine.net_amount * sign),
            func.sum(InvoiceLine.tax_amount * sign),
        )
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.issue_date.between(date_from, date_to))
        .group_by(InvoiceLine.tax_rate, InvoiceLine.tax_rate_id),
    )
    input_ = await _rate_rows(
        session,
        select(
            BillLine.tax_rate,
            BillLine.tax_rate_id,
            func.sum(BillLine.net_amount),
            func.sum(BillLine.tax_amount),
        )
        .join(Bill, Bill.id == BillLine.bill_id)
        .where(Bill.bill_date.between(date_from, date_to))
        .group_by(BillLine.tax_rate, BillLine.tax_rate_id),
    )
    out_accounts, in_accounts = await _vat_accounts(session)
    other = or_(Entry.source_type.is_(None), Entry.source_type.not_in(DOCUMENT_SOURCES))
    moves = (
        await session.execute(
            select(
                EntryLine.account_id,
                func.sum(EntryLine.debit),
                func.sum(EntryLine.credit),
                func.sum(case((other, EntryLine.debit), else_=0)),
                func.sum(case((other, EntryLine.credit), else_=0)),
            )
            .join(Entry, Entry.id == EntryLine.entry_id)
            .where(
                Entry.status == "posted",
                Entry.entry_date.between(date_from, date_to),
                EntryLine.account_id.in_(set(out_accounts) | set(in_accounts)),
            )
            .group_by(EntryLine.account_id)
        )
    ).all()
    ledger_out = ledger_in = other_out = other_in = ZERO
    for account_id, debit, credit, other_debit, other_credit in moves:
        if account_id in out_accounts:
            ledger_out += credit - debit
            other_out += other_credit - other_debit
        else:
            ledger_in += debit - credit
            other_in += other_debit - other_credit
    return VatSummary(
        date_from,
        date_to,
        output,
        input_,
        sorted(out_accounts.values()),
        sorted(in_accounts.values()),
        ledger_out,
        ledger_in,
        other_out,
        other_in,
        shared_accounts=bool(set(out_accounts) & set(in_accounts)),
    )
