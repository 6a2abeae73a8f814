"""Opportunities: list, kanban board with drag-and-drop, forecast (CRM-3).

The concept is split by page — ``opportunities.py`` (list, detail, forms), ``board.py`` (kanban)
and ``forecast.py`` — and registered here, the module the sales portal's controller mounts.
"""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from portals.sales import board, forecast, opportunities

ROUTES: list[HTTPRouteHandler] = [*opportunities.ROUTES, *board.ROUTES, *forecast.ROUTES]
