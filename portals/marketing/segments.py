"""Marketing › Segments: the list, the rule editor with a live count, refreshes, members and export."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy import Select, func

from app.crm.models import Account, Segment, SegmentMember
from app.crm.services import segments
from app.crm.services.segment_rules import CHOICE_LABELS
from app.kernel import context, i18n
from app.kernel.csvfile import csv_bytes
from app.kernel.db import utcnow
from app.kernel.errors import DomainError, ValidationFailed
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import CRM_CAMPAIGN_READ, CRM_CAMPAIGN_WRITE
from portals.exports import csv_download, export_rows, order_for
from portals.forms import viewer_tz, wants_fragment
from portals.marketing.segment_form import editor_context, rows_from_form, rows_from_rules, rules_from_rows
from portals.nav import NavItem, register
from portals.tables import Column, TableSpec, apply_query, fetch_page, parse_query
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

BASE = "/marketing/segments"
RESOURCE = "crm_segments"

register(NavItem(lazy("Marketing"), lazy("Segments"), BASE, CRM_CAMPAIGN_READ, icon="filter", order=20))


def _search(stmt: Select[Any], q: str) -> Select[Any]:
    pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return stmt.where(Account.name.ilike(pattern, escape="\\"))


RFM = "R · F · M"  # the same in every language: not a msgid
MEMBERS_TABLE = TableSpec(
    columns=[
        Column("name", lazy("Account"), sort=func.lower(Account.name)),
        Column("region", lazy("Region"), sort=Account.region),
        Column("stage", lazy("Lifecycle stage")),
        Column("recency", lazy("Days since the last order"), sort=SegmentMember.recency_days, align="right"),
        Column("frequency", lazy("Orders, 365 days"), sort=SegmentMember.frequency, align="right"),
        Column("monetary", lazy("Spend, 365 days"), sort=SegmentMember.monetary, align="right"),
        Column("rfm", RFM),
    ],
    default_sort="monetary",
    default_direction="desc",
    search=_search,
    tiebreak=SegmentMember.account_id,
)


def _tenant_currency() -> str:
    tenant = context.current_tenant()
    return tenant.currency if tenant else "CNY"


def _refreshing(segment: Segment) -> bool:
    requested = segment.refresh_requested_at
    return requested is not None and (segment.refreshed_at is None or segment.refreshed_at < requested)


@get(BASE, opt=perm(CRM_CAMPAIGN_READ))
async def segment_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    rows = await segments.list_segments(db)
    currency = _tenant_currency()
    return render(
        request,
        "marketing/segments.html",
        segment_rows=[(s, segments.describe_rules(s, currency), _refreshing(s)) for s in rows],
        tz=viewer_tz(request),
    )


LIST_EXPORT_HEADERS = [
    "ID",  # the same in every language: not a msgid
    lazy("Segment"),
    lazy("Description"),
    lazy("Conditions"),
    lazy("Accounts"),
    lazy("Last counted"),
]


def _conditions(segment: Segment, currency: str) -> str:
    """The list's summary of the rules on one line: "all of: rule; rule"."""
    descriptions = segments.describe_rules(segment, currency)
    if not descriptions:
        return i18n.gettext("Every account")
    match = i18n.gettext("all of") if segment.match == "all" else i18n.gettext("any of")
    return f"{match}: " + "; ".join(descriptions)


@get(f"{BASE}/export.csv", opt=perm(CRM_CAMPAIGN_READ))
async def segment_list_export(request: Request[Any, Any, Any], db: DbSession) -> Response[bytes]:
    """Every segment the list shows, in its order: conditions, member count, when last counted
    (ISO 8601 in the reader's time zone)."""
    rows = await segments.list_segments(db)  # the list's own query: it shows every segment
    currency, zone = _tenant_currency(), ZoneInfo(viewer_tz(request))

    def row(s: Segment) -> list[Any]:
        counted = s.refreshed_at.astimezone(zone).isoformat(timespec="seconds") if s.refreshed_at else ""
        return [s.id, s.name, s.description, _conditions(s, currency), s.member_count, counted]

    body = csv_bytes([i18n.gettext(h) for h in LIST_EXPORT_HEADERS], (row(s) for s in rows))
    return csv_download(body, f"segments-{utcnow().date().isoformat()}.csv")


def _editor(
    request: Request[Any, Any, Any],
    segment: Segment | None,
    form: FormState,
    rows: list[dict[str, str]],
    status: int = 200,
) -> Response[Any]:
    return render(
        request,
        "marketing/segment_form.html",
        status=status,
        segment=segment,
        form=form,
        rows=[*rows, {"field": "", "op": "", "value": "", "value2": "", "days": ""}],
        **editor_context(),
    )


def _data(form: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    rows = rows_from_form(form)
    return {**form, "rules": rules_from_rows(rows)}, rows


@get(f"{BASE}/new", opt=perm(CRM_CAMPAIGN_WRITE))
async def segment_new(request: Request[Any, Any, Any]) -> Response[Any]:
    starter = [{"field": "monetary", "op": "gte", "value": "", "value2": "", "days": "365"}]
    return _editor(request, None, FormState({"match": "all"}), starter)


@post(BASE, opt=perm(CRM_CAMPAIGN_WRITE))
async def segment_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    data, rows = _data(form)
    try:
        segment = await segments.create_segment(db, principal(request), data)
    except DomainError as exc:
        await db.rollback()
        return _editor(request, None, FormState(form, exc), rows, status=422)
    flash(
        request,
        "success",
        i18n.gettext("The segment {name} is saved; its members are being counted.", name=segment.name),
    )
    return redirect(f"{BASE}/{segment.id}", request)


@post(f"{BASE}/preview", opt=perm(CRM_CAMPAIGN_WRITE))
async def segment_preview(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    """The live count under the rule editor (htmx): how many accounts match right now."""
    form = await form_data(request)
    data, _ = _data(form)
    try:
        count: int | None = await segments.preview_count(db, data["rules"], data.get("match"))
    except ValidationFailed:
        count = None
    return render(request, "marketing/_segment_preview.html", count=count)


@get(f"{BASE}/{{segment_id:int}}", opt=perm(CRM_CAMPAIGN_READ, resource=RESOURCE))
async def segment_detail(
    request: Request[Any, Any, Any], db: DbSession, segment_id: FromPath[int]
) -> Response[Any]:
    segment = await segments.get_segment(db, segment_id)
    page = await fetch_page(
        db,
        segments.members_query(segment.id, principal(request)),
        MEMBERS_TABLE,
        parse_query(request.query_params, MEMBERS_TABLE),
        scalars=False,
    )
    ctx: dict[str, Any] = {
        "segment": segment,
        "page": page,
        "base": f"{BASE}/{segment.id}",
        "currency": _tenant_currency(),
        "stage_labels": CHOICE_LABELS,
        "refreshing": _refreshing(segment),
        "tz": viewer_tz(request),
        "export_query": request.url.query,
    }
    if wants_fragment(request):
        return render(request, "marketing/_segment_members.html", **ctx)
    return render(
        request,
        "marketing/segment_detail.html",
        descriptions=segments.describe_rules(segment, ctx["currency"]),
        **ctx,
    )


@get(f"{BASE}/{{segment_id:int}}/status", opt=perm(CRM_CAMPAIGN_READ, resource=RESOURCE))
async def segment_status(
    request: Request[Any, Any, Any], db: DbSession, segment_id: FromPath[int]
) -> Response[Any]:
    """The refresh badge, polled while a refresh is under way (htmx)."""
    segment = await segments.get_segment(db, segment_id)
    refreshing = _refreshing(segment)
    page = render(
        request,
        "marketing/_segment_status.html",
        segment=segment,
        refreshing=refreshing,
        tz=viewer_tz(request),
    )
    if not refreshing and request.query_params.get("was") == "counting":
        page.headers["HX-Refresh"] = "true"  # the count is done: show the new members
    return page


@get(f"{BASE}/{{segment_id:int}}/edit", opt=perm(CRM_CAMPAIGN_WRITE, resource=RESOURCE))
async def segment_edit(
    request: Request[Any, Any, Any], db: DbSession, segment_id: FromPath[int]
) -> Response[Any]:
    segment = await segments.get_segment(db, segment_id)
    form = FormState({"name": segment.name, "description": segment.description, "match": segment.match})
    return _editor(request, segment, form, rows_from_rules(segment.rules))


@post(f"{BASE}/{{segment_id:int}}", opt=perm(CRM_CAMPAIGN_WRITE, resource=RESOURCE))
async def segment_save(
    request: Request[Any, Any, Any], db: DbSession, segment_id: FromPath[int]
) -> Response[Any]:
    segment = await segments.get_segment(db, segment_id)
    form = await form_data(request)
    data, rows = _data(form)
    try:
        await segments.update_segment(db, principal(request), segment.id, data)
    except DomainError as exc:
        await db.rollback()
        return _editor(
            request, await segments.get_segment(db, segment_id), FormState(form, exc), rows, status=422
        )
    flash(
        request,
        "success",
        i18n.gettext("The segment {name} is saved; its members are being counted.", name=segment.name),
    )
    return redirect(f"{BASE}/{segment.id}", request)


@post(f"{BASE}/{{segment_id:int}}/refresh", opt=perm(CRM_CAMPAIGN_WRITE, resource=RESOURCE))
async def segment_refresh(
    request: Request[Any, Any, Any], db: DbSession, segment_id: FromPath[int]
) -> Response[Any]:
    segment = await segments.request_refresh(db, principal(request), segment_id)
    flash(request, "info", i18n.gettext("The members of {name} are being recounted.", name=segment.name))
    return redirect(f"{BASE}/{segment.id}", request)


@post(f"{BASE}/{{segment_id:int}}/delete", opt=perm(CRM_CAMPAIGN_WRITE, resource=RESOURCE))
async def segment_delete(
    request: Request[Any, Any, Any], db: DbSession, segment_id: FromPath[int]
) -> Response[Any]:
    await segments.get_segment(db, segment_id)
    try:
        name = await segments.delete_segment(db, segment_id)
    except DomainError as exc:
        await db.rollback()
        flash(request, "error", i18n.gettext(exc.message, **exc.params))
        return redirect(f"{BASE}/{segment_id}", request)
    flash(request, "success", i18n.gettext("The segment {name} is deleted.", name=name))
    return redirect(BASE, request)


@get(f"{BASE}/{{segment_id:int}}/members.csv", opt=perm(CRM_CAMPAIGN_READ, resource=RESOURCE))
async def segment_export(
    request: Request[Any, Any, Any], db: DbSession, segment_id: FromPath[int]
) -> Response[bytes]:
    """The members the list shows (search, sort and record rules included), with their figures."""
    segment = await segments.get_segment(db, segment_id)
    stmt = apply_query(segments.members_query(segment.id, principal(request)), MEMBERS_TABLE,
                       parse_query(request.query_params, MEMBERS_TABLE))  # fmt: skip
    order = order_for(MEMBERS_TABLE, request.query_params)
    rows = await export_rows(db, stmt.order_by(*order), scalars=False)
    currency = _tenant_currency()
    body = csv_bytes(
        [i18n.gettext(h) for h in EXPORT_HEADERS], (_export_row(m, a, currency) for m, a in rows)
    )
    filename = f"segment-{segment.id}-{utcnow().date().isoformat()}.csv"
    return csv_download(body, f"{filename}")


EXPORT_HEADERS = [
    lazy("Account ID"),
    lazy("Account"),
    lazy("Region"),
    lazy("Country"),
    lazy("Lifecycle stage"),
    lazy("Tags"),
    lazy("Days since the last order"),
    lazy("Orders, 365 days"),
    lazy("Spend, 365 days"),
    lazy("Currency"),
    lazy("R score"),
    lazy("F score"),
    lazy("M score"),
]


def _export_row(m: SegmentMember, a: Account, currency: str) -> list[Any]:
    stage = i18n.gettext(CHOICE_LABELS.get(a.lifecycle_stage, a.lifecycle_stage))
    figures = [m.recency_days, m.frequency, m.monetary, currency, m.r_score, m.f_score, m.m_score]
    return [a.id, a.name, a.region, a.country, stage, ", ".join(a.tags), *figures]


ROUTES = [
    segment_list,
    segment_list_export,
    segment_new,
    segment_create,
    segment_preview,
    segment_detail,
    segment_status,
    segment_edit,
    segment_save,
    segment_refresh,
    segment_delete,
    segment_export,
]
