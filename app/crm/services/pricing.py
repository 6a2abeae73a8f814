"""Pricing of quote and order lines (CRM-4), with one explicit rounding rule.

Per line: gross = quantity × unit price; discount = gross × discount % ; net = gross − discount;
tax = net × VAT rate; total = net + tax. Each of discount, net and tax is rounded half-up to the
cent *on the line*, and document totals are the sums of the rounded line amounts, so the
document always equals the sum of its lines (what finance posts line by line).

    amounts = price_line(Decimal("3"), Decimal("33.3333"), Decimal("10"), Decimal("13"))
    amounts.net, amounts.tax, amounts.total   # 90.00, 11.70, 101.70
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from app.crm.services.fields import cents

HUNDRED = Decimal("100")


@dataclass(frozen=True, slots=True)
class LineAmounts:
    gross: Decimal
    discount: Decimal
    net: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal: Decimal  # sum of line nets (after discounts)
    discount_total: Decimal
    tax_total: Decimal
    total: Decimal


def price_line(
    quantity: Decimal, unit_price: Decimal, discount_percent: Decimal, tax_rate: Decimal
) -> LineAmounts:
    gross = cents(quantity * unit_price)
    discount = cents(gross * discount_percent / HUNDRED)
    net = gross - discount
    tax = cents(net * tax_rate / HUNDRED)
    return LineAmounts(gross=gross, discount=discount, net=net, tax=tax, total=net + tax)


def document_totals(lines: Iterable[LineAmounts]) -> Totals:
    items = list(lines)
    subtotal = sum((a.net for a in items), Decimal("0.00"))
    discount = sum((a.discount for a in items), Decimal("0.00"))
    tax = sum((a.tax for a in items), Decimal("0.00"))
    return Totals(subtotal=subtotal, discount_total=discount, tax_total=tax, total=subtotal + tax)
