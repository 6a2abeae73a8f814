"""Fiscal periods: the list, closing and reopening (``fin.period.close``).

A closed period takes no postings (the posting door and the database both refuse). Closing takes
the period's row ``FOR UPDATE``, so it waits for postings in flight. The same page closes a year:
its income and expense go to retained earnings (app/finance/services/year_end.py).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from app.finance.services import periods, year_end
from app.kernel import i18n
from app.kernel.db import utcnow
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import FIN_LEDGER_READ, FIN_PERIOD_CLOSE
from portals.nav import NavItem, register
from portals.web import flash, form_data, perm, principal, redirect, render

BASE = "/finance/periods"
STATUS_LABELS = {"open": lazy("Open for posting"), "closed": lazy("Closed")}

register(NavItem(lazy("Finance"), lazy("Fiscal periods"), BASE, FIN_LEDGER_READ, icon="clock", order=35))


@get(BASE, opt=perm(FIN_LEDGER_READ))
async def period_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    return render(
        request,
        "finance/periods.html",
        periods=await periods.list_periods(db),
        status_labels=STATUS_LABELS,
        last_year=utcnow().year - 1,
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


@post("/finance/year-end", opt=perm(FIN_PERIOD_CLOSE))
async def year_end_close(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    """Carry a year's income and expense into retained earnings (app/finance/services/year_end.py)."""
    raw = str((await form_data(request)).get("year") or "").strip()
    if not (raw.isdigit() and 1900 <= int(raw) <= 9999):
        flash(request, "error", i18n.gettext("Enter a year, e.g. 2026."))
        return redirect(BASE, request)
    year = int(raw)
    try:
        entry = await year_end.close_year(db, principal(request), year)
    except DomainError as exc:
        await db.rollback()
        flash(request, "error", i18n.gettext(exc.message, **exc.params))
        return redirect(BASE, request)
    if entry is None:
        flash(
            request,
            "info",
            i18n.gettext("The year {year} has no income or expense to carry forward.", year=year),
        )
        return redirect(BASE, request)
    flash(
        request,
        "success",
        i18n.gettext("The year {year} is closed by entry {number}.", year=year, number=entry.number),
    )
    return redirect(f"/finance/entries/{entry.id}", request)


ROUTES: list[HTTPRouteHandler] = [period_list, period_close, period_open, year_end_close]
