"""Opportunities: list, kanban board with drag-and-drop, forecast; pipeline stages."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

ROUTES: list[HTTPRouteHandler] = []
