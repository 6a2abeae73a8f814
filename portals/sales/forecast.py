"""Sales › Forecast: the weighted forecast by expected-close month, rep and team (CRM-3).

The chart's data travel as JSON in the canvas's ``data-chart`` attribute and are drawn by
``portals/static/js/charts.js`` (no inline script under the portal's CSP).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, Response, get

from app.crm.services import forecast as fc
from app.crm.services import reps
from app.kernel import i18n
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import CRM_OPPORTUNITY_READ
from portals.forms import optional_id
from portals.nav import NavItem, register
from portals.sales.pipeline_format import month_label
from portals.web import perm, principal, render

BASE = "/sales/forecast"

register(NavItem(lazy("Sales"), lazy("Forecast"), BASE, CRM_OPPORTUNITY_READ, icon="chart", order=40))


def this_month(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date().replace(day=1)


def parse_month(value: object, default: date) -> date:
    text = str(value or "").strip()
    try:
        year, month = int(text[:4]), int(text[5:7])
        return date(year, month, 1) if len(text) == 7 and text[4] == "-" and 2000 <= year <= 2100 else default
    except ValueError:
        return default


def chart_config(report: fc.Forecast) -> dict[str, Any]:
    """Bars: weighted open pipeline and won per month; a line: the unweighted pipeline."""
    labels = [month_label(m) for m in report.months]
    return {
        "type": "bar",
        "data": {
            "labels": labels,
            "datasets": [
                {
                    "label": i18n.gettext("Weighted forecast"),
                    "data": [float(report.total[m].weighted) for m in report.months],
                    "backgroundColor": "#1f4fd1",
                    "order": 2,
                },
                {
                    "label": i18n.gettext("Won"),
                    "data": [float(report.committed.get(m, 0)) for m in report.months],
                    "backgroundColor": "#18794e",
                    "order": 3,
                },
                {
                    "type": "line",
                    "label": i18n.gettext("Pipeline (unweighted)"),
                    "data": [float(report.total[m].amount) for m in report.months],
                    "borderColor": "#a35200",
                    "backgroundColor": "#a35200",
                    "tension": 0,
                    "order": 1,
                },
            ],
        },
        "options": {"currency": report.currency, "stacked": False},
    }


@get(BASE, opt=perm(CRM_OPPORTUNITY_READ))
async def forecast_page(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    p = principal(request)
    tenant = request.scope["state"].get("tenant")
    current = this_month(tenant.timezone if tenant else "UTC")
    start = parse_month(request.query_params.get("start"), current)
    months = optional_id(request.query_params.get("months"))
    months = months if months in fc.HORIZONS else 6
    owner = optional_id(request.query_params.get("owner"))
    team = optional_id(request.query_params.get("team"))
    filters = {
        "owner_id": owner if owner and owner > 0 else None,
        "team_id": team if team and team > 0 else None,
    }
    report = await fc.forecast(db, p, start=start, months=months, **filters)
    return render(
        request,
        "sales/forecast.html",
        report=report,
        chart=chart_config(report),
        start=start,
        months=months,
        horizons=fc.HORIZONS,
        month_choices=[fc.add_months(current, n) for n in range(-12, 13)],
        filters=filters,
        owner_choices=[(u.id, u.full_name) for u in await reps.staff_in_scope(db, p, CRM_OPPORTUNITY_READ)],
        team_choices=[(t.id, t.name) for t in await reps.teams_in_scope(db, p, CRM_OPPORTUNITY_READ)],
        is_current=start == current,
        month_label=month_label,
    )


ROUTES = [forecast_page]
