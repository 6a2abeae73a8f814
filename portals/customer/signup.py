"""Sign-up against a known account (the contact's e-mail must be on file)."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

ROUTES: list[HTTPRouteHandler] = []
