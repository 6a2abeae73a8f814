"""CSV import of contacts and accounts with a row-by-row error report."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

ROUTES: list[HTTPRouteHandler] = []
