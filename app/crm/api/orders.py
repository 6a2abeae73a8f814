"""Products, quotes and sales orders under /api/v1/crm (CRM-4)."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

ROUTES: list[HTTPRouteHandler] = []
