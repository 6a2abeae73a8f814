"""Translations (PLAT-5): English, 简体中文 and 繁體中文 from Babel catalogues.

One catalogue for the whole product lives in ``app/locale/<locale>/LC_MESSAGES/messages.po``.
Catalogues are compiled in memory at first use (no committed .mo files to drift). The active
locale is a context variable set per request/job, so Python code and Jinja templates both call
``gettext`` without passing the locale around.

Python msgids use ``{name}`` placeholders (``gettext("Hello {name}", name=n)``); Jinja templates
use the i18n extension's ``{% trans %}``/``_()`` with ``%(name)s``.

One English word can mean different things in different places ("Pending" invitation, ticket,
instalment). gettext tells them apart by a message context (``msgctxt``): ``pgettext(context,
message)`` translates now, ``lazy_p(context, message)`` marks a label that is translated where it
is shown — it is a ``str`` that carries its ``.context``, and ``gettext``, the templates' ``_()``
and ``tr()`` translate it within that context (docs/i18n.md, "Message contexts").
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


class ContextMessage(str):
    """An English msgid with its message context, made by ``lazy_p``: it is the plain English text
    (compares, hashes and formats as the ``str``), and ``.context`` tells every translation call
    which entry of the catalogue it is."""

    context: str

    def __new__(cls, context: str, message: str) -> ContextMessage:
        obj = super().__new__(cls, message)
        obj.context = context
        return obj

    def __reduce__(self) -> tuple[type[ContextMessage], tuple[str, str]]:
        return (ContextMessage, (self.context, str(self)))

    def __repr__(self) -> str:
        return f"lazy_p({self.context!r}, {str(self)!r})"


class PluralMessage(str):
    """An English message with a plural form, made by ``lazy_n`` for a message that is translated
    later together with its parameters (an error's message and params): ``{n}`` is the count.
    ``gettext(message, n=3, ...)`` takes the catalogue's form for 3; ``message.format(n=3, ...)``
    gives the English one, as the API and the logs show it."""

    plural: str

    def __new__(cls, singular: str, plural: str) -> PluralMessage:
        obj = super().__new__(cls, singular)
        obj.plural = plural
        return obj

    def __reduce__(self) -> tuple[type[PluralMessage], tuple[str, str]]:
        return (PluralMessage, (str(self), self.plural))

    def __repr__(self) -> str:
        return f"lazy_n({str(self)!r}, {self.plural!r})"

    def format(self, *args: Any, **kwargs: Any) -> str:
        n = kwargs.get("n")
        return (self.plural if n is not None and n != 1 else str(self)).format(*args, **kwargs)


def _context_of(message: str) -> str | None:
    return message.context if isinstance(message, ContextMessage) else None


def _translate(message: str) -> str:
    context = _context_of(message)
    t = translations(get_locale())
    return t.pgettext(context, message) if context is not None else t.gettext(message)


def _format(text: str, message: str, params: dict[str, Any]) -> str:
    if not params:
        return text
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        return message.format(**params)


def gettext(message: str, **params: Any) -> str:
    """The message in the current language; a ``lazy_p`` label within its own context, a
    ``lazy_n`` message in the plural form for ``n``."""
    if isinstance(message, PluralMessage) and isinstance(params.get("n"), int):
        text = translations(get_locale()).ngettext(message, message.plural, params["n"])
        return _format(text, message, params)
    return _format(_translate(message), message, params)


def pgettext(context: str, message: str, **params: Any) -> str:
    """Like ``gettext``, for a word whose meaning depends on where it is (``msgctxt``)."""
    return _format(translations(get_locale()).pgettext(context, message), message, params)


def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
    text = translations(get_locale()).ngettext(singular, plural, n)
    return text.format(n=n, **params)


def npgettext(context: str, singular: str, plural: str, n: int, **params: Any) -> str:
    text = translations(get_locale()).npgettext(context, singular, plural, n)
    return text.format(n=n, **params)


def lazy(message: str) -> str:
    """Mark a string for extraction without translating it now (translated where shown)."""
    return message


def lazy_n(singular: str, plural: str) -> PluralMessage:
    """``lazy`` for a message with a count: ``{n}`` in the params picks the plural form where the
    message is shown (``gettext(message, n=..., ...)``, or ``.format`` for English)."""
    return PluralMessage(singular, plural)


def lazy_p(context: str, message: str) -> ContextMessage:
    """``lazy`` with a message context: a label defined now, translated where shown (``gettext``,
    ``_()``, ``tr()``) as the entry ``msgctxt context`` / ``msgid message``."""
    return ContextMessage(context, message)


# Jinja's i18n extension (newstyle) formats with %(name)s and escapes for us.
def jinja_gettext(message: str) -> str:
    return _translate(message)


def jinja_ngettext(singular: str, plural: str, n: int) -> str:
    return translations(get_locale()).ngettext(singular, plural, n)


def jinja_pgettext(context: str, message: str) -> str:
    return translations(get_locale()).pgettext(context, message)


def jinja_npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return translations(get_locale()).npgettext(context, singular, plural, n)


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
    return _format_date(value, fmt, get_locale())


def format_percent(value: Decimal | int | float, digits: int = 1) -> str:
    """``format_percent(0.253)`` → 25.3%."""
    return numbers.format_percent(
        value, format=f"#,##0.{'0' * digits}%" if digits else "#,##0%", locale=babel_locale()
    )


def format_money(amount: Decimal | int | float, currency: str) -> str:
    return _format_money(amount, currency, get_locale())


def format_number(value: Decimal | int | float) -> str:
    return _format_number(value, get_locale())


def format_skeleton(skeleton: str, value: date | datetime) -> str:
    """A date by CLDR skeleton ("MMMd" → "20 Jan" / "1月20日"): the fields, in the language's order."""
    return _format_skeleton(skeleton, value, get_locale())


# Babel parses the locale's patterns on every call (~20 µs an amount): a board or report prints
# hundreds of values, most of them repeated (amounts, close dates), so the formatted text is
# remembered per (value, locale). Equal values format equally (Decimal("1.5") == Decimal("1.50")
# and both print with the currency's digits), so the cache can never answer a wrong string.
@lru_cache(maxsize=16384)
def _format_money(amount: Decimal | int | float, currency: str, locale: str) -> str:
    return str(numbers.format_currency(amount, currency, locale=babel_locale(locale)))


@lru_cache(maxsize=8192)
def _format_number(value: Decimal | int | float, locale: str) -> str:
    return str(numbers.format_decimal(value, locale=babel_locale(locale)))


@lru_cache(maxsize=8192)
def _format_date(value: date, fmt: str, locale: str) -> str:
    return str(dates.format_date(value, format=fmt, locale=babel_locale(locale)))


@lru_cache(maxsize=8192)
def _format_skeleton(skeleton: str, value: date | datetime, locale: str) -> str:
    return str(dates.format_skeleton(skeleton, value, locale=babel_locale(locale)))
