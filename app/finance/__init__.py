"""Finance (issue 4): chart of accounts, the double-entry ledger, fiscal periods, the posting door,
receivables.

See docs/finance.md. Other contexts import ``app.finance.interface`` and ``app.finance.events`` only.
Importing finance registers its reactions to CRM (app/finance/handlers.py).
"""

from app.finance import handlers as _handlers  # noqa: F401  (registers the order listeners)
