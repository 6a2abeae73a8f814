"""Public tracking links of campaign e-mails: open pixel, click redirect, unsubscribe."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

ROUTES: list[HTTPRouteHandler] = []
