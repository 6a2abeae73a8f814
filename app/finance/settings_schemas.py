"""API representations and bodies of finance's settings: finance settings, chart maintenance, tax
rates and category rates, cost centres, split rules, posting rules, the VAT summary and the
cost-centre report (docs/finance-settings.md).

As everywhere in finance: money and rates are decimal strings, dates ISO 8601. Bodies refuse
unknown fields and wrong JSON types (400); what the values mean is judged by the services and
answered 422 with field errors (409 when the state forbids it: ``account_in_use``, …). Update
bodies change only the fields sent.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from app.finance import models
from app.finance.services.cost_centre_report import CostCentreReport as ReportData
from app.finance.services.finance_settings import SettingsView
from app.finance.services.posting_rules import RuleView
from app.finance.services.split_rules import example_split
from app.finance.services.vat_report import VatRow as VatRowData
from app.finance.services.vat_report import VatSummary as VatData

Text = Annotated[str, Meta(max_length=200)]
Code = Annotated[str, Meta(max_length=40)]
Decimal_ = Annotated[str, Meta(max_length=32, description='A decimal string, e.g. "13.00".')]


def money(value: Decimal) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


def fields_sent(data: Struct) -> dict[str, object]:
    """A body as the service's input mapping: the fields present (UNSET ones left out)."""
    return {f: getattr(data, f) for f in data.__struct_fields__ if getattr(data, f) is not UNSET}


# --- finance settings ----------------------------------------------------------------------------


class FinanceSettings(Struct):
    chart_template: Annotated[str | None, Meta(description="cas or ifrs; null until finance is first used.")]
    chart_choosable: Annotated[bool, Meta(description="True until finance is first used.")]
    suggested_chart_template: str
    base_currency: str
    base_currency_changeable: Annotated[bool, Meta(description="True while nothing is posted or issued.")]
    invoice_on: Annotated[str, Meta(description="confirmed or fulfilled: when sales orders are invoiced.")]
    payment_terms_days: int


def settings_of(v: SettingsView) -> FinanceSettings:
    return FinanceSettings(
        v.chart_template, v.chart_choosable, v.suggested_template, v.base_currency, v.ledger_empty,
        v.invoice_on, v.payment_terms_days,
    )  # fmt: skip


class FinanceSettingsUpdate(Struct, forbid_unknown_fields=True):
    chart_template: Annotated[str, Meta(max_length=10)] | UnsetType = UNSET
    base_currency: Annotated[str, Meta(max_length=3)] | UnsetType = UNSET
    invoice_on: Annotated[str, Meta(max_length=10)] | UnsetType = UNSET
    payment_terms_days: int | UnsetType = UNSET


# --- chart of accounts ---------------------------------------------------------------------------


class AccountCreate(Struct, forbid_unknown_fields=True):
    code: Annotated[str, Meta(max_length=20, description='Digits, e.g. "660204".')]
    name: Text
    type: Annotated[str, Meta(max_length=10, description="Default: the parent group's type.")] = ""
    parent_id: Annotated[int, Meta(description="A group account of the same type.")] | None = None
    postable: Annotated[bool, Meta(description="False for a group account.")] = True


class AccountUpdate(Struct, forbid_unknown_fields=True):
    name: Text | UnsetType = UNSET
    active: bool | UnsetType = UNSET


# --- tax rates -----------------------------------------------------------------------------------


class TaxRate(Struct):
    id: int
    code: str
    name: str
    rate: Annotated[str, Meta(description='Percent, e.g. "13.00".')]
    output_account: str
    input_account: str
    active: bool


def tax_rate_of(r: models.TaxRate, output_code: str, input_code: str) -> TaxRate:
    return TaxRate(r.id, r.code, r.name, money(r.rate), output_code, input_code, r.active)


class TaxRateList(Struct):
    items: list[TaxRate]


class TaxRateCreate(Struct, forbid_unknown_fields=True):
    code: Annotated[str, Meta(max_length=20)]
    name: Text
    rate: Decimal_
    output_account: Annotated[str, Meta(max_length=20, description="A liability account's code.")]
    input_account: Annotated[str, Meta(max_length=20, description="An asset or liability account's code.")]
    active: bool = True


class TaxRateUpdate(Struct, forbid_unknown_fields=True):
    name: Text | UnsetType = UNSET
    rate: Decimal_ | UnsetType = UNSET
    output_account: Annotated[str, Meta(max_length=20)] | UnsetType = UNSET
    input_account: Annotated[str, Meta(max_length=20)] | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class CategoryRate(Struct):
    category: str
    tax_rate_id: int
    tax_rate_code: str
    rate: str
    active: bool


class CategoryRateList(Struct):
    items: list[CategoryRate]


def category_rate_of(category: str, r: models.TaxRate) -> CategoryRate:
    return CategoryRate(category, r.id, r.code, money(r.rate), r.active)


class CategoryRateSet(Struct, forbid_unknown_fields=True):
    category: Text
    tax_rate_id: int


# --- cost centres and split rules ----------------------------------------------------------------


class CostCentre(Struct):
    id: int
    code: str
    name: str
    active: bool


def cost_centre_of(c: models.CostCentre) -> CostCentre:
    return CostCentre(c.id, c.code, c.name, c.active)


class CostCentreList(Struct):
    items: list[CostCentre]


class CostCentreCreate(Struct, forbid_unknown_fields=True):
    code: Code
    name: Text
    active: bool = True


class CostCentreUpdate(Struct, forbid_unknown_fields=True):
    code: Code | UnsetType = UNSET
    name: Text | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class Share(Struct, forbid_unknown_fields=True):
    cost_centre: Code
    percent: Annotated[str, Meta(max_length=32, description='Up to four decimals, e.g. "33.3333".')]


class SplitPart(Struct):
    cost_centre: str
    amount: str


class SplitRule(Struct):
    id: int
    code: str
    name: str
    active: bool
    shares: Annotated[list[Share], Meta(description="In order: the last share takes the rounding residual.")]
    example: Annotated[list[SplitPart], Meta(description="How 100.00 is split.")]


def split_rule_of(r: models.SplitRule, shares: list[tuple[str, Decimal]]) -> SplitRule:
    return SplitRule(
        r.id,
        r.code,
        r.name,
        r.active,
        [Share(code, str(percent)) for code, percent in shares],
        [SplitPart(code, money(amount)) for code, amount in example_split(shares)],
    )


class SplitRuleList(Struct):
    items: list[SplitRule]


class SplitRuleCreate(Struct, forbid_unknown_fields=True):
    code: Code
    name: Text
    shares: Annotated[list[Share], Meta(max_length=50)]
    active: bool = True


class SplitRuleUpdate(Struct, forbid_unknown_fields=True):
    code: Code | UnsetType = UNSET
    name: Text | UnsetType = UNSET
    shares: Annotated[list[Share], Meta(max_length=50)] | UnsetType = UNSET
    active: bool | UnsetType = UNSET


# --- posting rules -------------------------------------------------------------------------------


class PostingRule(Struct):
    role: str
    description: str
    account: str
    account_name: str
    default_account: str
    chosen: Annotated[bool, Meta(description="The organisation's choice rather than the chart's default.")]


class PostingRuleList(Struct):
    items: list[PostingRule]


def posting_rules_of(views: list[RuleView]) -> PostingRuleList:
    return PostingRuleList(
        [
            PostingRule(v.role, str(v.description), v.account.code, v.account.name, v.default_code, v.chosen)
            for v in views
        ]
    )


class PostingRulesUpdate(Struct, forbid_unknown_fields=True):
    rules: Annotated[
        dict[str, Annotated[str, Meta(max_length=20)] | None],
        Meta(description="Role → account code; null puts the role back on the chart's default."),
    ]


# --- reports -------------------------------------------------------------------------------------


class VatRow(Struct):
    rate: str
    tax_rate_id: int | None
    code: str
    name: str
    net: str
    tax: str


def _vat_rows(rows: list[VatRowData]) -> list[VatRow]:
    return [VatRow(money(r.rate), r.tax_rate_id, r.code, r.name, money(r.net), money(r.tax)) for r in rows]


class VatLedgerCheck(Struct):
    agrees: bool
    output_accounts: list[str]
    input_accounts: list[str]
    output_movement: str
    input_movement: str
    other_output: Annotated[
        str, Meta(description="Of the output movement: not from invoices or credit notes.")
    ]
    other_input: Annotated[str, Meta(description="Of the input movement: not from bills.")]
    shared_accounts: Annotated[
        bool, Meta(description="One account serves both sides: only the net compares.")
    ]


class VatSummary(Struct):
    date_from: date = msgspec.field(name="from")
    date_to: date = msgspec.field(name="to")
    output: list[VatRow] = []
    input: list[VatRow] = []
    output_net: str = "0.00"
    output_tax: str = "0.00"
    input_net: str = "0.00"
    input_tax: str = "0.00"
    payable: Annotated[str, Meta(description="Output VAT − input VAT.")] = "0.00"
    ledger: VatLedgerCheck | None = None


def vat_summary_of(s: VatData) -> VatSummary:
    return VatSummary(
        s.date_from, s.date_to, _vat_rows(s.output), _vat_rows(s.input),
        money(s.output_net), money(s.output_tax), money(s.input_net), money(s.input_tax), money(s.payable),
        VatLedgerCheck(
            s.agrees, s.output_accounts, s.input_accounts, money(s.ledger_output), money(s.ledger_input),
            money(s.other_output), money(s.other_input), s.shared_accounts,
        ),
    )  # fmt: skip


class AccountAmount(Struct):
    code: str
    name: str
    type: str
    amount: str


class CentreTotals(Struct):
    cost_centre: Annotated[str | None, Meta(description="null: lines without a cost centre.")]
    name: str
    income: str
    expense: str
    result: str
    accounts: list[AccountAmount]


class CostCentreReport(Struct):
    date_from: date = msgspec.field(name="from")
    date_to: date = msgspec.field(name="to")
    centres: list[CentreTotals] = []
    income: str = "0.00"
    expense: str = "0.00"
    result: str = "0.00"


def _centre(c: Any) -> CentreTotals:
    accounts = [AccountAmount(a.code, a.name, a.type, money(a.amount)) for a in c.accounts]
    return CentreTotals(c.code, c.name, money(c.income), money(c.expense), money(c.result), accounts)


def cost_centre_report_of(r: ReportData) -> CostCentreReport:
    return CostCentreReport(
        r.date_from,
        r.date_to,
        [_centre(c) for c in r.centres],
        money(r.income),
        money(r.expense),
        money(r.result),
    )
