"""The customer self-service portal (CRM-12): the portal's single entry.

One module per concept, each with its ``ROUTES``.
"""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from portals.customer import home, invites, invoices, orders, signup, surveys, tickets

ROUTES: list[HTTPRouteHandler] = [
    *home.ROUTES,
    *invites.ROUTES,
    *invoices.ROUTES,
    *orders.ROUTES,
    *signup.ROUTES,
    *surveys.ROUTES,
    *tickets.ROUTES,
]
