"""Dates the pipeline pages print in little room — a month on a chart axis, a day on a card — in
the reader's language: "Jan 2031" / "2031年1月", "20 Jan" / "1月20日" (CLDR skeletons, not a fixed
pattern that would read "20 1月" in Chinese)."""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_skeleton

from app.kernel.i18n import babel_locale


def month_label(day: date, *, wide: bool = False) -> str:
    return str(format_skeleton("yMMMM" if wide else "yMMM", day, locale=babel_locale()))


def day_label(day: date | datetime) -> str:
    return str(format_skeleton("MMMd", day, locale=babel_locale()))
