"""What the payables pages share: labels, money in the reader's notation, reading the rows of a
form with line or allocation rows, and field errors moved to the row they came from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from babel import numbers

from app.kernel import i18n
from app.kernel.errors import DomainError, FieldError
from app.kernel.i18n import lazy, lazy_p

SECTION = lazy("Finance")
CSS = "/static/css/documents.css"

STATUS_LABELS = {
    "open": lazy_p("document status", "Open"),
    "overdue": lazy("Overdue"),
    "paid": lazy("Paid"),
    "cancelled": lazy("Cancelled"),
}
STATUS_TONES = {"open": "tag-info", "overdue": "tag-err", "paid": "tag-ok", "cancelled": "tag-warn"}
METHOD_LABELS = {
    "bank_transfer": lazy("Bank transfer"),
    "cash": lazy("Cash"),
    "cheque": lazy("Cheque"),
    "card": lazy("Card"),
    "other": lazy("Other"),
}
BUCKET_LABELS = {
    "not_due": lazy("Not yet due"),
    "days_1_30": lazy("1–30 days"),
    "days_31_60": lazy("31–60 days"),
    "days_61_90": lazy("61–90 days"),
    "over_90": lazy("Over 90 days"),
}
KIND_LABELS = {"bill": lazy("Bill"), "cancellation": lazy("Cancellation"), "payment": lazy("Payment")}


def money(value: Decimal | int | None) -> str:
    """An amount with two decimals in the reader's notation (0 shows as 0.00)."""
    return numbers.format_decimal(Decimal(value or 0), format="#,##0.00", locale=i18n.babel_locale())


def parse_day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


def filled_rows(form: Mapping[str, Any], prefix: str, fields: Sequence[str], limit: int) -> list[int]:
    """The indexes of the rows (``prefix.k.field``) with anything typed in them."""
    return [k for k in range(limit) if any(str(form.get(f"{prefix}.{k}.{f}") or "").strip() for f in fields)]


def row_count(form: Mapping[str, Any], prefix: str, minimum: int, limit: int) -> int:
    """Rows to show: at least ``minimum``, and every row that came back from the form."""
    highest = -1
    for key in form:
        parts = str(key).split(".")
        if len(parts) == 3 and parts[0] == prefix and parts[1].isdigit():
            highest = max(highest, int(parts[1]))
    return min(limit, max(minimum, highest + 2))


def renumbered(exc: DomainError, prefix: str, rows: list[int]) -> DomainError:
    """The service names the n-th *filled* row (``lines.1.account``); the form shows the error
    beside the row it came from."""
    fixed = []
    for e in exc.errors:
        parts = e.field.split(".")
        if len(parts) == 3 and parts[0] == prefix and parts[1].isdigit() and int(parts[1]) < len(rows):
            fixed.append(FieldError(f"{prefix}.{rows[int(parts[1])]}.{parts[2]}", e.message, e.params))
        else:
            fixed.append(e)
    exc.errors = fixed
    return exc
