"""Logging calls, meetings, e-mails, inquiries, complaints and notes on the timeline."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

ROUTES: list[HTTPRouteHandler] = []
