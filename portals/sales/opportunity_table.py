"""The opportunity list's columns, filters and CSV layout, and the edit form's fields (CRM-3).

Filter choices depend on the reader (the people and teams they may filter by), so the spec is
built per request; only declared columns sort and only declared filters apply (portals/tables.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, or_

from app.crm.models import Account, Opportunity, PipelineStage
from app.crm.services.fields import cents
from app.crm.services.forecast import add_months
from app.kernel import i18n
from app.kernel.i18n import lazy, lazy_p
from app.security.models import Team, User
from portals.sales.pipeline_format import month_label
from portals.tables import Column, Filter, TableSpec

STATUS_LABELS = {"open": lazy("Open"), "won": lazy("Won"), "lost": lazy("Lost")}
SOURCES = (
    ("referral", lazy("Referral")),
    ("web", lazy("Website")),
    ("event", lazy("Event or trade fair")),
    ("partner", lazy("Partner")),
    ("outbound", lazy("Outbound call")),
    ("campaign", lazy("Campaign")),
    ("existing", lazy("Existing customer")),
)
ACTIVITY_KINDS = {
    "call": lazy("Call"),
    "meeting": lazy("Meeting"),
    "email": lazy_p("channel", "E-mail"),
    "inquiry": lazy("Inquiry"),
    "complaint": lazy("Complaint"),
    "note": lazy("Note"),
    "task": lazy("Task"),
}
DOCUMENT_STATUSES = {
    "draft": lazy("Draft"),
    "sent": lazy("Sent"),
    "accepted": lazy("Accepted"),
    "rejected": lazy("Rejected"),
    "expired": lazy("Expired"),
    "ordered": lazy("Ordered"),
    "confirmed": lazy("Confirmed"),
    "fulfilled": lazy("Fulfilled"),
    "invoiced": lazy("Invoiced"),
    "cancelled": lazy("Cancelled"),
}
ID_FIELDS = frozenset({"account_id", "contact_id", "stage_id", "owner_id"})
EDIT_FIELDS = (
    "name",
    "account_id",
    "contact_id",
    "amount",
    "currency",
    "probability",
    "expected_close_date",
    "owner_id",
    "source",
    "description",
)
EXPORT_HEADERS = (
    lazy("Opportunity"),
    lazy("Account"),
    lazy("Stage"),
    lazy("Status"),
    lazy("Amount"),
    lazy("Currency"),
    lazy("Probability (%)"),
    lazy("Weighted amount"),
    lazy("Expected close"),
    lazy("Owner"),
    lazy("Team"),
    lazy("Source"),
    lazy("Created"),
    lazy("Closed"),
    lazy("Lost reason"),
)


def _pattern(q: str) -> str:
    return f"%{q.replace('%', '').replace('_', '')}%"


def search(stmt: Select[Any], q: str) -> Select[Any]:
    return stmt.where(or_(Opportunity.name.ilike(_pattern(q)), Account.name.ilike(_pattern(q))))


def _by_status(stmt: Select[Any], value: str) -> Select[Any]:
    if value == "won":
        return stmt.where(PipelineStage.is_won.is_(True))
    if value == "lost":
        return stmt.where(PipelineStage.is_lost.is_(True))
    return stmt.where(PipelineStage.is_won.is_(False), PipelineStage.is_lost.is_(False))


def _close_filter(today: date) -> Any:
    def apply(stmt: Select[Any], value: str) -> Select[Any]:
        if value == "none":
            return stmt.where(Opportunity.expected_close_date.is_(None))
        if value == "overdue":
            return _by_status(stmt, "open").where(Opportunity.expected_close_date < today)
        first = date(int(value[:4]), int(value[5:7]), 1)
        return stmt.where(
            Opportunity.expected_close_date >= first, Opportunity.expected_close_date < add_months(first, 1)
        )

    return apply


def close_choices(today: date) -> list[tuple[str, str]]:
    """Overdue, the last six and next twelve months, and "no date"."""
    first = today.replace(day=1)
    months = [add_months(first, n) for n in range(-6, 13)]
    return [
        ("overdue", lazy("Overdue (open)")),
        *((m.strftime("%Y-%m"), month_label(m)) for m in months),
        ("none", lazy("No close date")),
    ]


def spec(
    stages: Sequence[PipelineStage], people: Sequence[User], teams: Sequence[Team], today: date
) -> TableSpec:
    filters = [
        Filter(
            "stage",
            lazy("Stage"),
            lambda s, v: s.where(Opportunity.stage_id == int(v)),
            [(str(s.id), s.name) for s in stages],
        ),
        Filter("status", lazy("Status"), _by_status, list(STATUS_LABELS.items())),
        Filter(
            "owner",
            lazy("Owner"),
            lambda s, v: s.where(Opportunity.owner_id == int(v)),
            [(str(u.id), u.full_name) for u in people],
        ),
    ]
    if teams:
        filters.append(
            Filter(
                "team",
                lazy("Team"),
                lambda s, v: s.where(Opportunity.team_id == int(v)),
                [(str(t.id), t.name) for t in teams],
            )
        )
    filters.append(Filter("close", lazy("Close month"), _close_filter(today), close_choices(today)))
    return TableSpec(
        columns=[
            Column("name", lazy("Opportunity"), sort=Opportunity.name),
            Column("account", lazy("Account"), sort=Account.name),
            Column("stage", lazy("Stage"), sort=PipelineStage.position),
            Column("amount", lazy("Amount"), sort=Opportunity.amount, align="right"),
            Column("probability", lazy("Probability"), sort=Opportunity.probability, align="right"),
            Column(
                "weighted", lazy("Weighted"), sort=Opportunity.amount * Opportunity.probability, align="right"
            ),
            Column("close", lazy("Expected close"), sort=Opportunity.expected_close_date),
            Column("owner", lazy("Owner"), sort=User.full_name),
            Column("updated", lazy("Updated"), sort=Opportunity.updated_at),
        ],
        default_sort="close",
        filters=filters,
        search=search,
        tiebreak=Opportunity.id,
    )


def status_of(stage: PipelineStage) -> str:
    return "won" if stage.is_won else "lost" if stage.is_lost else "open"


def weighted(opp: Opportunity) -> Any:
    return cents(opp.amount * opp.probability / 100)


def export_row(
    opp: Opportunity, account: str, owner: str | None, teams: dict[int, str], stage: PipelineStage
) -> list[Any]:
    return [
        opp.name,
        account,
        i18n.gettext(stage.name),
        i18n.gettext(STATUS_LABELS[status_of(stage)]),
        f"{opp.amount:.2f}",
        opp.currency,
        opp.probability,
        f"{weighted(opp):.2f}",
        opp.expected_close_date.isoformat() if opp.expected_close_date else "",
        owner or "",
        teams.get(opp.team_id or 0, ""),
        i18n.gettext(dict(SOURCES).get(opp.source or "", opp.source or "")),
        opp.created_at.date().isoformat(),
        opp.closed_at.date().isoformat() if opp.closed_at else "",
        opp.lost_reason or "",
    ]


def form_values(opp: Opportunity) -> dict[str, Any]:
    """The edit form filled with what is stored."""
    return {
        "name": opp.name,
        "account_id": opp.account_id,
        "contact_id": opp.contact_id or "",
        "amount": f"{opp.amount:.2f}",
        "currency": opp.currency,
        "probability": opp.probability,
        "expected_close_date": opp.expected_close_date.isoformat() if opp.expected_close_date else "",
        "owner_id": opp.owner_id or "",
        "source": opp.source or "",
        "description": opp.description,
    }
