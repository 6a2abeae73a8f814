"""Translations (PLAT-5): English, 简体中文 and 繁體中文 from Babel catalogues.

One catalogue for the whole product lives in ``app/locale/<locale>/LC_MESSAGES/messages.po``.
Catalogues are compiled in memory at first use (no committed .mo files to drift). The active
locale is a context variable set per request/job, so Python code and Jinja templates both call
``gettext`` without passing the locale around.

Python msgids use ``{name}`` placeholders (``gettext("Hello {name}", name=n)``); Jinja templates
use the i18n extension's ``{% trans %}``/``_()`` with ``%(name)s``.
"""

from __future__ import annotations

import gettext as _gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DEFAULT_LOCALE = "en"
# Display names are shown in their own language in the switcher.
LOCALES: dict[str, str] = {"en": "English", "zh_Hans": "简体中文", "zh_Hant": "繁體中文"}
_BABEL_LOCALE = {"en": "en_GB", "zh_Hans": "zh_Hans_CN", "zh_Hant": "zh_Hant_TW"}
_HTML_LANG = {"en": "en", "zh_Hans": "zh-Hans", "zh_Hant": "zh-Hant"}

_current_locale: ContextVar[str] = ContextVar("tessera_locale", default=DEFAULT_LOCALE)


@lru_cache(maxsize=8)
def translations(locale: str) -> _gettext.NullTranslations:
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT_LOCALE or not po.exists():
        return _gettext.NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=_BABEL_LOCALE.get(locale, locale))
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


def normalize_locale(value: str | None) -> str | None:
    """Map what browsers and users send (zh-CN, zh-TW, zh-Hant-HK, en-US) to our three locales."""
    if not value:
        return None
    v = value.strip().replace("-", "_").lower()
    if v in ("zh_hans", "zh_cn", "zh_sg", "zh") or v.startswith(("zh_hans", "zh_cn")):
        return "zh_Hans"
    if v in ("zh_hant", "zh_tw", "zh_hk", "zh_mo") or v.startswith(("zh_hant", "zh_tw", "zh_hk", "zh_mo")):
        return "zh_Hant"
    if v.startswith("en"):
        return "en"
    return None


def negotiate(accept_language: str | None) -> str | None:
    """Pick the best supported locale from an Accept-Language header (q-values honoured)."""
    if not accept_language:
        return None
    choices: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language.split(",")):
        lang, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        if (loc := normalize_locale(lang)) is not None:
            choices.append((-weight, i, loc))
    return min(choices)[2] if choices else None


def get_locale() -> str:
    return _current_locale.get()


def set_locale(locale: str) -> None:
    _current_locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)


@contextmanager
def use_locale(locale: str | None) -> Iterator[None]:
    token = _current_locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)
    try:
        yield
    finally:
        _current_locale.reset(token)


def gettext(message: str, **params: Any) -> str:
    text = translations(get_locale()).gettext(message)
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return message.format(**params)
    return text


def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
    text = translations(get_locale()).ngettext(singular, plural, n)
    return text.format(n=n, **params)


def lazy(message: str) -> str:
    """Mark a string for extraction without translating it now (translated where shown)."""
    return message


# Jinja's i18n extension (newstyle) formats with %(name)s and escapes for us.
def jinja_gettext(message: str) -> str:
    return translations(get_locale()).gettext(message)


def jinja_ngettext(singular: str, plural: str, n: int) -> str:
    return translations(get_locale()).ngettext(singular, plural, n)


def html_lang(locale: str | None = None) -> str:
    return _HTML_LANG.get(locale or get_locale(), "en")


def babel_locale(locale: str | None = None) -> Locale:
    return Locale.parse(_BABEL_LOCALE.get(locale or get_locale(), "en_GB"))


def format_datetime(value: datetime | None, tz: str = "UTC", fmt: str = "medium") -> str:
    if value is None:
        return ""
    return dates.format_datetime(value, format=fmt, tzinfo=ZoneInfo(tz), locale=babel_locale())


def format_date(value: date | datetime | None, fmt: str = "medium", tz: str | None = None) -> str:
    """A calendar date in the reader's language (2026年12月4日 / 4 Dec 2026); a datetime is first
    converted to ``tz`` when given, so "today" is the reader's today."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(tz)).date() if tz else value.date()
    return dates.format_date(value, format=fmt, locale=babel_locale())


def format_percent(value: Decimal | int | float, digits: int = 1) -> str:
    """``format_percent(0.253)`` → 25.3%."""
    return numbers.format_percent(
        value, format=f"#,##0.{'0' * digits}%" if digits else "#,##0%", locale=babel_locale()
    )


def format_money(amount: Decimal | int | float, currency: str) -> str:
    return numbers.format_currency(amount, currency, locale=babel_locale())


def format_number(value: Decimal | int | float) -> str:
    return numbers.format_decimal(value, locale=babel_locale())
