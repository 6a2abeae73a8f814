"""Finance tables (tenant schema). The ledger's invariants are enforced by triggers created in
migration t0004 (docs/finance.md): balance at commit, immutability of posted entries, no posting
into a closed period, period balances kept by the posting itself. Documents (t0005) bound their
open amounts with CHECK constraints."""

from app.finance.models.documents import (
    Allocation,
    Bill,
    BillLine,
    DocumentCounter,
    Invoice,
    InvoiceLine,
    Payment,
    Supplier,
)
from app.finance.models.ledger import (
    ACCOUNT_TYPES,
    JOURNALS,
    Account,
    Entry,
    EntryLine,
    FinanceSettings,
    Period,
    PeriodBalance,
    VoucherCounter,
)
from app.finance.models.settings import (
    CategoryTaxRate,
    CostCentre,
    PostingRule,
    SplitRule,
    SplitRuleShare,
    TaxRate,
)

__all__ = [
    "ACCOUNT_TYPES",
    "JOURNALS",
    "Account",
    "Allocation",
    "Bill",
    "BillLine",
    "CategoryTaxRate",
    "CostCentre",
    "DocumentCounter",
    "Entry",
    "EntryLine",
    "FinanceSettings",
    "Invoice",
    "InvoiceLine",
    "Payment",
    "Period",
    "PeriodBalance",
    "PostingRule",
    "SplitRule",
    "SplitRuleShare",
    "Supplier",
    "TaxRate",
    "VoucherCounter",
]
