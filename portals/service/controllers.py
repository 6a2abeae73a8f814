"""The service portal (CRM-10/11): the portal's single entry.

One module per concept, each with its ``ROUTES``.
"""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from portals.service import satisfaction, sla, tickets

ROUTES: list[HTTPRouteHandler] = [
    *tickets.ROUTES,
    *sla.ROUTES,
    *satisfaction.ROUTES,
]
