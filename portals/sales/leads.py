"""Leads: list, capture, qualify, convert; CSV import; assignment rules."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

ROUTES: list[HTTPRouteHandler] = []
