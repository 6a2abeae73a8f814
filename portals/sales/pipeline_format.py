"""Numbers and dates the pipeline pages print in little room, in the reader's language.

* ``month_label`` / ``day_label`` — a month on a chart axis, a day on a card: "Jan 2031" /
  "2031年1月", "20 Jan" / "1月20日" (CLDR skeletons, not a fixed pattern that would read "20 1月").
* ``CardFormats`` — the board's amounts and dates; the i18n formatters remember what they printed
  (app/kernel/i18n.py), which matters when a page prints hundreds of values.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from app.kernel.i18n import format_money, format_skeleton


def month_label(day: date, *, wide: bool = False) -> str:
    return format_skeleton("yMMMM" if wide else "yMMM", day)


def day_label(day: date | datetime) -> str:
    return format_skeleton("MMMd", day)


class CardFormats:
    """``money(amount, currency)`` and ``day(date)`` for one page, in the current locale."""

    def money(self, amount: Decimal | int | float, currency: str) -> str:
        return format_money(amount, currency)

    def day(self, day: date | datetime) -> str:
        return format_skeleton("MMMd", day)
