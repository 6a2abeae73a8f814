"""Leads under /api/v1/crm: capture, list, qualify, convert (CRM-2)."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

ROUTES: list[HTTPRouteHandler] = []
