"""The shape of the profit and loss account and the balance sheet for each chart template (FIN-5).

A layout is a list of steps: a ``Heading`` (a caption without an amount), a ``Section`` (the
accounts of one type whose code starts with one of its prefixes, with their total) and a
``Subtotal`` (sections and earlier subtotals added and subtracted). Each account goes to the
section of its type with the *longest* matching prefix, so a sub-account a tenant adds (660204
under 6602 管理费用) lands beside its parent, and an account no prefix knows lands in the section
whose prefix is ``""`` (the "other" sections, shown only when they hold something).

* ``cas`` follows the lines of the 企业会计准则 利润表 and 资产负债表 (一般企业): 营业收入, 营业成本,
  税金及附加, 销售费用, 管理费用, 财务费用, 投资收益 … 营业利润, 营业外收支, 利润总额, 所得税费用,
  净利润; assets and liabilities split into current (流动) and non-current (非流动) by code range;
  the 5xxx cost accounts (生产成本, 制造费用) are work in progress, a current asset (存货).
* ``ifrs`` follows IAS 1's minimum lines: revenue, cost of sales, gross profit, other income,
  operating expenses, operating profit, finance income and costs, profit before tax, income tax,
  profit for the period.

Amounts in a section are shown on the side the account type normally has: income, liabilities
and equity as credit balances, expenses and assets as debit balances (a contra account such as
累计折旧 / accumulated depreciation is then negative, reducing its section).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.kernel.i18n import lazy


@dataclass(frozen=True)
class Heading:
    key: str
    label: str


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    type: str  # the account type it takes
    prefixes: tuple[str, ...]
    optional: bool = False  # left out when it holds no account with an amount


@dataclass(frozen=True)
class Subtotal:
    key: str
    label: str
    adds: tuple[str, ...]
    subtracts: tuple[str, ...] = ()
    grand: bool = False  # a statement's bottom line (net profit, total assets …)


Step = Heading | Section | Subtotal

# Which side an account type's balance is shown on: +1 debit balances, -1 credit balances.
NORMAL_SIDE = {"asset": 1, "expense": 1, "liability": -1, "equity": -1, "income": -1}

_CAS_PNL: tuple[Step, ...] = (
    Section("revenue", lazy("Operating revenue"), "income", ("6001", "6051")),
    Section("cost_of_sales", lazy("Cost of sales"), "expense", ("6401", "6402")),
    Subtotal("gross_profit", lazy("Gross profit"), ("revenue",), ("cost_of_sales",)),
    Section("taxes_and_surcharges", lazy("Taxes and surcharges"), "expense", ("6403",)),
    Section("selling_expenses", lazy("Selling expenses"), "expense", ("6601",)),
    Section("administrative_expenses", lazy("Administrative expenses"), "expense", ("6602",)),
    Section("finance_costs", lazy("Finance costs"), "expense", ("6603",)),
    Section("impairment_losses", lazy("Impairment losses"), "expense", ("6701", "6702"), optional=True),
    Section("other_expenses", lazy("Other operating expenses"), "expense", ("",), optional=True),
    Section("investment_income", lazy("Investment and other operating income"), "income", ("61",)),
    Section("other_income", lazy("Other operating income"), "income", ("",), optional=True),
    Subtotal(
        "operating_profit",
        lazy("Operating profit"),
        ("gross_profit", "investment_income", "other_income"),
        (
            "taxes_and_surcharges",
            "selling_expenses",
            "administrative_expenses",
            "finance_costs",
            "impairment_losses",
            "other_expenses",
        ),
    ),
    Section("non_operating_income", lazy("Non-operating income"), "income", ("6301",)),
    Section("non_operating_expenses", lazy("Non-operating expenses"), "expense", ("6711",)),
    Subtotal(
        "profit_before_tax",
        lazy("Profit before tax"),
        ("operating_profit", "non_operating_income"),
        ("non_operating_expenses",),
    ),
    Section("income_tax", lazy("Income tax expense"), "expense", ("6801",)),
    Subtotal("net_profit", lazy("Net profit"), ("profit_before_tax",), ("income_tax",), grand=True),
)

_IFRS_PNL: tuple[Step, ...] = (
    Section("revenue", lazy("Revenue"), "income", ("40", "41")),
    Section("cost_of_sales", lazy("Cost of sales"), "expense", ("5",)),
    Subtotal("gross_profit", lazy("Gross profit"), ("revenue",), ("cost_of_sales",)),
    Section("other_income", lazy("Other income"), "income", ("42", "")),
    Section("operating_expenses", lazy("Operating expenses"), "expense", ("6", "")),
    Subtotal(
        "operating_profit",
        lazy("Operating profit"),
        ("gross_profit", "other_income"),
        ("operating_expenses",),
    ),
    Section("finance_income", lazy("Finance income"), "income", ("43",)),
    Section("finance_costs", lazy("Finance costs"), "expense", ("7",)),
    Subtotal(
        "profit_before_tax",
        lazy("Profit before tax"),
        ("operating_profit", "finance_income"),
        ("finance_costs",),
    ),
    Section("income_tax", lazy("Income tax expense"), "expense", ("8",)),
    Subtotal("net_profit", lazy("Net profit"), ("profit_before_tax",), ("income_tax",), grand=True),
)


def _balance_sheet(
    current_assets: tuple[str, ...],
    non_current_assets: tuple[str, ...],
    current_liabilities: tuple[str, ...],
    non_current_liabilities: tuple[str, ...],
) -> tuple[Step, ...]:
    return (
        Heading("assets", lazy("Assets")),
        Section("current_assets", lazy("Current assets"), "asset", current_assets),
        Section("non_current_assets", lazy("Non-current assets"), "asset", non_current_assets),
        Section("other_assets", lazy("Other assets"), "asset", ("",), optional=True),
        Subtotal(
            "total_assets",
            lazy("Total assets"),
            ("current_assets", "non_current_assets", "other_assets"),
            grand=True,
        ),
        Heading("liabilities_and_equity", lazy("Liabilities and equity")),
        Section("current_liabilities", lazy("Current liabilities"), "liability", current_liabilities),
        Section(
            "non_current_liabilities", lazy("Non-current liabilities"), "liability", non_current_liabilities
        ),
        Section("other_liabilities", lazy("Other liabilities"), "liability", ("",), optional=True),
        Subtotal(
            "total_liabilities",
            lazy("Total liabilities"),
            ("current_liabilities", "non_current_liabilities", "other_liabilities"),
        ),
        Section("equity", lazy("Equity"), "equity", ("",)),
        Subtotal(
            "total_liabilities_and_equity",
            lazy("Total liabilities and equity"),
            ("total_liabilities", "equity"),
            grand=True,
        ),
    )


_CAS_BS = _balance_sheet(
    ("10", "11", "12", "13", "14", "15", "5"),
    ("16", "17", "18", "19"),
    ("20", "21", "22", "23", "24"),
    ("25", "26", "27", "28", "29"),
)
_IFRS_BS = _balance_sheet(
    ("10", "11", "12", "13", "14"),
    ("15", "16", "17", "18", "19"),
    ("20", "21", "22", "23", "24"),
    ("25", "26", "27", "28", "29"),
)

PROFIT_AND_LOSS: dict[str, tuple[Step, ...]] = {"cas": _CAS_PNL, "ifrs": _IFRS_PNL}
BALANCE_SHEET: dict[str, tuple[Step, ...]] = {"cas": _CAS_BS, "ifrs": _IFRS_BS}

# The cash and bank accounts of the cash report, by code prefix: the template's cash accounts
# (CAS 1001 库存现金, 1002 银行存款, 1012 其他货币资金; IFRS 1000 Cash on hand, 1010 Cash at bank)
# and their sub-accounts. The tenant's posting rules for ``cash`` and ``bank`` are added to these
# (app/finance/services/statements.py ``cash_accounts``).
CASH_PREFIXES: dict[str, tuple[str, ...]] = {"cas": ("1001", "1002", "1012"), "ifrs": ("1000", "1010")}


def section_of(steps: tuple[Step, ...], type_: str, code: str) -> Section | None:
    """The section an account of ``type_`` and ``code`` belongs to: longest matching prefix."""
    best: Section | None = None
    for step in steps:
        if not isinstance(step, Section) or step.type != type_:
            continue
        for prefix in step.prefixes:
            if code.startswith(prefix) and (best is None or len(prefix) > _longest(best, code)):
                best = step
    return best


def _longest(section: Section, code: str) -> int:
    return max((len(p) for p in section.prefixes if code.startswith(p)), default=-1)
