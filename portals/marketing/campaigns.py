"""Campaigns: plan, budget, audience, send, results and ROI."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

ROUTES: list[HTTPRouteHandler] = []
