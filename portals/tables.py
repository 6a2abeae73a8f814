"""Paginated, sortable, filterable tables as a reusable piece (PLAT-5).

A controller declares a ``TableSpec`` (columns, which may sort, which filters exist) and hands a
base statement — already restricted by record rules — to ``fetch_page``. The template macro
``table.html`` renders headers that sort, a filter bar and pagination, all driven by query
parameters, so every state is a shareable URL and htmx swaps only the table.

Only declared columns sort and only declared filters apply: query parameters never reach SQL
unchecked.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

PER_PAGE_CHOICES = (10, 25, 50, 100)


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # English msgid
    sort: Any = None  # a SQL expression to order by; None = not sortable
    align: str = "left"


@dataclass(frozen=True)
class Filter:
    key: str
    label: str
    apply: Callable[[Select[Any], str], Select[Any]]
    choices: Sequence[tuple[str, str]] = ()  # (value, English label); empty = free text


@dataclass(frozen=True)
class TableSpec:
    columns: Sequence[Column]
    default_sort: str
    default_direction: str = "asc"
    filters: Sequence[Filter] = ()
    search: Callable[[Select[Any], str], Select[Any]] | None = None
    tiebreak: Any = None  # a unique column so pages never overlap

    def column(self, key: str) -> Column | None:
        return next((c for c in self.columns if c.key == key and c.sort is not None), None)


@dataclass(frozen=True)
class TableQuery:
    page: int = 1
    per_page: int = 25
    sort: str = ""
    direction: str = "asc"
    q: str = ""
    filters: Mapping[str, str] = field(default_factory=dict)

    def url(self, base: str, **changes: Any) -> str:
        state = replace(self, **changes)
        params: dict[str, Any] = {
            "page": state.page,
            "per_page": state.per_page,
            "sort": state.sort,
            "dir": state.direction,
        }
        if state.q:
            params["q"] = state.q
        params.update({f"f_{k}": v for k, v in state.filters.items() if v})
        return f"{base}?{urlencode(params)}"

    def sort_url(self, base: str, key: str) -> str:
        direction = "desc" if self.sort == key and self.direction == "asc" else "asc"
        return self.url(base, sort=key, direction=direction, page=1)


def parse_query(params: Mapping[str, Any], spec: TableSpec) -> TableQuery:
    def _int(name: str, default: int) -> int:
        try:
            return int(params.get(name, default))
        except (TypeError, ValueError):
            return default

    per_page = _int("per_page", 25)
    per_page = per_page if per_page in PER_PAGE_CHOICES else 25
    sort = str(params.get("sort") or spec.default_sort)
    if spec.column(sort) is None:
        sort = spec.default_sort
    direction = str(params.get("dir") or spec.default_direction)
    direction = direction if direction in ("asc", "desc") else spec.default_direction
    filters: dict[str, str] = {}
    for f in spec.filters:
        v = str(params.get(f"f_{f.key}") or "").strip()[:200]
        if v and (not f.choices or v in {c[0] for c in f.choices}):
            filters[f.key] = v
    return TableQuery(
        page=max(1, _int("page", 1)),
        per_page=per_page,
        sort=sort,
        direction=direction,
        q=str(params.get("q") or "").strip()[:200],
        filters=filters,
    )


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    total: int
    query: TableQuery
    spec: TableSpec

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.query.per_page))

    @property
    def first_row(self) -> int:
        return 0 if self.total == 0 else (self.query.page - 1) * self.query.per_page + 1

    @property
    def last_row(self) -> int:
        return min(self.total, self.query.page * self.query.per_page)


def apply_query(stmt: Select[Any], spec: TableSpec, query: TableQuery) -> Select[Any]:
    if query.q and spec.search is not None:
        stmt = spec.search(stmt, query.q)
    for f in spec.filters:
        if f.key in query.filters:
            stmt = f.apply(stmt, query.filters[f.key])
    return stmt


async def fetch_page(
    session: AsyncSession, stmt: Select[Any], spec: TableSpec, query: TableQuery, *, scalars: bool = True
) -> Page:
    """Run the filtered count and the page query (two statements, whatever the page size)."""
    stmt = apply_query(stmt, spec, query)
    total = (
        await session.execute(select(func.count()).select_from(stmt.order_by(None).subquery()))
    ).scalar_one()
    col = spec.column(query.sort)
    order = []
    if col is not None:
        order.append(
            col.sort.desc().nulls_last() if query.direction == "desc" else col.sort.asc().nulls_last()
        )
    if spec.tiebreak is not None:
        order.append(spec.tiebreak)
    page_no = min(query.page, max(1, math.ceil(total / query.per_page)))
    query = replace(query, page=page_no)
    result = await session.execute(
        stmt.order_by(*order).limit(query.per_page).offset((page_no - 1) * query.per_page)
    )
    rows = list(result.scalars()) if scalars else list(result.all())
    return Page(rows=rows, total=int(total), query=query, spec=spec)
