"""Accounts and contacts under /api/v1/crm (CRM-1)."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

ROUTES: list[HTTPRouteHandler] = []
