"""The date range of a report ("from" and "to", both included), as people type it."""

from __future__ import annotations

from datetime import date, timedelta

from app.kernel.errors import FieldError, ValidationFailed
from app.kernel.i18n import lazy


def whole_month(today: date) -> tuple[date, date]:
    """The default range: the month of ``today``, first day to last."""
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def parse_range(start: object, end: object) -> tuple[date, date]:
    """``start``/``end`` as ISO dates; ``ValidationFailed`` names the field ("from", "to")."""
    errs: list[FieldError] = []
    parsed: list[date | None] = []
    for field, raw in (("from", start), ("to", end)):
        try:
            parsed.append(raw if isinstance(raw, date) else date.fromisoformat(str(raw or "").strip()))
        except ValueError:
            errs.append(FieldError(field, lazy("Enter a date.")))
            parsed.append(None)
    first, last = parsed
    if first and last and first > last:
        errs.append(FieldError("to", lazy("The end of the range comes before its start.")))
    if errs or first is None or last is None:
        raise ValidationFailed(errs)
    return first, last
