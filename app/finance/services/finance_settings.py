"""The tenant's finance settings: the chart its books are kept on, the base currency, when sales
orders are invoiced and the default payment terms (docs/finance-settings.md).

    view = await settings_view(session)      # reads only: never installs the chart
    await update_settings(session, principal, {"invoice_on": "fulfilled", "payment_terms_days": 45})

* The chart template is chosen once, before finance is first used (``install_chart``); after that
  it is shown, never changed (``chart_already_chosen``).
* The base currency changes only while the ledger is empty — no entry, invoice, bill or payment
  (``base_currency_locked``). The emptiness check runs under ``LOCK TABLE fin_periods IN EXCLUSIVE
  MODE``: every posting creates or locks its period row before it compares its currency with the
  base currency (posting.py), so postings in flight finish first and are seen, and postings that
  start later wait and then read the new currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from babel import numbers
from babel.core import get_global
from sqlalchemy import exists, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance import errors
from app.finance.models import Bill, Entry, FinanceSettings, Invoice, Payment
from app.finance.services.charts import TEMPLATES
from app.finance.services.setup import current_template, default_template, ensure_finance, install_chart
from app.kernel import context
from app.kernel.audit import audited
from app.kernel.errors import FieldError, ValidationFailed
from app.kernel.i18n import lazy
from app.security.principal import Principal

INVOICE_ON = {
    "confirmed": lazy("When the order is confirmed"),
    "fulfilled": lazy("When the order is delivered"),
}
TEMPLATE_LABELS = {
    "cas": lazy("China Accounting Standards for Business Enterprises"),
    "ifrs": lazy("IFRS-style chart"),
}
MAX_TERMS = 365


@lru_cache(maxsize=1)
def currency_codes() -> frozenset[str]:
    """ISO 4217 codes that are legal tender somewhere today (CLDR via Babel)."""
    today = date.today()  # noqa: DTZ011 — which currencies are current is a calendar question
    codes: set[str] = set()
    for territory in get_global("territory_currencies"):
        codes.update(numbers.get_territory_currencies(territory, today))
    return frozenset(codes)


@dataclass(frozen=True)
class SettingsView:
    chart_template: str | None  # None: not chosen yet (finance never used)
    suggested_template: str  # what first use would install: the tenant's language decides
    base_currency: str
    invoice_on: str
    payment_terms_days: int
    ledger_empty: bool  # the base currency may still change

    @property
    def chart_choosable(self) -> bool:
        return self.chart_template is None


def _tenant_currency() -> str:
    tenant = context.current_tenant()
    return tenant.currency if tenant else "CNY"


async def ledger_is_empty(session: AsyncSession) -> bool:
    """Nothing posted or issued yet: no entry (draft or posted), invoice, bill or payment."""
    used = select(
        exists(select(Entry.id))
        | exists(select(Invoice.id))
        | exists(select(Bill.id))
        | exists(select(Payment.id))
    )
    return not (await session.execute(used)).scalar_one()


async def settings_view(session: AsyncSession) -> SettingsView:
    row = await session.get(FinanceSettings, 1)
    tenant = context.current_tenant()
    suggested = default_template(tenant.locale if tenant else None)
    if row is None:
        return SettingsView(None, suggested, _tenant_currency(), "confirmed", 30, True)
    return SettingsView(
        row.chart_template,
        suggested,
        row.base_currency,
        row.invoice_on,
        row.payment_terms_days,
        await ledger_is_empty(session),
    )


async def base_currency(session: AsyncSession) -> str:
    """The currency the ledger is kept in (the organisation's currency until finance sets one)."""
    chosen = (await session.execute(select(FinanceSettings.base_currency))).scalar_one_or_none()
    return chosen or _tenant_currency()


async def check_currency(session: AsyncSession, currency: str) -> None:
    """The posting door's currency check: only the base currency posts (``currency_mismatch``)."""
    base = await base_currency(session)
    if currency.strip().upper() != base:
        raise errors.CurrencyMismatch(currency, base)


def _terms(value: object, errs: list[FieldError]) -> int | None:
    if isinstance(value, bool):
        value = None
    try:
        days = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        days = None
    if days is None or not 0 <= days <= MAX_TERMS:
        errs.append(FieldError("payment_terms_days", lazy("Enter a number of days from 0 to 365.")))
        return None
    return days


def clean_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    """The settings present in ``data``, checked; ``ValidationFailed`` names every bad field."""
    errs: list[FieldError] = []
    out: dict[str, Any] = {}
    if data.get("chart_template") not in (None, ""):
        if data["chart_template"] not in TEMPLATES:
            errs.append(FieldError("chart_template", lazy("Choose one of the chart templates.")))
        out["chart_template"] = data["chart_template"]
    if "base_currency" in data:
        code = str(data["base_currency"] or "").strip().upper()
        if code not in currency_codes():
            errs.append(FieldError("base_currency", lazy("Choose a three-letter ISO 4217 currency code.")))
        out["base_currency"] = code
    if "invoice_on" in data:
        if data["invoice_on"] not in INVOICE_ON:
            errs.append(FieldError("invoice_on", lazy("Choose when orders are invoiced.")))
        out["invoice_on"] = data["invoice_on"]
    if "payment_terms_days" in data:
        out["payment_terms_days"] = _terms(data["payment_terms_days"], errs)
    if errs:
        raise ValidationFailed(errs)
    return out


async def _lock_ledger_for_currency_change(session: AsyncSession) -> None:
    schema = session.info.get("tenant_schema")
    if not schema:
        raise RuntimeError("finance settings need a tenant session")
    table = f"{session.get_bind().dialect.identifier_preparer.quote_schema(schema)}.fin_periods"
    await session.execute(text(f"LOCK TABLE {table} IN EXCLUSIVE MODE"))


async def update_settings(
    session: AsyncSession, principal: Principal, data: Mapping[str, Any]
) -> SettingsView:
    """Change the settings present in ``data`` (all or nothing)."""
    values = clean_settings(data)
    chosen = await current_template(session)
    wanted = values.pop("chart_template", None)
    if wanted is not None and chosen is not None and wanted != chosen:
        raise errors.ChartAlreadyChosen(chosen)
    current = await base_currency(session)
    if values.get("base_currency", current) != current:
        await _lock_ledger_for_currency_change(session)
        if not await ledger_is_empty(session):
            raise errors.BaseCurrencyLocked(current)
    async with audited(session, "finance.settings_changed"):
        if chosen is None:
            await (install_chart(session, wanted) if wanted else ensure_finance(session))
        row = (
            await session.execute(
                select(FinanceSettings).with_for_update().execution_options(populate_existing=True)
            )
        ).scalar_one()
        for key, value in values.items():
            setattr(row, key, value)
        await session.flush()
    return await settings_view(session)
