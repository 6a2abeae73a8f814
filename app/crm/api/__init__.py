"""CRM's JSON API, mounted at /api/v1/crm (PLAT-9 conventions: app/kernel/api.py, docs/api.md).

One module per concept; handlers parse, call a service in app/crm/services and shape the answer.
"""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from app.crm.api import accounts, leads, opportunities, orders, tickets

ROUTES: list[HTTPRouteHandler] = [
    *accounts.ROUTES,
    *leads.ROUTES,
    *opportunities.ROUTES,
    *orders.ROUTES,
    *tickets.ROUTES,
]
