"""Lead assignment rules (round-robin, by region/source): the sales admin page."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

ROUTES: list[HTTPRouteHandler] = []
