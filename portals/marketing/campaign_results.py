"""Marketing › Campaigns › Results (CRM-9): the figures, how they are worked out, and two charts."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath

from app.crm.services import campaigns, effectiveness
from app.crm.services.campaigns import CHANNEL_LABELS, STATUS_LABELS
from app.kernel import i18n
from app.kernel.web import DbSession
from app.security.permissions import CRM_CAMPAIGN_READ, CRM_REPORT_READ, Scope
from portals.marketing.campaign_view import BASE
from portals.web import perm, principal, render


def funnel(res: effectiveness.Results, email: bool) -> list[tuple[str, int]]:
    steps = [
        (i18n.gettext("Recipients"), res.recipients),
        (i18n.gettext("Delivered"), res.delivered),
        (i18n.gettext("Opened"), res.opens),
        (i18n.gettext("Clicked"), res.clicks),
        (i18n.gettext("Responded"), res.responses),
    ]
    tail = [(i18n.gettext("New leads"), res.new_leads), (i18n.gettext("New customers"), res.new_customers)]
    return [*steps, *tail] if email else tail


def timeline_chart(res: effectiveness.Results) -> dict[str, Any]:
    return {
        "type": "line",
        "labels": [i18n.format_date(d, "short") for d, _, _ in res.series],
        "datasets": [
            {"label": i18n.gettext("Opens"), "data": [o for _, o, _ in res.series]},
            {"label": i18n.gettext("Clicks"), "data": [c for _, _, c in res.series], "color": "#18794e"},
        ],
    }


def funnel_chart(steps: list[tuple[str, int]]) -> dict[str, Any]:
    return {
        "type": "bar",
        "horizontal": True,
        "labels": [label for label, _ in steps],
        "datasets": [{"label": i18n.gettext("Number of people"), "data": [n for _, n in steps]}],
    }


@get(f"{BASE}/{{campaign_id:int}}/results", opt=perm(CRM_CAMPAIGN_READ, resource="crm_campaigns"))
async def campaign_results(
    request: Request[Any, Any, Any], db: DbSession, campaign_id: FromPath[int]
) -> Response[Any]:
    campaign = await campaigns.get_campaign(db, campaign_id)
    p = principal(request)
    res = await effectiveness.results(db, p, campaign)
    steps = funnel(res, campaign.channel == "email")
    return render(
        request,
        "marketing/campaign_results.html",
        campaign=campaign,
        res=res,
        steps=steps,
        funnel_chart=funnel_chart(steps),
        timeline_chart=timeline_chart(res) if res.series else None,
        partial_scope=p.scope_for(CRM_REPORT_READ) != Scope.ALL,
        status_labels=STATUS_LABELS,
        channel_labels=CHANNEL_LABELS,
        lead_days=effectiveness.LEAD_REVENUE_DAYS,
    )


ROUTES = [campaign_results]
