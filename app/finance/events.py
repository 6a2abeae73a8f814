"""The events finance publishes through the outbox (app/kernel/outbox.py). Payloads are plain
JSON: ids as integers, money as decimal strings, dates ISO 8601; a topic only ever gains keys."""

from __future__ import annotations

# {"entry_id": int, "number": "记-2026-12-0001", "journal": "general", "entry_date": "2026-12-04",
#  "period": "2026-12", "source_type": str | None, "source_id": int | None, "total": "1130.00",
#  "reversal_of": int | None}
ENTRY_POSTED = "finance.entry_posted"
