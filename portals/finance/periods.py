"""Fiscal periods: the list, closing and reopening (``fin.period.close``).

A closed period takes no postings (the posting door and the database both refuse). Closing takes
the period's row ``FOR UPDATE``, so it waits for postings in flight; year-end closing entries are
not built yet (docs/finance.md).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from app.finance.services import periods
from app.kernel import i18n
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import FIN_LEDGER_READ, FIN_PERIOD_CLOSE
from portals.nav import NavItem, register
from portals.web import flash, perm, redirect, render

BASE = "/finance/periods"
STATUS_LABELS = {"open": lazy("Open for posting"), "closed": lazy("Closed")}

register(NavItem(lazy("Finance"), lazy("Fiscal periods"), BASE, FIN_LEDGER_READ, icon="clock", order=35))


@get(BASE, opt=perm(FIN_LEDGER_READ))
async def period_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    return render(
        request, "finance/periods.html", periods=await periods.list_periods(db), status_labels=STATUS_LABELS
    )


@post(f"{BASE}/{{period_id:int}}/close", opt=perm(FIN_PERIOD_CLOSE, resource="fin_periods"))
async def period_close(
    request: Request[Any, Any, Any], db: DbSession, period_id: FromPath[int]
) -> Response[Any]:
    period = await periods.set_status_by_id(db, period_id, "closed")
    flash(request, "success", i18n.gettext("The period {period} is closed.", period=period.code))
    return redirect(BASE, request)


@post(f"{BASE}/{{period_id:int}}/open", opt=perm(FIN_PERIOD_CLOSE, resource="fin_periods"))
async def period_open(
    request: Request[Any, Any, Any], db: DbSession, period_id: FromPath[int]
) -> Response[Any]:
    period = await periods.set_status_by_id(db, period_id, "open")
    flash(
        request, "success", i18n.gettext("The period {period} is open for posting again.", period=period.code)
    )
    return redirect(BASE, request)


ROUTES: list[HTTPRouteHandler] = [period_list, period_close, period_open]
