"""VAT rates (增值税): each rate with the accounts its output tax (on sales) and input tax (on
purchases) post to, and the rate each product category uses by default.

Rates are installed with the chart (``install_tax_rates``): for 企业会计准则 the PRC rates — 13 %
(goods), 9 % (transport, construction, farm produce), 6 % (modern services), 3 % (small-scale
levy), 0 % (exports) and exempt (免税) — on 222101 / 222102; for the IFRS-style chart a standard,
reduced, zero and exempt rate on 2210 / 1170, plus the PRC rates when the books are kept in CNY.
Tenants add and change rates on the tax page.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.models import Account, CategoryTaxRate, TaxRate
from app.finance.services.account_lookup import remember_accounts
from app.finance.services.charts import STANDARD_ACCOUNTS

DEFAULT_RATES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "cas": (
        ("VAT13", "增值税 13%", "13.00"),
        ("VAT9", "增值税 9%", "9.00"),
        ("VAT6", "增值税 6%", "6.00"),
        ("VAT3", "增值税 征收率 3%", "3.00"),
        ("VAT0", "增值税 零税率", "0.00"),
        ("EXEMPT", "免税", "0.00"),
    ),
    "ifrs": (
        ("STD", "Standard rate 20%", "20.00"),
        ("RED", "Reduced rate 5%", "5.00"),
        ("ZERO", "Zero rate", "0.00"),
        ("EXEMPT", "Exempt", "0.00"),
    ),
}


async def install_tax_rates(session: AsyncSession, template: str, currency: str | None = None) -> None:
    """The template's default rates (idempotent: rates already there by code are kept). Books kept
    in CNY also get the PRC rates whatever the chart — what a Chinese company's products carry
    (13 / 9 / 6 %) must be invoiceable on an IFRS-style chart too."""
    rates = DEFAULT_RATES[template]
    if currency == "CNY" and template != "cas":
        rates = rates + tuple(r for r in DEFAULT_RATES["cas"] if r[0] not in {c for c, _, _ in rates})
    accounts = STANDARD_ACCOUNTS[template]
    ids = dict(
        (
            await session.execute(
                select(Account.code, Account.id).where(
                    Account.code.in_([accounts["output_vat"], accounts["input_vat"]])
                )
            )
        ).all()
    )
    await session.execute(
        insert(TaxRate)
        .values(
            [
                {
                    "code": code,
                    "name": name,
                    "rate": Decimal(rate),
                    "output_account_id": ids[accounts["output_vat"]],
                    "input_account_id": ids[accounts["input_vat"]],
                    "active": True,
                }
                for code, name, rate in rates
            ]
        )
        .on_conflict_do_nothing(index_elements=["code"])
    )


_RATES_FOR_PERCENTS = (  # built once: compiled and cache-keyed once
    select(TaxRate, Account)
    .outerjoin(Account, Account.id == TaxRate.output_account_id)
    .where(TaxRate.rate.in_(bindparam("percents", expanding=True)), TaxRate.active.is_(True))
    .order_by(TaxRate.id)
    .execution_options(populate_existing=True)  # fresh, though the session may hold them already
)


async def rates_for_percents(session: AsyncSession, percents: Iterable[Decimal]) -> dict[Decimal, TaxRate]:
    """The active rate charging each of ``percents`` (an order line's 13.00), in one statement;
    percentages without one are absent. For 0 % the zero rate is preferred to the exemption (the
    lowest id among equal rates, i.e. the first installed). The rates' output accounts are read
    with them (``accounts_by_code`` then has them: an invoice's entry credits them)."""
    wanted = {Decimal(p) for p in percents}
    if not wanted:
        return {}
    rows = (await session.execute(_RATES_FOR_PERCENTS, {"percents": sorted(wanted)})).all()
    remember_accounts(session, [account for _, account in rows if account is not None])
    found: dict[Decimal, TaxRate] = {}
    for rate, _ in rows:
        for percent in wanted:
            if percent == rate.rate and percent not in found:
                found[percent] = rate
    return found


async def rate_for_category(session: AsyncSession, category: str | None) -> TaxRate | None:
    """The rate a product category uses by default, if the tenant set one."""
    if not category:
        return None
    return (
        await session.execute(
            select(TaxRate)
            .join(CategoryTaxRate, CategoryTaxRate.tax_rate_id == TaxRate.id)
            .where(CategoryTaxRate.category == category)
        )
    ).scalar_one_or_none()
