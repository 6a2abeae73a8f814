"""Search across accounts, contacts and leads; duplicate hints while typing."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

ROUTES: list[HTTPRouteHandler] = []
