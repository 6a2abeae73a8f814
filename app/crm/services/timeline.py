"""An account's whole history on one timeline (CRM-1), merged by time from every source.

CRM's own sources are registered here: activities (follow the account's visibility), and
opportunities, quotes, sales orders and tickets — each read under *its own* permission and record
rules, so a rep who sees an account but not a colleague's order there does not see that order on
the timeline either. Other contexts add sources through ``app.crm.interface`` (finance: invoices).

    page = await account_timeline(session, principal, account_id)            # newest 25
    older = await account_timeline(session, principal, account_id, before=page.next_cursor)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.interface import TIMELINE_SOURCES, RegisteredSource, TimelineEntry, register_timeline_source
from app.crm.models import Activity, Contact, Opportunity, PipelineStage, Quote, SalesOrder, Ticket
from app.crm.services.accounts import get_account
from app.crm.services.activities import KIND_ICONS, KIND_LABELS
from app.kernel.db import utcnow
from app.kernel.i18n import lazy, lazy_p
from app.security.models import User
from app.security.permissions import CRM_OPPORTUNITY_READ, CRM_ORDER_READ, CRM_TICKET_READ
from app.security.principal import Principal
from app.security.record_rules import restrict

DEFAULT_LIMIT = 25
MAX_LIMIT = 100

# Where each kind of record is shown (the sales and service portals).
HREFS = {
    "opportunity": "/sales/opportunities/{id}",
    "quote": "/sales/quotes/{id}",
    "sales_order": "/sales/orders/{id}",
    "ticket": "/service/tickets/{id}",
}

QUOTE_STATUS = {
    "draft": (lazy("Draft"), ""),
    "sent": (lazy("Sent"), "info"),
    "accepted": (lazy("Accepted"), "ok"),
    "rejected": (lazy("Rejected"), "err"),
    "expired": (lazy("Expired"), "warn"),
    "ordered": (lazy("Ordered"), "ok"),
}
ORDER_STATUS = {
    "draft": (lazy("Draft"), ""),
    "confirmed": (lazy("Confirmed"), "info"),
    "fulfilled": (lazy("Fulfilled"), "ok"),
    "invoiced": (lazy("Invoiced"), "ok"),
    "cancelled": (lazy("Cancelled"), "err"),
}
TICKET_PRIORITY = {
    "low": lazy("Low"),
    "normal": lazy("Normal"),
    "high": lazy("High"),
    "urgent": lazy("Urgent"),
}
TICKET_STATUS = {
    "new": (lazy("New"), "info"),
    "open": (lazy("Open"), "info"),
    "pending": (lazy_p("ticket", "Pending"), "warn"),
    "resolved": (lazy("Resolved"), "ok"),
    "closed": (lazy("Closed"), ""),
}


def _href(kind: str, ident: int) -> str:
    return HREFS[kind].format(id=ident)


def _before(column: Any, before: datetime | None) -> Any:
    return column <= (before or utcnow())


# --- CRM's own sources -----------------------------------------------------------------------


async def activities_of(
    session: AsyncSession, principal: Principal, account_id: int, before: datetime | None, limit: int
) -> list[TimelineEntry]:
    """Calls, meetings, e-mails, inquiries, complaints, notes and tasks (the account's visibility)."""
    stmt = (
        select(Activity, User.full_name, Contact.full_name)
        .outerjoin(User, User.id == Activity.user_id)
        .outerjoin(Contact, Contact.id == Activity.contact_id)
        .where(Activity.account_id == account_id, _before(Activity.occurred_at, before))
        .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        .limit(limit)
    )
    now = utcnow()
    out = []
    for a, author, contact in (await session.execute(stmt)).all():
        status, tone = None, ""
        if a.kind == "task":
            if a.done_at is not None:
                status, tone = lazy("Done"), "ok"
            elif a.due_at is not None and a.due_at < now:
                status, tone = lazy("Overdue"), "err"
            else:
                status, tone = lazy("To do"), "warn"
        out.append(
            TimelineEntry(
                at=a.occurred_at,
                key=f"activity:{a.id:012d}",
                kind=KIND_LABELS.get(a.kind, a.kind),
                title=a.subject,
                icon=KIND_ICONS.get(a.kind, "dot"),
                summary=a.body,
                status=status,
                tone=tone,
                actor=author,
                extra={
                    "activity_id": a.id,
                    "activity_kind": a.kind,
                    "direction": a.direction,
                    "contact": contact,
                    "contact_id": a.contact_id,
                    "due_at": a.due_at,
                    "done": a.done_at is not None,
                },
            )
        )
    return out


def _account_records(
    model: Any, principal: Principal, permission: str, account_id: int, before: datetime | None, limit: int
) -> Select[Any]:
    """An account's owned records (``model``) the reader may see, newest first, with the name of
    their owner: the statement of every document source of the timeline."""
    return (
        restrict(select(model), model, principal, permission)
        .add_columns(User.full_name)
        .outerjoin(User, User.id == model.owner_id)
        .where(model.account_id == account_id, _before(model.created_at, before))
        .order_by(model.created_at.desc(), model.id.desc())
        .limit(limit)
    )


async def opportunities_of(
    session: AsyncSession, principal: Principal, account_id: int, before: datetime | None, limit: int
) -> list[TimelineEntry]:
    stmt = (
        _account_records(Opportunity, principal, CRM_OPPORTUNITY_READ, account_id, before, limit)
        .add_columns(PipelineStage)
        .join(PipelineStage, PipelineStage.id == Opportunity.stage_id)
    )
    out = []
    for o, owner, stage in (await session.execute(stmt)).all():
        tone = "ok" if stage.is_won else "err" if stage.is_lost else "info"
        out.append(
            TimelineEntry(
                at=o.created_at,
                key=f"opportunity:{o.id:012d}",
                kind=lazy("Opportunity"),
                title=o.name,
                icon="target",
                href=_href("opportunity", o.id),
                summary=o.description,
                status=stage.name,
                tone=tone,
                amount=o.amount,
                currency=o.currency,
                actor=owner,
                extra={"probability": o.probability, "expected_close_date": o.expected_close_date},
            )
        )
    return out


async def quotes_of(
    session: AsyncSession, principal: Principal, account_id: int, before: datetime | None, limit: int
) -> list[TimelineEntry]:
    stmt = _account_records(Quote, principal, CRM_ORDER_READ, account_id, before, limit)
    out = []
    for q, owner in (await session.execute(stmt)).all():
        status, tone = QUOTE_STATUS.get(q.status, (q.status, ""))
        out.append(
            TimelineEntry(
                at=q.created_at,
                key=f"quote:{q.id:012d}",
                kind=lazy("Quote"),
                title=q.number,
                icon="file",
                href=_href("quote", q.id),
                summary=q.notes,
                status=status,
                tone=tone,
                amount=q.total,
                currency=q.currency,
                actor=owner,
                extra={"valid_until": q.valid_until},
            )
        )
    return out


async def orders_of(
    session: AsyncSession, principal: Principal, account_id: int, before: datetime | None, limit: int
) -> list[TimelineEntry]:
    stmt = _account_records(SalesOrder, principal, CRM_ORDER_READ, account_id, before, limit)
    out = []
    for o, owner in (await session.execute(stmt)).all():
        status, tone = ORDER_STATUS.get(o.status, (o.status, ""))
        out.append(
            TimelineEntry(
                at=o.created_at,
                key=f"sales_order:{o.id:012d}",
                kind=lazy("Sales order"),
                title=o.number,
                icon="cart",
                href=_href("sales_order", o.id),
                summary=o.notes,
                status=status,
                tone=tone,
                amount=o.total,
                currency=o.currency,
                actor=owner,
                extra={"order_date": o.order_date, "customer_reference": o.customer_reference},
            )
        )
    return out


async def tickets_of(
    session: AsyncSession, principal: Principal, account_id: int, before: datetime | None, limit: int
) -> list[TimelineEntry]:
    stmt = _account_records(Ticket, principal, CRM_TICKET_READ, account_id, before, limit)
    out = []
    for t, owner in (await session.execute(stmt)).all():
        status, tone = TICKET_STATUS.get(t.status, (t.status, ""))
        out.append(
            TimelineEntry(
                at=t.created_at,
                key=f"ticket:{t.id:012d}",
                kind=lazy("Ticket"),
                title=f"{t.number} · {t.subject}",
                icon="ticket",
                href=_href("ticket", t.id),
                summary=t.description,
                status=status,
                tone=tone,
                actor=owner,
                extra={"priority": TICKET_PRIORITY.get(t.priority, t.priority), "channel": t.channel},
            )
        )
    return out


register_timeline_source(activities_of, name="activities", label=lazy("Interactions"))
register_timeline_source(opportunities_of, name="opportunities", label=lazy("Opportunities"))
register_timeline_source(quotes_of, name="quotes", label=lazy("Quotes"))
register_timeline_source(orders_of, name="orders", label=lazy("Orders"))
register_timeline_source(tickets_of, name="tickets", label=lazy("Tickets"))


# --- the merged page -------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelinePage:
    entries: list[TimelineEntry]
    next_cursor: str | None
    sources: list[RegisteredSource]  # every registered source (the filter chips)
    selected: list[str]  # the ones shown


def encode_cursor(entry: TimelineEntry) -> str:
    return f"{entry.at.isoformat()}|{entry.key}"


def decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """The (time, key) after which to continue; a malformed cursor starts from the newest."""
    if not cursor or "|" not in cursor or len(cursor) > 100:
        return None
    at, _, key = cursor.partition("|")
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        return None
    return (moment, key) if moment.tzinfo is not None else None


async def _after_cursor(
    session: AsyncSession,
    principal: Principal,
    source: RegisteredSource,
    account_id: int,
    cursor: tuple[datetime, str] | None,
    want: int,
) -> list[TimelineEntry]:
    """``want`` entries of one source strictly after the cursor. Sources filter on time only
    (``at <= before``), so entries sharing the cursor's moment come back again; ask for more
    until enough remain or the source runs out."""
    asked = want
    while True:
        batch = await source.fetch(session, principal, account_id, cursor[0] if cursor else None, asked)
        kept = [e for e in batch if cursor is None or e.sort_key < cursor]
        if len(kept) >= want or len(batch) < asked:
            return kept
        asked *= 2


async def account_timeline(
    session: AsyncSession,
    principal: Principal,
    account_id: int,
    *,
    before: str | None = None,
    only: Sequence[str] = (),
    limit: int = DEFAULT_LIMIT,
) -> TimelinePage:
    """The newest ``limit`` entries before ``before`` (a previous page's ``next_cursor``), from the
    sources named in ``only`` (all when empty). NotFound when the account is hidden."""
    await get_account(session, principal, account_id)
    limit = max(1, min(limit, MAX_LIMIT))
    cursor = decode_cursor(before)
    selected = [name for name in TIMELINE_SOURCES if not only or name in only] or list(TIMELINE_SOURCES)
    entries: list[TimelineEntry] = []
    for name in selected:
        entries += await _after_cursor(
            session, principal, TIMELINE_SOURCES[name], account_id, cursor, limit + 1
        )
    entries.sort(key=lambda e: e.sort_key, reverse=True)
    page = entries[:limit]
    more = len(entries) > limit
    return TimelinePage(
        entries=page,
        next_cursor=encode_cursor(page[-1]) if more and page else None,
        sources=list(TIMELINE_SOURCES.values()),
        selected=selected,
    )
