"""Quotes: build with lines, send, accept, turn into a sales order."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

ROUTES: list[HTTPRouteHandler] = []
