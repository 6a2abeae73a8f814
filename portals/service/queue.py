"""The ticket queue's table: columns, filters, sorting and the names shown beside each row.

Built per request, because "my tickets" and the assignee/team choices depend on who is looking.
The base statement always comes from ``tickets.visible_tickets`` (record rules): the page, its
htmx fragments and the CSV export read exactly the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, Contact, Ticket
from app.crm.services.sla import PRIORITY_LABELS, Timer, sla_timer
from app.crm.services.ticket_workflow import STATUS_LABELS
from app.crm.services.tickets import OPEN_STATUSES
from app.kernel import i18n
from app.kernel.db import utcnow
from app.kernel.i18n import lazy
from app.security.models import Team, User
from app.security.principal import Principal
from portals.exports import ExportColumn
from portals.tables import Column, Filter, TableSpec

PRIORITY_RANK = case({"urgent": 4, "high": 3, "normal": 2, "low": 1}, value=Ticket.priority, else_=0)
# The deadline the ticket runs against now: first response until answered, then resolution.
NEXT_DUE = case(
    (Ticket.first_responded_at.is_(None), Ticket.first_response_due_at), else_=Ticket.resolution_due_at
)

STATUS_CHOICES = [
    ("active", lazy("New, open or pending")),
    ("any", lazy("All statuses")),
    *STATUS_LABELS.items(),
]
BREACH_CHOICES = [
    ("any", lazy("SLA breached")),
    ("response", lazy("First response breached")),
    ("resolution", lazy("Resolution breached")),
    ("at_risk", lazy("Due within the hour")),
]


def _status(stmt: Select[Any], value: str) -> Select[Any]:
    if value == "active":
        return stmt.where(Ticket.status.in_(OPEN_STATUSES))
    return stmt if value == "any" else stmt.where(Ticket.status == value)


def _breached(stmt: Select[Any], value: str) -> Select[Any]:
    if value == "response":
        return stmt.where(Ticket.response_breached.is_(True))
    if value == "resolution":
        return stmt.where(Ticket.resolution_breached.is_(True))
    if value == "at_risk":
        now = utcnow()
        return stmt.where(
            Ticket.status.in_(OPEN_STATUSES), now <= NEXT_DUE, now + timedelta(hours=1) > NEXT_DUE
        )
    return stmt.where(or_(Ticket.response_breached.is_(True), Ticket.resolution_breached.is_(True)))


def _search(stmt: Select[Any], q: str) -> Select[Any]:
    like = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return stmt.where(
        or_(
            func.lower(Ticket.number).like(like),
            func.lower(Ticket.subject).like(like),
            func.lower(Ticket.requester_email).like(like),
        )
    )


def queue_table(principal: Principal, agents: list[User], teams: list[Team]) -> TableSpec:
    def assignee(stmt: Select[Any], value: str) -> Select[Any]:
        if value == "me":
            return stmt.where(Ticket.owner_id == principal.id)
        if value == "none":
            return stmt.where(Ticket.owner_id.is_(None))
        return stmt.where(Ticket.owner_id == int(value))

    def team(stmt: Select[Any], value: str) -> Select[Any]:
        return stmt.where(Ticket.team_id == int(value))

    return TableSpec(
        columns=[
            Column("number", lazy("Ticket"), sort=Ticket.number),
            Column("subject", lazy("Subject"), sort=Ticket.subject),
            Column("customer", lazy("Customer")),
            Column("priority", lazy("Priority"), sort=PRIORITY_RANK),
            Column("status", lazy("Status"), sort=Ticket.status),
            Column("owner", lazy("Assignee")),
            Column("sla", lazy("SLA"), sort=NEXT_DUE),
            Column("updated", lazy("Last update"), sort=Ticket.updated_at),
        ],
        default_sort="sla",
        filters=[
            Filter("status", lazy("Status"), _status, STATUS_CHOICES),
            Filter(
                "priority",
                lazy("Priority"),
                lambda s, v: s.where(Ticket.priority == v),
                list(PRIORITY_LABELS.items()),
            ),
            Filter(
                "assignee",
                lazy("Assignee"),
                assignee,
                [
                    ("me", lazy("Me")),
                    ("none", lazy("Unassigned")),
                    *((str(u.id), u.full_name) for u in agents),
                ],
            ),
            Filter("team", lazy("Team"), team, [(str(t.id), t.name) for t in teams]),
            Filter("breached", lazy("SLA"), _breached, BREACH_CHOICES),
        ],
        search=_search,
        tiebreak=Ticket.id,
    )


def with_default_status(params: Any) -> dict[str, Any]:
    """The queue opens on the tickets still to work on; "All statuses" is an explicit choice."""
    out = dict(params)
    out.setdefault("f_status", "active")
    return out


@dataclass(frozen=True)
class RowNames:
    accounts: dict[int, str]
    contacts: dict[int, str]
    users: dict[int, str]
    teams: dict[int, str]
    now: datetime

    def customer(self, t: Ticket) -> str:
        parts = [self.accounts.get(t.account_id or 0, ""), self.contacts.get(t.contact_id or 0, "")]
        return " · ".join(p for p in parts if p) or (t.requester_email or "")

    def timer(self, t: Ticket) -> Timer | None:
        return sla_timer(t, self.now)


async def _names(session: AsyncSession, model: Any, column: Any, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(model.id, column).where(model.id.in_(ids)))
    return dict(rows.all())


async def names_for(session: AsyncSession, rows: list[Ticket]) -> RowNames:
    """The names a page of tickets shows, in one statement per kind (never one per row)."""
    return RowNames(
        accounts=await _names(session, Account, Account.name, {t.account_id for t in rows if t.account_id}),
        contacts=await _names(
            session, Contact, Contact.full_name, {t.contact_id for t in rows if t.contact_id}
        ),
        users=await _names(session, User, User.full_name, {t.owner_id for t in rows if t.owner_id}),
        teams=await _names(session, Team, Team.name, {t.team_id for t in rows if t.team_id}),
        now=utcnow(),
    )


def yes_no(value: bool) -> str:
    return i18n.gettext("Yes") if value else i18n.gettext("No")


def export_columns(names: RowNames) -> list[ExportColumn]:
    def when(value: datetime | None) -> str:
        return value.isoformat(timespec="seconds") if value else ""

    return [
        ExportColumn(lazy("Ticket"), lambda t: t.number),
        ExportColumn(lazy("Subject"), lambda t: t.subject),
        ExportColumn(lazy("Customer"), names.customer),
        ExportColumn(lazy("Priority"), lambda t: i18n.gettext(PRIORITY_LABELS[t.priority])),
        ExportColumn(lazy("Status"), lambda t: i18n.gettext(STATUS_LABELS[t.status])),
        ExportColumn(lazy("Assignee"), lambda t: names.users.get(t.owner_id or 0, "")),
        ExportColumn(lazy("Team"), lambda t: names.teams.get(t.team_id or 0, "")),
        ExportColumn(lazy("Channel"), lambda t: t.channel),
        ExportColumn(lazy("Opened on"), lambda t: when(t.created_at)),
        ExportColumn(lazy("First response due"), lambda t: when(t.first_response_due_at)),
        ExportColumn(lazy("First response"), lambda t: when(t.first_responded_at)),
        ExportColumn(lazy("Resolution due"), lambda t: when(t.resolution_due_at)),
        ExportColumn(lazy("Resolved"), lambda t: when(t.resolved_at)),
        ExportColumn(lazy("First response breached"), lambda t: yes_no(t.response_breached)),
        ExportColumn(lazy("Resolution breached"), lambda t: yes_no(t.resolution_breached)),
    ]
