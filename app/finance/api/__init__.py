"""Finance's JSON API, mounted at /api/v1/finance (PLAT-9 conventions: app/kernel/api.py)."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from app.finance.api import chart, cost_centres, ledger, payables, receivables, settings, statements, taxes

ROUTES: list[HTTPRouteHandler] = [
    *ledger.ROUTES,
    *chart.ROUTES,
    *settings.ROUTES,
    *taxes.ROUTES,
    *cost_centres.ROUTES,
    *receivables.ROUTES,
    *payables.ROUTES,
    *statements.ROUTES,
]
