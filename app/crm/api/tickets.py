"""Tickets under /api/v1/crm, and the inbound e-mail endpoint (CRM-10)."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

ROUTES: list[HTTPRouteHandler] = []
