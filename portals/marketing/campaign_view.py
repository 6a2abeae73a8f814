"""What the campaign pages share: the campaign page itself (actions re-render it on errors), the
recipients table, and the e-mail preview."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, Response
from sqlalchemy import Select, or_
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Campaign, CampaignRecipient, Segment
from app.crm.services import campaign_sending, campaigns, effectiveness
from app.crm.services.campaigns import CHANNEL_LABELS, STATUS_LABELS
from app.kernel import context, i18n
from app.kernel.i18n import lazy
from app.security.models import User
from app.security.principal import Principal
from portals.exports import ExportColumn
from portals.forms import viewer_tz, wants_fragment
from portals.tables import Column, Filter, TableSpec, fetch_page, parse_query
from portals.web import FormState, principal, render

BASE = "/marketing/campaigns"
R = CampaignRecipient


def like(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


RECIPIENT_STATUS_LABELS = {
    "pending": lazy("Waiting"),
    "sent": lazy("Delivered"),
    "failed": lazy("Failed"),
    "skipped": lazy("Skipped"),
}
ACTIVITY_FILTERS = {
    "opened": (lazy("Opened"), R.opened_at.is_not(None)),
    "clicked": (lazy("Clicked"), R.clicked_at.is_not(None)),
    "responded": (lazy("Responded"), R.responded_at.is_not(None)),
    "unsubscribed": (lazy("Unsubscribed"), R.unsubscribed_at.is_not(None)),
    "no_reaction": (lazy("No reaction yet"), R.opened_at.is_(None)),
}


def _activity(stmt: Select[Any], value: str) -> Select[Any]:
    return stmt.where(ACTIVITY_FILTERS[value][1])


RECIPIENTS_TABLE = TableSpec(
    columns=[
        Column("email", lazy("E-mail"), sort=R.email),
        Column("name", lazy("Name"), sort=R.name),
        Column("status", lazy("Status"), sort=R.status),
        Column("sent", lazy("Sent"), sort=R.sent_at),
        Column("opened", lazy("Opened"), sort=R.opened_at),
        Column("clicked", lazy("Clicked"), sort=R.clicked_at),
        Column("responded", lazy("Responded"), sort=R.responded_at),
        Column("unsubscribed", lazy("Unsubscribed"), sort=R.unsubscribed_at),
    ],
    default_sort="email",
    filters=[
        Filter(
            "status",
            lazy("Status"),
            lambda s, v: s.where(R.status == v),
            list(RECIPIENT_STATUS_LABELS.items()),
        ),
        Filter(
            "activity",
            lazy("Activity"),
            _activity,
            [(k, label) for k, (label, _) in ACTIVITY_FILTERS.items()],
        ),
    ],
    search=lambda stmt, q: stmt.where(
        or_(R.email.ilike(like(q), escape="\\"), R.name.ilike(like(q), escape="\\"))
    ),
    tiebreak=R.id,
)


def recipient_columns(tz: str) -> list[ExportColumn]:
    """The recipients table as CSV: its columns (times ISO 8601 in the reader's time zone, as the
    page shows them) and the delivery error the page shows on hover."""
    zone = ZoneInfo(tz)

    def when(value: datetime | None) -> str:
        return value.astimezone(zone).isoformat(timespec="seconds") if value else ""

    return [
        ExportColumn(lazy("E-mail"), lambda r: r.email),
        ExportColumn(lazy("Name"), lambda r: r.name),
        ExportColumn(lazy("Status"), lambda r: i18n.gettext(RECIPIENT_STATUS_LABELS.get(r.status, r.status))),
        ExportColumn(lazy("Sent"), lambda r: when(r.sent_at)),
        ExportColumn(lazy("Opened"), lambda r: when(r.opened_at)),
        ExportColumn(lazy("Clicked"), lambda r: when(r.clicked_at)),
        ExportColumn(lazy("Responded"), lambda r: when(r.responded_at)),
        ExportColumn(lazy("Unsubscribed"), lambda r: when(r.unsubscribed_at)),
        ExportColumn(lazy("Error"), lambda r: r.error or ""),
    ]


@dataclass(frozen=True)
class MailPreview:
    subject: str
    body: str
    footer: str
    name: str
    company: str


async def mail_preview(
    db: AsyncSession, p: Principal, subject: str, body: str, segment_id: int | None
) -> MailPreview:
    """The e-mail as a member of the segment would get it (else addressed to the reader)."""
    tenant = context.current_tenant()
    sample = await campaigns.sample_recipient(db, segment_id)
    name, company = sample or (p.name or p.label, tenant.name if tenant else "")
    rendered = campaign_sending.preview(subject, body, name=name, company=company, locale=i18n.get_locale())
    cut = rendered.text.rfind("-- \n")
    return MailPreview(
        rendered.subject, rendered.text[:cut].rstrip(), rendered.text[cut + 4 :].strip(), name, company
    )


async def campaign_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    campaign: Campaign,
    *,
    form: FormState | None = None,
    action_error: str | None = None,
    status: int = 200,
) -> Response[Any]:
    """The campaign page; an action that fails re-renders it with its error (status 422)."""
    p = principal(request)
    query = parse_query(request.query_params, RECIPIENTS_TABLE)
    page = await fetch_page(db, campaigns.recipients_query(campaign.id, p), RECIPIENTS_TABLE, query)
    ctx: dict[str, Any] = {
        "page": page,
        "base": f"{BASE}/{campaign.id}",
        "tz": viewer_tz(request),
        "campaign": campaign,
        "recipient_status_labels": RECIPIENT_STATUS_LABELS,
    }
    if wants_fragment(request) and status == 200:
        return render(request, "marketing/_campaign_recipients.html", **ctx)
    editable = campaign.status in campaigns.EDITABLE
    missing = campaigns.content_errors(campaign) if campaign.channel == "email" and editable else []
    return render(
        request,
        "marketing/campaign_detail.html",
        status=status,
        form=form or FormState(),
        action_error=action_error,
        segment=await db.get(Segment, campaign.segment_id) if campaign.segment_id else None,
        owner=await db.get(User, campaign.owner_id) if campaign.owner_id else None,
        progress=await campaigns.progress(db, campaign.id),
        estimate=await campaign_sending.estimate_recipients(db, campaign) if editable else None,
        missing=[i18n.gettext(e.message) for e in missing],
        preview=await mail_preview(db, p, campaign.subject, campaign.body, campaign.segment_id),
        results=await effectiveness.results(db, p, campaign),
        status_labels=STATUS_LABELS,
        channel_labels=CHANNEL_LABELS,
        **ctx,
    )
