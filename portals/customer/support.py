"""What every customer-portal page shares: its navigation, permission and the customer's scope.

Every page starts from ``customer(request, db)`` (the signed-in customer's contact and account,
through ``customer_account_id``); pages with a record id use ``customer_for_record`` so that a
sign-in linked to no account sees "not found", exactly as for another account's record.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.interface import has_customer_documents
from app.crm.services.portal_access import CustomerScope, current_customer
from app.crm.services.visibility import NotACustomer
from app.kernel.errors import NotFound
from app.kernel.i18n import lazy
from app.security.permissions import CUSTOMER_PORTAL_USE
from portals.nav import NavItem, register
from portals.web import perm, principal, render

SECTION = lazy("Customer portal")
BASE = "/portal"
PORTAL = perm(CUSTOMER_PORTAL_USE)


def portal_record(resource: str) -> dict[str, Any]:
    return perm(CUSTOMER_PORTAL_USE, resource=resource)


def _item(label: str, path: str, icon: str, order: int, **kw: Any) -> NavItem:
    """Customer-portal entries: for customers (staff never hold customer.portal.use)."""
    return NavItem(
        SECTION, label, f"{BASE}{path}", CUSTOMER_PORTAL_USE, icon=icon, order=order, staff_only=False, **kw
    )


register(
    _item(lazy("Home"), "", "home", 1, exact=True),
    _item(lazy("Orders"), "/orders", "cart", 10),
    _item(lazy("Support tickets"), "/tickets", "ticket", 20),
    _item(lazy("Surveys"), "/surveys", "star", 30),
)
INVOICES_NAV = _item(lazy("Invoices"), "/invoices", "file", 40)


def _offer_invoices() -> None:
    """The Invoices entry appears once another context (finance) registered customer documents
    (app/crm/interface.py) — which may happen after this module is imported, hence at run time."""
    if has_customer_documents():
        register(INVOICES_NAV)


async def customer(request: Request[Any, Any, Any], db: AsyncSession) -> CustomerScope:
    _offer_invoices()
    return await current_customer(db, principal(request))


async def customer_for_record(request: Request[Any, Any, Any], db: AsyncSession, what: str) -> CustomerScope:
    try:
        return await customer(request, db)
    except NotACustomer as exc:
        raise NotFound(what) from exc


def page(request: Request[Any, Any, Any], template: str, me: CustomerScope, **ctx: Any) -> Template:
    return render(request, template, me=me, **ctx)
