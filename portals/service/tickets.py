"""Tickets: queue, detail with conversation, assignment, status, repair records."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

ROUTES: list[HTTPRouteHandler] = []
