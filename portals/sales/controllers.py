"""The sales portal (CRM-2 … CRM-6): the portal's single entry.

One module per concept, each with its ``ROUTES``.
"""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from portals.sales import (
    assignment,
    catalogue,
    contracts,
    leads,
    orders,
    performance,
    pipeline,
    quotes,
    stages,
)

ROUTES: list[HTTPRouteHandler] = [
    *assignment.ROUTES,
    *catalogue.ROUTES,
    *contracts.ROUTES,
    *leads.ROUTES,
    *orders.ROUTES,
    *performance.ROUTES,
    *pipeline.ROUTES,
    *quotes.ROUTES,
    *stages.ROUTES,
]
