"""Marketing › Campaigns: the list with a comparison of results, planning, the campaign page.

Sending, scheduling and the other life-cycle actions are in campaign_actions.py, the results
page in campaign_results.py; their routes are collected here (the portal imports ``ROUTES``).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Campaign, Segment
from app.crm.services import campaigns, effectiveness
from app.crm.services.campaigns import CHANNEL_LABELS, STATUS_LABELS
from app.kernel import context, i18n
from app.kernel.csvfile import csv_bytes
from app.kernel.db import utcnow
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import CRM_CAMPAIGN_READ, CRM_CAMPAIGN_WRITE
from app.security.principal import Principal
from app.security.services import users
from portals.exports import csv_download, csv_export, export_rows, order_for
from portals.forms import viewer_tz, wants_fragment
from portals.marketing import campaign_actions, campaign_results
from portals.marketing.campaign_view import RECIPIENTS_TABLE, campaign_page, like, recipient_columns
from portals.nav import NavItem, register
from portals.tables import Column, Filter, TableSpec, apply_query, fetch_page, parse_query
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

BASE = "/marketing/campaigns"
RESOURCE = "crm_campaigns"

register(NavItem(lazy("Marketing"), lazy("Campaigns"), BASE, CRM_CAMPAIGN_READ, icon="megaphone", order=10))

CAMPAIGNS_TABLE = TableSpec(
    columns=[
        Column("name", lazy("Campaign"), sort=func.lower(Campaign.name)),
        Column("start", lazy("Start"), sort=Campaign.start_date),
        Column("recipients", lazy("Recipients"), align="right"),
        Column("engagement", lazy("Opened · clicked"), align="right"),
        Column("responses", lazy("Responses"), align="right"),
        Column("leads", lazy("New leads"), align="right"),
        Column("customers", lazy("New customers"), align="right"),
        Column("conversion", lazy("Conversion"), align="right"),
        Column("revenue", lazy("Revenue · cost"), align="right"),
        Column("roi", lazy("ROI"), align="right"),
    ],
    default_sort="start",
    default_direction="desc",
    filters=[
        Filter(
            "status", lazy("Status"), lambda s, v: s.where(Campaign.status == v), list(STATUS_LABELS.items())
        ),
        Filter(
            "channel",
            lazy("Channel"),
            lambda s, v: s.where(Campaign.channel == v),
            list(CHANNEL_LABELS.items()),
        ),
    ],
    search=lambda stmt, q: stmt.where(Campaign.name.ilike(like(q), escape="\\")),
    tiebreak=Campaign.id.desc(),
)


def _chart(rows: list[Campaign], results: dict[int, effectiveness.Results], currency: str) -> dict[str, Any]:
    """Attributed revenue against actual cost, for the campaigns on the page in the base currency."""
    shown = [c for c in rows if c.currency == currency][:12]
    return {
        "type": "bar",
        "currency": currency,
        "labels": [c.name[:28] for c in shown],
        "datasets": [
            {
                "label": i18n.gettext("Attributed revenue"),
                "data": [float(results[c.id].revenue) for c in shown],
            },
            {
                "label": i18n.gettext("Cost"),
                "data": [float(c.actual_cost) for c in shown],
                "color": "#a35200",
            },
        ],
    }


def listed_campaigns() -> Select[Any]:
    """The list's (and its export's) statement: every campaign is visible to whoever may read
    campaigns; the figures beside them follow the reader's report scope (``effectiveness``)."""
    return select(Campaign)


@get(BASE, opt=perm(CRM_CAMPAIGN_READ))
async def campaign_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    page = await fetch_page(
        db, listed_campaigns(), CAMPAIGNS_TABLE, parse_query(request.query_params, CAMPAIGNS_TABLE)
    )
    results = await effectiveness.results_for(db, principal(request), page.rows)
    tenant = context.current_tenant()
    currency = tenant.currency if tenant else "CNY"
    ctx: dict[str, Any] = {
        "page": page,
        "base": BASE,
        "results": results,
        "segment_names": await _segment_names(db, [c.segment_id for c in page.rows]),
        "chart": _chart(page.rows, results, currency),
        "status_labels": STATUS_LABELS,
        "channel_labels": CHANNEL_LABELS,
        "tz": viewer_tz(request),
    }
    if wants_fragment(request):
        return render(request, "marketing/_campaigns_table.html", **ctx)
    return render(request, "marketing/campaigns.html", **ctx)


async def _segment_names(db: AsyncSession, ids: list[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = await db.execute(select(Segment.id, Segment.name).where(Segment.id.in_(wanted)))
    return {sid: name for sid, name in rows.all()}


# --- CSV exports ---------------------------------------------------------------------------------

EXPORT_HEADERS = [
    "ID",  # the same in every language: not a msgid
    lazy("Campaign"),
    lazy("Status"),
    lazy("Channel"),
    lazy("Segment"),
    lazy("Start date"),
    lazy("End date"),
    lazy("Currency"),
    lazy("Budget"),
    lazy("Actual cost"),
    lazy("Recipients"),
    lazy("Delivered"),
    lazy("Opened"),
    lazy("Clicked"),
    lazy("Open rate (%)"),
    lazy("Click rate, CTR (%)"),
    lazy("Responses"),
    lazy("New leads"),
    lazy("New customers"),
    lazy("Conversion rate (%)"),
    lazy("Attributed revenue"),
    lazy("ROI (%)"),
]
RESULTS_CHUNK = 1000  # campaigns per effectiveness query (each id is a bound parameter)


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _percent(value: Decimal | None) -> str:
    """A rate in per cent with one decimal (as the other exports), blank where the list shows "—"."""
    return "" if value is None else f"{value * 100:.1f}"


def _export_row(c: Campaign, r: effectiveness.Results, segment_names: dict[int, str]) -> list[Any]:
    email = c.channel == "email"
    return [
        c.id,
        c.name,
        i18n.gettext(STATUS_LABELS.get(c.status, c.status)),
        i18n.gettext(CHANNEL_LABELS.get(c.channel, c.channel)),
        segment_names.get(c.segment_id, "") if c.segment_id else "",
        c.start_date.isoformat() if c.start_date else "",
        c.end_date.isoformat() if c.end_date else "",
        c.currency,
        _money(c.budget),
        _money(c.actual_cost),
        *((r.recipients, r.delivered, r.opens, r.clicks) if email else ("", "", "", "")),
        _percent(r.open_rate),
        _percent(r.click_rate),
        r.responses,
        r.new_leads,
        r.new_customers,
        _percent(r.conversion_rate),
        _money(r.revenue),
        _percent(r.roi),
    ]


async def _results(
    db: AsyncSession, p: Principal, rows: Sequence[Campaign]
) -> dict[int, effectiveness.Results]:
    out: dict[int, effectiveness.Results] = {}
    for start in range(0, len(rows), RESULTS_CHUNK):
        out |= await effectiveness.results_for(db, p, rows[start : start + RESULTS_CHUNK])
    return out


@get(f"{BASE}/export.csv", opt=perm(CRM_CAMPAIGN_READ))
async def campaign_export(request: Request[Any, Any, Any], db: DbSession) -> Response[bytes]:
    """The campaigns the list shows with these filters, search and sort, with the list's figures
    (leads, customers and revenue under the reader's report scope, as on the list)."""
    query = parse_query(request.query_params, CAMPAIGNS_TABLE)
    stmt = apply_query(listed_campaigns(), CAMPAIGNS_TABLE, query)
    rows = list(await export_rows(db, stmt.order_by(*order_for(CAMPAIGNS_TABLE, request.query_params))))
    results = await _results(db, principal(request), rows)
    names = await _segment_names(db, [c.segment_id for c in rows])
    body = csv_bytes(
        [i18n.gettext(h) for h in EXPORT_HEADERS], (_export_row(c, results[c.id], names) for c in rows)
    )
    filename = f"campaigns-{utcnow().date().isoformat()}.csv"
    return csv_download(body, f"{filename}")


# --- plan and edit -------------------------------------------------------------------------------


async def _form_context(db: AsyncSession) -> dict[str, Any]:
    segment_rows = await db.execute(
        select(Segment.id, Segment.name, Segment.member_count).order_by(func.lower(Segment.name))
    )
    return {
        "channel_options": [(k, i18n.gettext(v)) for k, v in CHANNEL_LABELS.items()],
        "segment_options": [
            (sid, i18n.ngettext("{name} ({n} account)", "{name} ({n} accounts)", count, name=name))
            for sid, name, count in segment_rows.all()
        ],
        "owner_options": [(u.id, u.full_name) for u in await users.active_staff(db)],
    }


async def _editor(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    campaign: Campaign | None,
    form: FormState,
    status: int = 200,
) -> Response[Any]:
    return render(
        request,
        "marketing/campaign_form.html",
        status=status,
        campaign=campaign,
        form=form,
        **await _form_context(db),
    )


@get(f"{BASE}/new", opt=perm(CRM_CAMPAIGN_WRITE))
async def campaign_new(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    tenant = context.current_tenant()
    form = FormState(
        {
            "channel": "email",
            "currency": tenant.currency if tenant else "CNY",
            "owner_id": principal(request).id,
            "budget": "0.00",
            "actual_cost": "0.00",
            "segment_id": request.query_params.get("segment_id", ""),
        }
    )
    return await _editor(request, db, None, form)


@post(BASE, opt=perm(CRM_CAMPAIGN_WRITE))
async def campaign_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    try:
        campaign = await campaigns.create_campaign(db, principal(request), form)
    except DomainError as exc:
        await db.rollback()
        return await _editor(request, db, None, FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("The campaign {name} is planned.", name=campaign.name))
    return redirect(f"{BASE}/{campaign.id}", request)


FORM_KEYS = ("name", "channel", "objective", "start_date", "end_date", "budget", "actual_cost", "currency")
CONTENT_KEYS = ("subject", "body", "segment_id", "owner_id")


def _stored(campaign: Campaign) -> FormState:
    keys = FORM_KEYS + CONTENT_KEYS
    return FormState({k: "" if getattr(campaign, k) is None else getattr(campaign, k) for k in keys})


@get(f"{BASE}/{{campaign_id:int}}/edit", opt=perm(CRM_CAMPAIGN_WRITE, resource=RESOURCE))
async def campaign_edit(
    request: Request[Any, Any, Any], db: DbSession, campaign_id: FromPath[int]
) -> Response[Any]:
    campaign = await campaigns.get_campaign(db, campaign_id)
    return await _editor(request, db, campaign, _stored(campaign))


@post(f"{BASE}/{{campaign_id:int}}", opt=perm(CRM_CAMPAIGN_WRITE, resource=RESOURCE))
async def campaign_save(
    request: Request[Any, Any, Any], db: DbSession, campaign_id: FromPath[int]
) -> Response[Any]:
    campaign = await campaigns.get_campaign(db, campaign_id)
    form = await form_data(request)
    try:
        await campaigns.update_campaign(db, principal(request), campaign.id, form)
    except DomainError as exc:
        await db.rollback()
        return await _editor(
            request, db, await campaigns.get_campaign(db, campaign_id), FormState(form, exc), 422
        )
    flash(request, "success", i18n.gettext("The changes to {name} are saved.", name=campaign.name))
    return redirect(f"{BASE}/{campaign.id}", request)


# --- the campaign page ---------------------------------------------------------------------------


@get(f"{BASE}/{{campaign_id:int}}", opt=perm(CRM_CAMPAIGN_READ, resource=RESOURCE))
async def campaign_detail(
    request: Request[Any, Any, Any], db: DbSession, campaign_id: FromPath[int]
) -> Response[Any]:
    return await campaign_page(request, db, await campaigns.get_campaign(db, campaign_id))


@get(f"{BASE}/{{campaign_id:int}}/recipients.csv", opt=perm(CRM_CAMPAIGN_READ, resource=RESOURCE))
async def campaign_recipients_export(
    request: Request[Any, Any, Any], db: DbSession, campaign_id: FromPath[int]
) -> Response[bytes]:
    """The recipients the campaign page lists with these filters, search and sort (a recipient
    follows their account's record rules, as on the page)."""
    campaign = await campaigns.get_campaign(db, campaign_id)
    stmt = campaigns.recipients_query(campaign.id, principal(request))
    columns = recipient_columns(viewer_tz(request))
    return await csv_export(
        request, db, stmt, RECIPIENTS_TABLE, columns, f"campaign-{campaign.id}-recipients"
    )


ROUTES = [
    campaign_list,
    campaign_export,
    campaign_new,
    campaign_create,
    campaign_edit,
    campaign_save,
    campaign_detail,
    campaign_recipients_export,
    *campaign_actions.ROUTES,
    *campaign_results.ROUTES,
]
