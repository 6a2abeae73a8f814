"""Reading what a person or a client typed for suppliers, bills and supplier payments.

Each cleaner takes the raw value (a form's string, an API body's value, or already a Decimal or
date) and the field's name, and records a problem instead of raising, so a form shows every
field at fault at once:

    problems = Problems()
    amount = problems.money(data.amount, "amount")
    on = problems.date(data.payment_date, "payment_date", required=True)
    problems.raise_if_any()          # PayableRefused with the first problem's code

Business rules that need the database (a duplicate reference, an open amount) are checked by the
services after this, each with its own code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from app.finance.errors import PayableRefused
from app.kernel import context
from app.kernel.db import utcnow
from app.kernel.errors import FieldError
from app.kernel.i18n import lazy
from app.security.validation import EMAIL_RE

CENT = Decimal("0.01")
MAX_MONEY = Decimal("9999999999999.99")  # leaves room in NUMERIC(18, 2) for totals of many lines
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def tenant_today() -> date:
    """Today in the organisation's time zone (due dates and ageing are calendar dates there)."""
    tenant = context.current_tenant()
    return utcnow().astimezone(ZoneInfo(tenant.timezone if tenant else "UTC")).date()


@dataclass
class Problems:
    """Problems found so far, each with its code, in the order found."""

    items: list[tuple[str, FieldError]] = field(default_factory=list)

    def add(self, code: str, field_name: str, message: str, /, **params: Any) -> None:
        self.items.append((code, FieldError(field_name, message, params)))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        """Refuse with the first problem's code; its message, or a summary when there are more."""
        if len(self.items) == 1:
            code, first = self.items[0]
            raise PayableRefused(code, first.message, errors=[first], **first.params)
        if self.items:
            code = self.items[0][0]
            raise PayableRefused(code, lazy("Some fields are not valid."), errors=[e for _, e in self.items])

    # -- cleaners ---------------------------------------------------------------------------

    def text(self, value: Any, name: str, *, max_len: int, required: bool = False) -> str:
        text = "" if value is None else str(value).strip()
        if required and not text:
            self.add("required", name, lazy("This field is required."))
        elif len(text) > max_len:
            self.add("too_long", name, lazy("Use at most {n} characters."), n=max_len)
        return text

    def optional_text(self, value: Any, name: str, *, max_len: int) -> str | None:
        return self.text(value, name, max_len=max_len) or None

    def email(self, value: Any, name: str) -> str | None:
        text = self.text(value, name, max_len=254)
        if text and not EMAIL_RE.match(text):
            self.add("invalid_email", name, lazy("Enter a valid e-mail address."))
        return text.lower() or None

    def currency(self, value: Any, name: str) -> str | None:
        text = "" if value is None else str(value).strip().upper()
        if not text:
            return None
        if not _CURRENCY.match(text):
            self.add("invalid_currency", name, lazy("Enter a three-letter currency code such as CNY."))
            return None
        return text

    def integer(self, value: Any, name: str, *, low: int, high: int) -> int | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            number = (
                value if isinstance(value, int) and not isinstance(value, bool) else int(str(value).strip())
            )
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            self.add(
                "out_of_range", name, lazy("Enter a whole number from {low} to {high}."), low=low, high=high
            )
            return None
        return number

    def record_id(self, value: Any, name: str, code: str, message: str) -> int | None:
        """A record's id: blank is recorded as ``code`` (e.g. ``unknown_supplier``)."""
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        text = "" if value is None else str(value).strip()
        if text.isdigit() and 0 < len(text) < 18 and int(text) > 0:
            return int(text)
        self.add(code, name, message)
        return None

    def date(self, value: Any, name: str, *, required: bool = False) -> date | None:
        """A calendar date from 1900 on (a typo like 0206-01-05 would open a period in year 206)."""
        text = "" if value is None else str(value).strip()
        if isinstance(value, date):
            day: date | None = value
        elif not text:
            if required:
                self.add("invalid_date", name, lazy("Enter a date."))
            return None
        else:
            try:
                day = date.fromisoformat(text)
            except ValueError:
                day = None
        if day is None or day.year < 1900:
            self.add("invalid_date", name, lazy("Enter a date as YYYY-MM-DD."))
            return None
        return day

    def money(self, value: Any, name: str, *, required: bool = True) -> Decimal | None:
        """A positive amount in cents ("1,200.50" is read as 1200.50)."""
        text = "" if value is None else str(value).strip().replace(",", "")
        if not text:
            if required:
                self.add("invalid_amount", name, lazy("Enter an amount."))
            return None
        try:
            amount = Decimal(text)
        except (InvalidOperation, ValueError):
            amount = None
        if amount is None or not amount.is_finite():
            self.add("invalid_amount", name, lazy("Enter an amount with at most two decimals."))
            return None
        if amount <= 0:
            self.add("negative_amount", name, lazy("Enter an amount greater than zero."))
            return None
        if amount != amount.quantize(CENT) or amount > MAX_MONEY:
            self.add("invalid_amount", name, lazy("Enter an amount with at most two decimals."))
            return None
        return amount.quantize(CENT)
