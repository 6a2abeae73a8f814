"""The two chart-of-accounts templates and their standard accounts for the posting door.

* ``cas`` — China Accounting Standards for Business Enterprises (企业会计准则): the Ministry of
  Finance's four-digit codes and Chinese names; sub-accounts add two digits (222101).
* ``ifrs`` — a generic IFRS-style chart with English names.

Account names are data (the tenant's books), not user-interface strings: they are not translated.
Cost accounts of the CAS 5xxx class (生产成本, 制造费用) accumulate costs that end up in
inventory, so they are typed ``asset``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TemplateAccount:
    code: str
    name: str
    type: str
    parent: str | None = None
    postable: bool = True


def _a(code: str, name: str, type_: str, parent: str | None = None, postable: bool = True) -> TemplateAccount:
    return TemplateAccount(code, name, type_, parent, postable)


CAS: tuple[TemplateAccount, ...] = (
    _a("1001", "库存现金", "asset"),
    _a("1002", "银行存款", "asset"),
    _a("1012", "其他货币资金", "asset"),
    _a("1101", "交易性金融资产", "asset"),
    _a("1121", "应收票据", "asset"),
    _a("1122", "应收账款", "asset"),
    _a("1123", "预付账款", "asset"),
    _a("1221", "其他应收款", "asset"),
    _a("1231", "坏账准备", "asset"),
    _a("1401", "材料采购", "asset"),
    _a("1403", "原材料", "asset"),
    _a("1405", "库存商品", "asset"),
    _a("1411", "周转材料", "asset"),
    _a("1601", "固定资产", "asset"),
    _a("1602", "累计折旧", "asset"),
    _a("1604", "在建工程", "asset"),
    _a("1701", "无形资产", "asset"),
    _a("1702", "累计摊销", "asset"),
    _a("1801", "长期待摊费用", "asset"),
    _a("2001", "短期借款", "liability"),
    _a("2201", "应付票据", "liability"),
    _a("2202", "应付账款", "liability"),
    _a("2203", "预收账款", "liability"),
    _a("2211", "应付职工薪酬", "liability"),
    _a("2221", "应交税费", "liability", postable=False),
    _a("222101", "应交增值税(销项税额)", "liability", "2221"),
    _a("222102", "应交增值税(进项税额)", "liability", "2221"),
    _a("222103", "未交增值税", "liability", "2221"),
    _a("222104", "应交企业所得税", "liability", "2221"),
    _a("222105", "应交个人所得税", "liability", "2221"),
    _a("2241", "其他应付款", "liability"),
    _a("2501", "长期借款", "liability"),
    _a("4001", "实收资本", "equity"),
    _a("4002", "资本公积", "equity"),
    _a("4101", "盈余公积", "equity"),
    _a("4103", "本年利润", "equity"),
    _a("4104", "利润分配", "equity", postable=False),
    _a("410401", "未分配利润", "equity", "4104"),
    _a("5001", "生产成本", "asset"),
    _a("5101", "制造费用", "asset"),
    _a("6001", "主营业务收入", "income"),
    _a("6051", "其他业务收入", "income"),
    _a("6111", "投资收益", "income"),
    _a("6301", "营业外收入", "income"),
    _a("6401", "主营业务成本", "expense"),
    _a("6402", "其他业务成本", "expense"),
    _a("6403", "税金及附加", "expense"),
    _a("6601", "销售费用", "expense"),
    _a("6602", "管理费用", "expense", postable=False),
    _a("660201", "管理费用-职工薪酬", "expense", "6602"),
    _a("660202", "管理费用-办公费", "expense", "6602"),
    _a("660203", "管理费用-折旧费", "expense", "6602"),
    _a("6603", "财务费用", "expense"),
    _a("6711", "营业外支出", "expense"),
    _a("6801", "所得税费用", "expense"),
)

IFRS: tuple[TemplateAccount, ...] = (
    _a("1000", "Cash on hand", "asset"),
    _a("1010", "Cash at bank", "asset"),
    _a("1100", "Trade receivables", "asset"),
    _a("1110", "Allowance for expected credit losses", "asset"),
    _a("1150", "Prepayments", "asset"),
    _a("1160", "Other receivables", "asset"),
    _a("1170", "VAT receivable (input VAT)", "asset"),
    _a("1200", "Inventories", "asset", postable=False),
    _a("1210", "Raw materials", "asset", "1200"),
    _a("1220", "Work in progress", "asset", "1200"),
    _a("1230", "Finished goods", "asset", "1200"),
    _a("1500", "Property, plant and equipment", "asset"),
    _a("1510", "Accumulated depreciation", "asset"),
    _a("1600", "Intangible assets", "asset"),
    _a("1610", "Accumulated amortisation", "asset"),
    _a("2000", "Trade payables", "liability"),
    _a("2050", "Contract liabilities (advances)", "liability"),
    _a("2100", "Employee benefits payable", "liability"),
    _a("2200", "Taxes payable", "liability", postable=False),
    _a("2210", "VAT payable (output VAT)", "liability", "2200"),
    _a("2220", "Income tax payable", "liability", "2200"),
    _a("2230", "Withholding taxes payable", "liability", "2200"),
    _a("2300", "Other payables and accruals", "liability"),
    _a("2400", "Short-term borrowings", "liability"),
    _a("2500", "Long-term borrowings", "liability"),
    _a("3000", "Share capital", "equity"),
    _a("3100", "Share premium", "equity"),
    _a("3200", "Retained earnings", "equity"),
    _a("3300", "Current year result", "equity"),
    _a("4000", "Revenue from sales of goods", "income"),
    _a("4100", "Revenue from services", "income"),
    _a("4200", "Other income", "income"),
    _a("4300", "Finance income", "income"),
    _a("5000", "Cost of sales", "expense"),
    _a("6000", "Operating expenses", "expense", postable=False),
    _a("6100", "Selling expenses", "expense", "6000"),
    _a("6200", "Administrative expenses", "expense", "6000"),
    _a("6300", "Salaries and wages", "expense", "6000"),
    _a("6400", "Depreciation and amortisation", "expense", "6000"),
    _a("7000", "Finance costs", "expense"),
    _a("8000", "Income tax expense", "expense"),
)

TEMPLATES: dict[str, tuple[TemplateAccount, ...]] = {"cas": CAS, "ifrs": IFRS}

# What a posting needs by its role, per template: the defaults of the posting rules other contexts
# use through app/finance/interface.py (``standard_account``).
STANDARD_ACCOUNTS: dict[str, dict[str, str]] = {
    "cas": {
        "cash": "1001",
        "bank": "1002",
        "receivable": "1122",
        "inventory": "1405",
        "raw_materials": "1403",
        "payable": "2202",
        "output_vat": "222101",
        "input_vat": "222102",
        "current_result": "4103",
        "retained_earnings": "410401",
        "revenue": "6001",
        "cost_of_sales": "6401",
        "admin_expense": "660202",
        "selling_expense": "6601",
        "finance_cost": "6603",
    },
    "ifrs": {
        "cash": "1000",
        "bank": "1010",
        "receivable": "1100",
        "inventory": "1230",
        "raw_materials": "1210",
        "payable": "2000",
        "output_vat": "2210",
        "input_vat": "1170",
        "current_result": "3300",
        "retained_earnings": "3200",
        "revenue": "4000",
        "cost_of_sales": "5000",
        "admin_expense": "6200",
        "selling_expense": "6100",
        "finance_cost": "7000",
    },
}
