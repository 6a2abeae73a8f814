"""Lead-capture web forms: manage them; the public form page and its POST."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

ROUTES: list[HTTPRouteHandler] = []
