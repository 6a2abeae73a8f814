"""Income and expenses by cost centre (FIN-4) for a date range, from the posted ledger lines.

    report = await cost_centre_report(session, date(2026, 1, 1), date(2026, 12, 31))
    for centre in report.centres: centre.code, centre.income, centre.expense, centre.result

Per cost centre and account: income is credit − debit on income accounts, expense is debit −
credit on expense accounts, the result is income − expense. Lines without a cost centre form
the last group (``code`` None), so the groups add up to the profit and loss of the range.
Year-end closing entries (and their reversals) are left out: they move the year's result to
equity and would zero every account on 31 December.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.models import Account, CostCentre, Entry, EntryLine

ZERO = Decimal("0.00")
CLOSING_SOURCE = "finance.year_end"


@dataclass(frozen=True)
class AccountAmount:
    code: str
    name: str
    type: str  # income | expense
    amount: Decimal  # income: credit − debit; expense: debit − credit


@dataclass
class CentreTotals:
    code: str | None  # None: lines without a cost centre
    name: str
    active: bool = True
    accounts: list[AccountAmount] = field(default_factory=list)

    @property
    def income(self) -> Decimal:
        return sum((a.amount for a in self.accounts if a.type == "income"), ZERO)

    @property
    def expense(self) -> Decimal:
        return sum((a.amount for a in self.accounts if a.type == "expense"), ZERO)

    @property
    def result(self) -> Decimal:
        return self.income - self.expense


@dataclass(frozen=True)
class CostCentreReport:
    date_from: date
    date_to: date
    centres: list[CentreTotals]

    @property
    def income(self) -> Decimal:
        return sum((c.income for c in self.centres), ZERO)

    @property
    def expense(self) -> Decimal:
        return sum((c.expense for c in self.centres), ZERO)

    @property
    def result(self) -> Decimal:
        return self.income - self.expense


async def cost_centre_report(session: AsyncSession, date_from: date, date_to: date) -> CostCentreReport:
    rows = (
        await session.execute(
            select(
                EntryLine.cost_centre,
                Account.code,
                Account.name,
                Account.type,
                func.sum(EntryLine.debit),
                func.sum(EntryLine.credit),
            )
            .join(Entry, Entry.id == EntryLine.entry_id)
            .join(Account, Account.id == EntryLine.account_id)
            .where(
                Entry.status == "posted",
                Entry.entry_date.between(date_from, date_to),
                Account.type.in_(("income", "expense")),
                or_(Entry.source_type.is_(None), Entry.source_type != CLOSING_SOURCE),
            )
            .group_by(EntryLine.cost_centre, Account.code, Account.name, Account.type)
            .order_by(EntryLine.cost_centre.nulls_last(), Account.code)
        )
    ).all()
    centres = {c.code: c for c in (await session.execute(select(CostCentre))).scalars()}
    groups: dict[str | None, CentreTotals] = {}
    for code, account_code, account_name, type_, debit, credit in rows:
        if code not in groups:
            centre = centres.get(code) if code else None
            groups[code] = CentreTotals(
                code, centre.name if centre else "", centre.active if centre else True
            )
        amount = credit - debit if type_ == "income" else debit - credit
        groups[code].accounts.append(AccountAmount(account_code, account_name, type_, amount))
    return CostCentreReport(date_from, date_to, list(groups.values()))
