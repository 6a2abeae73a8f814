"""Sales › Forecast: the weighted forecast by expected-close month, rep and team (CRM-3).

The chart's data travel as JSON in the canvas's ``data-chart`` attribute and are drawn by
``portals/static/js/charts.js`` (no inline script under the portal's CSP).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, Response, get

from app.crm.services import forecast as fc
from app.crm.services import reps
from app.kernel import i18n
from app.kernel.csvfile import csv_bytes
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import CRM_OPPORTUNITY_READ
from portals.exports import csv_download
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


@dataclass(frozen=True)
class Choice:
    """The page's filters as read from the query (unusable values fall back to the defaults)."""

    current: date
    start: date
    months: int
    filters: dict[str, int | None]


def choice(request: Request[Any, Any, Any]) -> Choice:
    params = request.query_params
    tenant = request.scope["state"].get("tenant")
    current = this_month(tenant.timezone if tenant else "UTC")
    months = optional_id(params.get("months"))
    owner = optional_id(params.get("owner"))
    team = optional_id(params.get("team"))
    return Choice(
        current=current,
        start=parse_month(params.get("start"), current),
        months=months if months in fc.HORIZONS else 6,
        filters={
            "owner_id": owner if owner and owner > 0 else None,
            "team_id": team if team and team > 0 else None,
        },
    )


@get(BASE, opt=perm(CRM_OPPORTUNITY_READ))
async def forecast_page(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    p = principal(request)
    chosen = choice(request)
    current, start, months, filters = chosen.current, chosen.start, chosen.months, chosen.filters
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
        export_url=f"{BASE}/export.csv?{request.url.query}" if request.url.query else f"{BASE}/export.csv",
    )


EXPORT_HEADERS = (
    lazy("Scope"),
    lazy("Name"),
    lazy("Month"),
    lazy("Open deals"),
    lazy("Pipeline (unweighted)"),
    lazy("Weighted"),
    lazy("Won"),
    lazy("Currency"),
)


def _money(value: Any) -> str:
    return f"{Decimal(value):.2f}"


def export_table(report: fc.Forecast) -> list[list[Any]]:
    """The page's three tables as one: the total per month (with what was won in it), then one
    row per rep and per team for every month of the horizon. The service sums won deals per rep
    and team over the whole horizon only, so their rows leave "Won" blank."""

    def line(scope: str, name: str, month: date, b: fc.Bucket, won: str) -> list[Any]:
        return [scope, name, month.strftime("%Y-%m"), b.count, _money(b.amount), _money(b.weighted), won,
                report.currency]  # fmt: skip

    total = i18n.gettext("Total")
    rows = [
        line(total, i18n.gettext("All"), m, report.total[m], _money(report.committed.get(m, 0)))
        for m in report.months
    ]
    for scope, people, empty in (
        (lazy("Rep"), report.by_rep, lazy("Unassigned")),
        (lazy("Team"), report.by_team, lazy("No team")),
    ):
        rows += [
            line(i18n.gettext(scope), row.name or i18n.gettext(empty), m, row.cells.get(m) or fc.Bucket(), "")
            for row in people
            for m in report.months
        ]
    return rows


@get(f"{BASE}/export.csv", opt=perm(CRM_OPPORTUNITY_READ))
async def forecast_export(request: Request[Any, Any, Any], db: DbSession) -> Response[bytes]:
    """The forecast for the same months, filters and record rules as the page, as CSV."""
    chosen = choice(request)
    report = await fc.forecast(
        db, principal(request), start=chosen.start, months=chosen.months, **chosen.filters
    )
    last = report.months[-1]
    name = f"forecast-{chosen.start.strftime('%Y-%m')}-{last.strftime('%Y-%m')}"
    return csv_download(
        csv_bytes([i18n.gettext(h) for h in EXPORT_HEADERS], export_table(report)), f"{name}.csv"
    )


ROUTES = [forecast_page, forecast_export]
