"""Finance tables (tenant schema). The ledger's invariants are enforced by triggers created in
migration t0004 (docs/finance.md): balance at commit, immutability of posted entries, no posting
into a closed period, period balances kept by the posting itself."""

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

__all__ = [
    "ACCOUNT_TYPES",
    "JOURNALS",
    "Account",
    "Entry",
    "EntryLine",
    "FinanceSettings",
    "Period",
    "PeriodBalance",
    "VoucherCounter",
]
