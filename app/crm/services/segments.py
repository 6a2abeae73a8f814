"""Segments (CRM-8): saved audiences of accounts, defined by rules and refreshed set-based.

segment = await create_segment(session, principal, {"name": "VIP 华东", "match": "all", "rules": [...]})
count = await preview_count(session, rules, "all")          # while the marketer edits the rules
result = await refresh_segment(session, segment.id)         # worker: one DELETE + one INSERT ... SELECT

What a rule can test is in segment_rules.py. The figures behind the rules come from
``account_stats``: one CTE of per-account order statistics over ``crm_sales_orders`` (confirmed,
fulfilled and invoiced orders in the tenant's base currency — orders in other currencies are not
converted and do not count), LEFT JOINed to the live accounts, with RFM scores as quintiles
(``ntile(5)``) over the tenant's *customers* — accounts with at least one counted order. 5 is best
(most recent, most orders, most spend in the last 365 days); accounts that never ordered have no
scores, so a score rule never matches them. Ties are broken by account id, so a refresh is
deterministic.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CTE, Date, Select, case, delete, func, insert, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm import events
from app.crm.models import Account, Campaign, SalesOrder, Segment, SegmentMember
from app.crm.services import segment_rules
from app.crm.services.fields import clean_long_text, clean_text
from app.crm.services.segment_rules import Rule
from app.crm.services.visibility import account_clause
from app.kernel import context
from app.kernel.audit import audited
from app.kernel.db import utcnow
from app.kernel.errors import Conflict, FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.kernel.outbox import publish
from app.security.principal import Principal

COUNTED_STATUSES = ("confirmed", "fulfilled", "invoiced")
# The three quintile sorts and the order aggregate of 50,000 accounts need ~30 MB; with the default
# 4 MB they spill to disk (bench/crm_segment_refresh.py, EXPLAIN ANALYZE). For this transaction only.
WORK_MEM = "SET LOCAL work_mem = '64MB'"
YEAR = timedelta(days=365)


def _tenant_facts() -> tuple[date, str, str]:
    """Today in the organisation's time zone, its base currency and time zone."""
    tenant = context.current_tenant()
    tz = tenant.timezone if tenant else "UTC"
    return datetime.now(ZoneInfo(tz)).date(), tenant.currency if tenant else "CNY", tz


def account_stats(today: date, currency: str, tz: str, extra_windows: Collection[int | None] = ()) -> CTE:
    """Per live account: the attributes rules test, recency/frequency/monetary and R/F/M scores."""
    o = SalesOrder
    year_ago = today - YEAR
    order_cols: list[Any] = [
        o.account_id,
        func.max(o.order_date).label("last_order_date"),
        func.count().filter(o.order_date > year_ago).label("frequency"),
        func.sum(o.total).filter(o.order_date > year_ago).label("monetary"),
    ]
    for days in sorted(extra_windows, key=lambda d: d or 0):
        label = segment_rules.monetary_column(days)
        spend = (
            func.sum(o.total)
            if days is None
            else func.sum(o.total).filter(o.order_date > today - timedelta(days=days))
        )
        order_cols.append(spend.label(label))
    orders = (
        select(*order_cols)
        .where(o.status.in_(COUNTED_STATUSES), o.currency == currency)
        .group_by(o.account_id)
        .cte("order_stats")
    )
    a = Account
    buyer = orders.c.last_order_date.is_not(None)
    frequency = func.coalesce(orders.c.frequency, 0)
    monetary = func.coalesce(orders.c.monetary, 0)

    def score(value: Any) -> Any:
        return case((buyer, func.ntile(5).over(partition_by=buyer, order_by=(value, a.id))), else_=None)

    cols: list[Any] = [
        a.id.label("account_id"),
        a.kind,
        a.region,
        a.country,
        a.industry,
        a.lifecycle_stage,
        a.tags,
        func.timezone(tz, a.created_at).cast(Date).label("created"),
        (literal(today, Date) - orders.c.last_order_date).label("recency"),
        frequency.label("frequency"),
        monetary.label("monetary"),
        score(orders.c.last_order_date).label("r_score"),
        score(frequency).label("f_score"),
        score(monetary).label("m_score"),
    ]
    for days in sorted(extra_windows, key=lambda d: d or 0):
        label = segment_rules.monetary_column(days)
        cols.append(func.coalesce(orders.c[label], 0).label(label))
    return (
        select(*cols)
        .select_from(a.__table__.outerjoin(orders, orders.c.account_id == a.id))
        .where(a.merged_into_id.is_(None), a.archived_at.is_(None))
        .cte("account_stats")
    )


def matching(rules: Sequence[Rule], match: str) -> tuple[CTE, Any]:
    """The stats CTE for these rules and the WHERE clause that selects the members."""
    today, currency, tz = _tenant_facts()
    stats = account_stats(today, currency, tz, segment_rules.windows(rules))
    return stats, segment_rules.where_clause(rules, match, stats.c)


async def preview_count(session: AsyncSession, raw_rules: object, match: object) -> int:
    """How many accounts the rules select right now (ValidationFailed for invalid rules)."""
    mode, rules = segment_rules.validate_rules(raw_rules, match)
    stats, where = matching(rules, mode)
    await session.execute(text(WORK_MEM))
    return int(await session.scalar(select(func.count()).select_from(stats).where(where)) or 0)


@dataclass(frozen=True)
class RefreshResult:
    segment_id: int
    member_count: int
    refresh_ms: int


async def refresh_segment(session: AsyncSession, segment_id: int) -> RefreshResult:
    """Recompute the members: DELETE, then one INSERT ... SELECT over ``account_stats``.

    The segment row is locked first, so two refreshes of one segment (nightly and on demand) take
    turns instead of colliding on the members' primary key.
    """
    segment = await session.get(Segment, segment_id, with_for_update=True)
    if segment is None:
        raise NotFound(lazy("segment"))
    stats, where = matching(segment_rules.rules_from_json(segment.rules), segment.match)
    started = time.perf_counter()
    await session.execute(text(WORK_MEM))
    await session.execute(delete(SegmentMember).where(SegmentMember.segment_id == segment.id))
    source = select(
        literal(segment.id),
        stats.c.account_id,
        stats.c.recency,
        stats.c.frequency,
        stats.c.monetary,
        stats.c.r_score,
        stats.c.f_score,
        stats.c.m_score,
    ).where(where)
    columns = ["segment_id", "account_id", "recency_days", "frequency", "monetary", "r_score", "f_score"]
    inserted = await session.execute(insert(SegmentMember).from_select([*columns, "m_score"], source))
    elapsed = round((time.perf_counter() - started) * 1000)
    count = max(int(inserted.rowcount or 0), 0)  # type: ignore[attr-defined]
    async with audited(session, "crm.segment_refreshed"):
        segment.member_count = count
        segment.refreshed_at = utcnow()
        segment.refresh_ms = elapsed
    return RefreshResult(segment.id, count, elapsed)


async def refresh_all(session: AsyncSession) -> int:
    """Every segment, one after the other (the nightly job); returns how many were refreshed."""
    ids = (await session.execute(select(Segment.id).order_by(Segment.id))).scalars().all()
    for segment_id in ids:
        await refresh_segment(session, segment_id)
    return len(ids)


async def request_refresh(session: AsyncSession, principal: Principal | None, segment_id: int) -> Segment:
    """Ask the worker to refresh the segment (the portal's button; also after every save)."""
    segment = await get_segment(session, segment_id)
    segment.refresh_requested_at = utcnow()
    await session.flush()
    await publish(
        session,
        events.SEGMENT_REFRESH_REQUESTED,
        {
            "segment_id": segment.id,
            "requested_by": principal.id if principal and principal.kind == "user" else None,
        },
    )
    return segment


# --- the segment itself ------------------------------------------------------------------------


async def get_segment(session: AsyncSession, segment_id: int) -> Segment:
    segment = await session.get(Segment, segment_id)
    if segment is None:
        raise NotFound(lazy("segment"))
    return segment


async def list_segments(session: AsyncSession) -> list[Segment]:
    return list((await session.execute(select(Segment).order_by(func.lower(Segment.name)))).scalars())


async def _clean(session: AsyncSession, data: Mapping[str, Any], segment_id: int | None) -> dict[str, Any]:
    errors: list[FieldError] = []
    name = clean_text(data.get("name"), "name", errors, required=True, max_len=120)
    description = clean_long_text(data.get("description"), "description", errors, max_len=2000)
    mode, rules = "all", list[Rule]()
    try:
        mode, rules = segment_rules.validate_rules(data.get("rules"), data.get("match"))
    except ValidationFailed as exc:
        errors += exc.errors
    if name and not errors:
        clash = select(Segment.id).where(func.lower(Segment.name) == name.lower())
        if segment_id is not None:
            clash = clash.where(Segment.id != segment_id)
        if await session.scalar(clash) is not None:
            errors.append(FieldError("name", "A segment with this name already exists."))
    if errors:
        raise ValidationFailed(errors)
    return {"name": name, "description": description, "match": mode, "rules": [r.to_json() for r in rules]}


async def create_segment(session: AsyncSession, principal: Principal, data: Mapping[str, Any]) -> Segment:
    values = await _clean(session, data, None)
    async with audited(session, "crm.segment_created"):
        segment = Segment(**values)
        session.add(segment)
    await request_refresh(session, principal, segment.id)
    return segment


async def update_segment(
    session: AsyncSession, principal: Principal, segment_id: int, data: Mapping[str, Any]
) -> Segment:
    segment = await get_segment(session, segment_id)
    values = await _clean(session, data, segment.id)
    async with audited(session, "crm.segment_updated"):
        for key, value in values.items():
            setattr(segment, key, value)
    await request_refresh(session, principal, segment.id)
    return segment


async def delete_segment(session: AsyncSession, segment_id: int) -> str:
    segment = await get_segment(session, segment_id)
    busy = await session.scalar(
        select(Campaign.name)
        .where(Campaign.segment_id == segment.id, Campaign.status.in_(("planned", "scheduled", "sending")))
        .limit(1)
    )
    if busy is not None:
        raise Conflict(
            "segment_in_use",
            lazy("The campaign {campaign} still uses this segment as its audience."),
            params={"campaign": busy},
        )
    name = segment.name
    async with audited(session, "crm.segment_deleted"):
        await session.delete(segment)
    return name


def members_query(segment_id: int, principal: Principal) -> Select[Any]:
    """(SegmentMember, Account) rows of the segment that the principal may see (record rules)."""
    stmt = cast(
        "Select[Any]",
        select(SegmentMember, Account)
        .join(Account, Account.id == SegmentMember.account_id)
        .where(SegmentMember.segment_id == segment_id),
    )
    clause = account_clause(principal)
    return stmt if clause is None else stmt.where(clause)


def describe_rules(segment: Segment, currency: str) -> list[str]:
    return [segment_rules.describe(r, currency) for r in segment_rules.rules_from_json(segment.rules)]


async def segment_choices(session: AsyncSession) -> list[tuple[int, str]]:
    rows = await session.execute(
        select(Segment.id, Segment.name, Segment.member_count).order_by(func.lower(Segment.name))
    )
    return [(sid, name) for sid, name, _ in rows.all()]
