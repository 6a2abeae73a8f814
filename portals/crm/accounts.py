"""Accounts: list, profile with timeline, create/edit, tags, needs and preferences, merge."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

ROUTES: list[HTTPRouteHandler] = []
