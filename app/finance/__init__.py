"""Finance (issue 4): chart of accounts, the double-entry ledger, fiscal periods, the posting door.

See docs/finance.md. Other contexts import ``app.finance.interface`` and ``app.finance.events`` only.
"""
