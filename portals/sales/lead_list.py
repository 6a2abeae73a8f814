"""The lead list's table and its query, built to answer fast on 200,000 leads (CRM-2).

* Every sort orders ``(column, id)`` in one direction, so the matching index
  (app/crm/models/leads.py) is read forwards or backwards and the scan stops after one page.
* The count behind the pager stops at ``COUNT_CAP`` ("1–25 of more than 1,000"): an exact count
  of every lead costs a full scan on every page view (40 ms for a manager's filtered view of
  200,000 leads, measured with bench/crm_leads.py) and tells a person nothing more; past the cap,
  people narrow the list with a filter or a search rather than paging.
* A search that matches few leads is sorted after the (trigram/full-text) bitmap search instead of
  walking the whole date index looking for the few matches: the sort key is wrapped so that
  PostgreSQL cannot pick that index, which is what it would otherwise guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Lead
from app.crm.models.leads import SOURCE_LABELS, STATUS_LABELS
from app.crm.services import leads
from app.kernel.i18n import lazy
from app.security.permissions import CRM_LEAD_READ, Scope
from app.security.principal import Principal
from portals.tables import Column, Filter, Page, TableSpec, apply_query, parse_query

COUNT_CAP = 1_000
FEW_MATCHES = leads.FEW_MATCHES
# The same sort keys, in a form no index matches (see the module docstring).
_UNINDEXED = {
    "created": leads.CREATED_UNINDEXED,
    "name": Lead.full_name + "",
    "score": Lead.score + 0,
}


@dataclass(frozen=True)
class LeadPage(Page):
    capped: bool = False  # more than COUNT_CAP leads match; ``total`` is the cap

    @property
    def last_row(self) -> int:
        return self.first_row + len(self.rows) - 1 if self.rows else 0


def leads_table(principal: Principal, owners: list[tuple[str, str]]) -> TableSpec:
    filters = [
        Filter("status", lazy("Status"), leads.with_status, list(STATUS_LABELS.items())),
        Filter("source", lazy("Source"), leads.with_source, list(SOURCE_LABELS.items())),
    ]
    if owners:
        filters.append(
            Filter("owner", lazy("Owner"), lambda stmt, v: leads.with_owner(stmt, v, principal), owners)
        )
    filters.append(Filter("region", lazy("Region"), leads.with_region))
    return TableSpec(
        columns=[
            Column("name", lazy("Lead"), sort=Lead.full_name),
            Column("contact", lazy("Contact")),
            Column("source", lazy("Source")),
            Column("status", lazy("Status")),
            Column("score", lazy("Score"), sort=Lead.score, align="right"),
            Column("owner", lazy("Owner")),
            Column("created", lazy("Created"), sort=Lead.created_at),
        ],
        default_sort="created",
        default_direction="desc",
        filters=filters,
        search=leads.search_leads,
        tiebreak=Lead.id,
    )


async def owner_choices(session: AsyncSession, principal: Principal) -> list[tuple[str, str]]:
    """The owner filter: me, unassigned (managers and admins see those), and the people in reach.
    Names are data, not msgids; tr() in the template leaves them as they are."""
    scope = principal.scope_for(CRM_LEAD_READ)
    if scope not in (Scope.TEAM, Scope.ALL):
        return []
    people = [
        (str(u.id), u.full_name)
        for u in await leads.assignable_owners(session, principal)
        if u.id != principal.id
    ]
    return [("me", lazy("Me")), ("none", lazy("Unassigned")), *people]


async def fetch_leads(
    session: AsyncSession, stmt: Select[Any], spec: TableSpec, params: Mapping[str, Any]
) -> LeadPage:
    """One page of ``stmt`` (already restricted by record rules) with the query's filters and sort."""
    query = parse_query(params, spec)
    stmt = apply_query(stmt, spec, query)
    found = await leads.count_up_to(session, stmt, COUNT_CAP)
    total = min(found, COUNT_CAP)
    key = spec.column(query.sort).sort  # type: ignore[union-attr]  # parse_query keeps declared sorts
    if query.q and found <= FEW_MATCHES:
        key = _UNINDEXED.get(query.sort, key)
    order = [key.desc(), Lead.id.desc()] if query.direction == "desc" else [key.asc(), Lead.id.asc()]
    pages = max(1, -(-total // query.per_page))
    page_no = min(query.page, pages)
    rows = await session.execute(
        stmt.order_by(*order).limit(query.per_page).offset((page_no - 1) * query.per_page)
    )
    return LeadPage(
        rows=list(rows.scalars()),
        total=total,
        query=replace(query, page=page_no),
        spec=spec,
        capped=found > COUNT_CAP,
    )
