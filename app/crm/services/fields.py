"""Input cleaning shared by CRM use cases: the portal's forms and the API get the same errors.

Each ``clean_*`` takes what a form or JSON body sent (a string, a number, None) and returns the
typed value, appending a ``FieldError`` to ``errors`` when it is not acceptable. A use case
cleans every field first and raises one ``ValidationFailed`` with all the problems together.

    errors: list[FieldError] = []
    amount = clean_money(data.get("amount"), "amount", errors)
    if errors:
        raise ValidationFailed(errors)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from app.kernel.errors import FieldError
from app.security.validation import EMAIL_RE

# Digits with optional + at the start and common separators; 6 to 20 digits in all.
_PHONE_RE = re.compile(r"^\+?[0-9 ()./-]{6,32}$")
_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
_TAG_RE = re.compile(r"^[^\s,][^,]{0,39}$")

CENT = Decimal("0.01")


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean_text(
    value: object, field: str, errors: list[FieldError], *, required: bool = False, max_len: int = 200
) -> str:
    """One line of text, whitespace collapsed."""
    text = " ".join(str(value).split()) if value is not None else ""
    if required and not text:
        errors.append(FieldError(field, "This field is required."))
    elif len(text) > max_len:
        errors.append(FieldError(field, "Use at most {n} characters.", {"n": max_len}))
    return text


def clean_optional_text(
    value: object, field: str, errors: list[FieldError], *, max_len: int = 200
) -> str | None:
    return clean_text(value, field, errors, max_len=max_len) or None


def clean_long_text(value: object, field: str, errors: list[FieldError], *, max_len: int = 20_000) -> str:
    """Multi-line text (notes, descriptions): line breaks kept, ends trimmed."""
    text = str(value).replace("\r\n", "\n").strip() if value is not None else ""
    if len(text) > max_len:
        errors.append(FieldError(field, "Use at most {n} characters.", {"n": max_len}))
    return text


def clean_email(value: object, field: str, errors: list[FieldError], *, required: bool = False) -> str | None:
    if _blank(value):
        if required:
            errors.append(FieldError(field, "This field is required."))
        return None
    email = str(value).strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 254:
        errors.append(FieldError(field, "Enter a valid e-mail address."))
    return email


def clean_phone(value: object, field: str, errors: list[FieldError]) -> str | None:
    if _blank(value):
        return None
    phone = " ".join(str(value).split())
    digits = re.sub(r"\D", "", phone)
    if not _PHONE_RE.match(phone) or not 6 <= len(digits) <= 20:
        errors.append(FieldError(field, "Enter a valid phone number (digits, spaces, + - ( ) only)."))
    return phone


def phone_digits(phone: str | None) -> str:
    """What duplicate detection compares: the digits only (the database computes the same)."""
    return re.sub(r"\D", "", phone or "")


def clean_country(value: object, field: str, errors: list[FieldError]) -> str | None:
    if _blank(value):
        return None
    code = str(value).strip().upper()
    if not _COUNTRY_RE.match(code):
        errors.append(FieldError(field, "Use the two-letter country code (CN, TW, HK, SG, US…)."))
    return code


def clean_currency(value: object, field: str, errors: list[FieldError], default: str) -> str:
    if _blank(value):
        return default
    code = str(value).strip().upper()
    if not _CURRENCY_RE.match(code):
        errors.append(FieldError(field, "Use a three-letter currency code (CNY, TWD, USD…)."))
    return code


def clean_choice(
    value: object, field: str, errors: list[FieldError], choices: Sequence[str], *, default: str | None = None
) -> str:
    if _blank(value):
        if default is not None:
            return default
        errors.append(FieldError(field, "This field is required."))
        return ""
    choice = str(value).strip()
    if choice not in choices:
        errors.append(FieldError(field, "Choose one of: {choices}.", {"choices": ", ".join(choices)}))
    return choice


def clean_decimal(
    value: object,
    field: str,
    errors: list[FieldError],
    *,
    places: int = 2,
    minimum: Decimal | None = Decimal("0"),
    maximum: Decimal | None = None,
    required: bool = True,
    default: Decimal | None = None,
    positive: bool = False,
) -> Decimal:
    """A number with at most ``places`` decimals (never a float: "0.1" stays exactly 0.1)."""
    if _blank(value):
        if required and default is None:
            errors.append(FieldError(field, "This field is required."))
        return default if default is not None else Decimal("0")
    if isinstance(value, bool):
        errors.append(FieldError(field, "Enter a number."))
        return Decimal("0")
    if isinstance(value, float):
        # repr() is the shortest exact form (0.1 → "0.1"); the API documents amounts as strings.
        value = repr(value)
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        errors.append(FieldError(field, "Enter a number."))
        return Decimal("0")
    if not number.is_finite():
        errors.append(FieldError(field, "Enter a number."))
        return Decimal("0")
    if number.as_tuple().exponent < -places:  # type: ignore[operator]
        errors.append(FieldError(field, "Use at most {n} decimal places.", {"n": places}))
    if positive and number <= 0:
        errors.append(FieldError(field, "Must be greater than zero."))
    elif minimum is not None and number < minimum:
        errors.append(FieldError(field, "Must be at least {min}.", {"min": str(minimum)}))
    if maximum is not None and number > maximum:
        errors.append(FieldError(field, "Must be at most {max}.", {"max": str(maximum)}))
    if abs(number) >= Decimal(10) ** 15:
        errors.append(FieldError(field, "This number is too large."))
    return number


def clean_money(value: object, field: str, errors: list[FieldError], **kw: Any) -> Decimal:
    return clean_decimal(value, field, errors, places=2, **kw)


def clean_percent(
    value: object, field: str, errors: list[FieldError], *, default: Decimal = Decimal("0")
) -> Decimal:
    return clean_decimal(
        value, field, errors, places=2, minimum=Decimal("0"), maximum=Decimal("100"), default=default
    )


def clean_int(
    value: object,
    field: str,
    errors: list[FieldError],
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    required: bool = True,
    default: int | None = None,
) -> int:
    if _blank(value):
        if required and default is None:
            errors.append(FieldError(field, "This field is required."))
        return default if default is not None else 0
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError
        number = int(str(value).strip()) if not isinstance(value, int | float) else int(value)
    except ValueError:
        errors.append(FieldError(field, "Enter a whole number."))
        return 0
    if minimum is not None and number < minimum:
        errors.append(FieldError(field, "Must be at least {min}.", {"min": minimum}))
    if maximum is not None and number > maximum:
        errors.append(FieldError(field, "Must be at most {max}.", {"max": maximum}))
    return number


MAX_ID = 2**63 - 1  # BIGINT: a larger id is not an id (and would fail in the driver, not here)


def clean_optional_id(value: object, field: str, errors: list[FieldError]) -> int | None:
    """An id, or None when blank. A number beyond BIGINT is a field error and None: looking it up
    would fail in the driver (a 500) instead of saying what is wrong."""
    if _blank(value):
        return None
    number = clean_int(value, field, errors, minimum=1, maximum=MAX_ID)
    return number if number and number <= MAX_ID else None


def clean_date(value: object, field: str, errors: list[FieldError], *, required: bool = False) -> date | None:
    if _blank(value):
        if required:
            errors.append(FieldError(field, "This field is required."))
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        errors.append(FieldError(field, "Enter a date as YYYY-MM-DD."))
        return None


def clean_tags(value: object, field: str, errors: list[FieldError]) -> list[str]:
    """Tags from "vip, 华东,  key account" or a list; trimmed, de-duplicated, order kept."""
    if _blank(value):
        return []
    items: Iterable[Any] = value if isinstance(value, list | tuple) else str(value).split(",")
    tags: list[str] = []
    for item in items:
        tag = " ".join(str(item).split())
        if not tag:
            continue
        if not _TAG_RE.match(tag):
            errors.append(FieldError(field, "A tag has at most 40 characters and no commas."))
            continue
        if tag.lower() not in (t.lower() for t in tags):
            tags.append(tag)
    if len(tags) > 30:
        errors.append(FieldError(field, "Use at most {n} tags.", {"n": 30}))
    return tags


def cents(amount: Decimal) -> Decimal:
    """Round half up to the cent: the one rounding rule for CRM documents (ARCHITECTURE.md)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)
