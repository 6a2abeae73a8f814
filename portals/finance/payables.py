"""The payables pages of the finance portal (FIN-3): suppliers, bills, payments to suppliers and
the ageing — their routes and navigation (docs/finance-payables.md)."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from app.kernel.i18n import lazy
from app.security.permissions import FIN_PAYABLE_READ
from portals.finance import payables_bills, payables_payments, payables_suppliers
from portals.finance.payables_format import SECTION
from portals.nav import NavItem, register

register(
    NavItem(SECTION, lazy("Suppliers"), payables_suppliers.BASE, FIN_PAYABLE_READ, icon="building", order=60),
    NavItem(SECTION, lazy("Bills"), payables_bills.BASE, FIN_PAYABLE_READ, icon="file", order=61),
    NavItem(
        SECTION, lazy("Supplier payments"), payables_payments.BASE, FIN_PAYABLE_READ, icon="coins", order=62
    ),
    NavItem(
        SECTION, lazy("Payables ageing"), payables_payments.AGEING, FIN_PAYABLE_READ, icon="clock", order=63
    ),
)

ROUTES: list[HTTPRouteHandler] = [
    *payables_suppliers.ROUTES,
    *payables_bills.ROUTES,
    *payables_payments.ROUTES,
]
