"""What the finance settings pages and reports share: the settings tabs, figures, date ranges."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from babel import numbers
from litestar import Request

from app.finance.services.date_ranges import parse_range, whole_month
from app.kernel import i18n
from app.kernel.db import utcnow
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy
from app.security.permissions import FIN_SETTINGS_MANAGE
from portals.web import principal

SETTINGS = "/finance/settings"
# (href, label): the tab bar of the settings pages (finance/_settings_tabs.html)
TABS = [
    (SETTINGS, lazy("General")),
    (f"{SETTINGS}/tax-rates", lazy("Tax rates")),
    (f"{SETTINGS}/cost-centres", lazy("Cost centres")),
    (f"{SETTINGS}/split-rules", lazy("Split rules")),
    (f"{SETTINGS}/posting-rules", lazy("Posting rules")),
    ("/finance/accounts", lazy("Chart of accounts")),
]


def figure(value: Decimal | int | None) -> str:
    """An amount with two decimals in the reader's notation, zero included."""
    return numbers.format_decimal(value or 0, format="#,##0.00;-#,##0.00", locale=i18n.babel_locale())


def percent(value: Decimal) -> str:
    """A rate or share without trailing zeros: 13, 9.5, 33.3333."""
    text = format(Decimal(value).normalize(), "f")
    return numbers.format_decimal(Decimal(text), format="#,##0.####", locale=i18n.babel_locale())


def can_manage(request: Request[Any, Any, Any]) -> bool:
    return principal(request).can(FIN_SETTINGS_MANAGE)


def settings_ctx(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return {"tabs": TABS, "can_manage": can_manage(request), "figure": figure, "percent": percent}


def report_range(
    request: Request[Any, Any, Any],
) -> tuple[dict[str, str], tuple[date, date] | None, DomainError | None]:
    """The ``from``/``to`` of a report page (this month when both are missing): the values typed,
    the range, or the error to show."""
    params = request.query_params
    start, end = (params.get("from") or "").strip(), (params.get("to") or "").strip()
    if not start and not end:
        first, last = whole_month(utcnow().date())
        return {"from": first.isoformat(), "to": last.isoformat()}, (first, last), None
    typed = {"from": start, "to": end}
    try:
        return typed, parse_range(start, end), None
    except DomainError as exc:
        return typed, None, exc
