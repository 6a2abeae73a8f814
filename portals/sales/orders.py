"""Sales orders: lines, confirm, fulfil, cancel; status for rep and customer."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

ROUTES: list[HTTPRouteHandler] = []
