"""Input checks shared by the security use cases (the portal and the API get the same errors)."""

from __future__ import annotations

import re

from app.kernel.errors import FieldError
from app.kernel.i18n import LOCALES

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def clean_email(value: object, field: str = "email") -> tuple[str, list[FieldError]]:
    email = str(value or "").strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 254:
        return email, [FieldError(field, "Enter a valid e-mail address.")]
    return email, []


def clean_name(
    value: object, field: str = "full_name", required: bool = True, max_len: int = 200
) -> tuple[str, list[FieldError]]:
    name = " ".join(str(value or "").split())
    if required and not name:
        return name, [FieldError(field, "This field is required.")]
    if len(name) > max_len:
        return name, [FieldError(field, "Use at most {n} characters.", {"n": max_len})]
    return name, []


def clean_locale(value: object, field: str = "locale") -> tuple[str, list[FieldError]]:
    locale = str(value or "en")
    if locale not in LOCALES:
        return locale, [FieldError(field, "Choose one of the supported languages.")]
    return locale, []
