"""Opportunities and pipeline stages under /api/v1/crm (CRM-3)."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

ROUTES: list[HTTPRouteHandler] = []
