"""Finance's JSON API, mounted at /api/v1/finance (PLAT-9 conventions: app/kernel/api.py)."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from app.finance.api import ledger, receivables

ROUTES: list[HTTPRouteHandler] = [*ledger.ROUTES, *receivables.ROUTES]
