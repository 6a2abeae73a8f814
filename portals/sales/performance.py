"""Sales performance per rep and team, with charts and period comparison (CRM-6).

Read under ``crm.report.read`` and its record rules (app/crm/services/performance.py). The charts'
data travel as JSON in ``data-chart`` attributes, drawn by ``portals/static/js/charts.js``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, Response, get

from app.crm.services import performance as perf
from app.crm.services import reps
from app.kernel import i18n
from app.kernel.csvfile import csv_bytes
from app.kernel.errors import ValidationFailed
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import CRM_REPORT_READ
from app.security.principal import Principal
from portals.exports import csv_download
from portals.forms import optional_id
from portals.nav import NavItem, register
from portals.web import FormState, perm, principal, render

BASE = "/sales/performance"
PRESET_LABELS = {
    "month": lazy("This month"),
    "quarter": lazy("This quarter"),
    "year": lazy("This year"),
    "custom": lazy("Custom dates"),
}
EXPORT_HEADERS = (
    lazy("Scope"),
    lazy("Name"),
    lazy("Revenue"),
    lazy("Revenue, previous period"),
    lazy("Orders"),
    lazy("Won"),
    lazy("Lost"),
    lazy("Win rate (%)"),
    lazy("Win rate, previous period (%)"),
    lazy("Average deal size"),
    lazy("Sales cycle (days)"),
    lazy("Open pipeline"),
    lazy("Currency"),
)

register(NavItem(lazy("Sales"), lazy("Performance"), BASE, CRM_REPORT_READ, icon="star", order=80))


def _today(request: Request[Any, Any, Any]) -> Any:
    tenant = request.scope["state"].get("tenant")
    return datetime.now(ZoneInfo(tenant.timezone if tenant else "UTC")).date()


def _filters(params: Any) -> dict[str, int | None]:
    owner, team = optional_id(params.get("owner")), optional_id(params.get("team"))
    return {
        "owner_id": owner if owner and owner > 0 else None,
        "team_id": team if team and team > 0 else None,
    }


async def _report(
    request: Request[Any, Any, Any], db: DbSession, p: Principal
) -> tuple[perf.Performance, FormState, int]:
    """The report for the chosen period; unusable dates fall back to this month with the errors."""
    params = request.query_params
    form = FormState({k: params.get(k, "") for k in ("period", "start", "end", "owner", "team")})
    status = 200
    try:
        period = perf.choose_period(
            params.get("period"), params.get("start"), params.get("end"), _today(request)
        )
    except ValidationFailed as exc:
        form, status = FormState(form.values, exc), 422
        period = perf.period_for("month", _today(request))
    return await perf.performance(db, p, period, **_filters(params)), form, status


def _number(value: Any, scale: int = 1) -> float | None:
    return None if value is None else float(value) * scale


def _bars(
    labels: list[str], series: list[tuple[str, list[float | None], str]], **options: Any
) -> dict[str, Any]:
    """A Chart.js bar chart config for charts.js (``currency``/``percent``/``horizontal`` options)."""
    return {
        "type": "bar",
        "data": {
            "labels": labels,
            "datasets": [
                {"label": name, "data": data, "backgroundColor": color} for name, data, color in series
            ],
        },
        "options": options,
    }


def charts(report: perf.Performance) -> dict[str, Any]:
    people = [r for r in report.by_rep if perf.any_figures(r) or r.previous.orders]
    names = [r.name or i18n.gettext("Unassigned") for r in people]
    now, before = i18n.gettext("This period"), i18n.gettext("Previous period")
    stages = [i18n.gettext(s.stage.name) for s in report.pipeline]
    return {
        "revenue": _bars(
            names,
            [
                (now, [_number(r.current.revenue) for r in people], "#1f4fd1"),
                (before, [_number(r.previous.revenue) for r in people], "#a9bdf0"),
            ],
            currency=report.currency,
        ),
        "win_rate": _bars(
            names,
            [
                (now, [_number(r.current.win_rate, 100) for r in people], "#18794e"),
                (before, [_number(r.previous.win_rate, 100) for r in people], "#a7dcc0"),
            ],
            percent=True,
        ),
        "pipeline": _bars(
            stages,
            [
                (i18n.gettext("Open amount"), [_number(s.amount) for s in report.pipeline], "#1f4fd1"),
                (i18n.gettext("Weighted"), [_number(s.weighted) for s in report.pipeline], "#a35200"),
            ],
            currency=report.currency,
            horizontal=True,
        ),
    }


@get(BASE, opt=perm(CRM_REPORT_READ))
async def performance_page(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    p = principal(request)
    report, form, status = await _report(request, db, p)
    filters = _filters(request.query_params)
    return render(
        request,
        "sales/performance.html",
        status=status,
        form=form,
        report=report,
        charts=charts(report),
        change=perf.change,
        presets=PRESET_LABELS,
        period_choice=form.value("period") or "month",
        filters=filters,
        owner_choices=[(u.id, u.full_name) for u in await reps.staff_in_scope(db, p, CRM_REPORT_READ)],
        team_choices=[(t.id, t.name) for t in await reps.teams_in_scope(db, p, CRM_REPORT_READ)],
        export_url=f"{BASE}/export.csv?{request.url.query}" if request.url.query else f"{BASE}/export.csv",
    )


def _export_row(scope: str, row: perf.PerformanceRow, empty: str, currency: str) -> list[Any]:
    cur, prev = row.current, row.previous

    def pct(value: Any) -> str:
        return "" if value is None else f"{value * 100:.1f}"

    return [
        i18n.gettext(scope),
        row.name or i18n.gettext(empty),
        f"{cur.revenue:.2f}",
        f"{prev.revenue:.2f}",
        cur.orders,
        cur.won,
        cur.lost,
        pct(cur.win_rate),
        pct(prev.win_rate),
        "" if cur.average_deal is None else f"{cur.average_deal:.2f}",
        "" if cur.cycle_days is None else str(cur.cycle_days),
        f"{row.open_pipeline:.2f}",
        currency,
    ]


@get(f"{BASE}/export.csv", opt=perm(CRM_REPORT_READ))
async def performance_export(request: Request[Any, Any, Any], db: DbSession) -> Response[bytes]:
    """The report's rep and team tables as CSV, for the same period, filters and record rules."""
    report, _form, _status = await _report(request, db, principal(request))
    rows = [_export_row(lazy("Total"), report.total, lazy("All"), report.currency)]
    rows += [_export_row(lazy("Rep"), r, lazy("Unassigned"), report.currency) for r in report.by_rep]
    rows += [_export_row(lazy("Team"), r, lazy("No team"), report.currency) for r in report.by_team]
    name = f"sales-performance-{report.period.start.isoformat()}-{report.period.end.isoformat()}"
    return csv_download(csv_bytes([i18n.gettext(h) for h in EXPORT_HEADERS], rows), f"{name}.csv")


ROUTES = [performance_page, performance_export]
