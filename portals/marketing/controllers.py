"""The marketing portal (CRM-7/8/9): the portal's single entry.

One module per concept, each with its ``ROUTES``.
"""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from portals.marketing import campaigns, segments, tracking, webforms

ROUTES: list[HTTPRouteHandler] = [
    *segments.ROUTES,
    *campaigns.ROUTES,
    *webforms.ROUTES,
    *tracking.ROUTES,
]
