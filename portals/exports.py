"""CSV export of any portal list (PLAT-13): the same statement, filters, search and sort the
table shows, so an export never reveals a row the list would hide (record rules come with the
base statement the controller passes in).

    @get("/sales/leads/export.csv", opt=perm(CRM_LEAD_READ))
    async def export(request, db):
        stmt = restrict(select(Lead), Lead, principal(request), CRM_LEAD_READ)
        return await csv_export(request, db, stmt, LEADS_TABLE, LEAD_COLUMNS, "leads")
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel import i18n
from app.kernel.csvfile import csv_bytes
from app.kernel.db import utcnow
from portals.tables import TableSpec, apply_query, parse_query

MAX_EXPORT_ROWS = 100_000


@dataclass(frozen=True)
class ExportColumn:
    header: str  # English msgid; the header row is written in the reader's language
    value: Callable[[Any], Any]


def order_for(spec: TableSpec, params: Any) -> list[Any]:
    query = parse_query(params, spec)
    col = spec.column(query.sort)
    order = []
    if col is not None:
        order.append(
            col.sort.desc().nulls_last() if query.direction == "desc" else col.sort.asc().nulls_last()
        )
    if spec.tiebreak is not None:
        order.append(spec.tiebreak)
    return order


async def csv_export(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    stmt: Select[Any],
    spec: TableSpec,
    columns: Sequence[ExportColumn],
    name: str,
    *,
    scalars: bool = True,
) -> Response[bytes]:
    """Every row the list would show (up to MAX_EXPORT_ROWS) as a CSV download. With
    ``scalars=False`` the columns receive whole result rows (an entity and joined values)."""
    query = parse_query(request.query_params, spec)
    stmt = apply_query(stmt, spec, query).order_by(*order_for(spec, request.query_params))
    result = await session.execute(stmt.limit(MAX_EXPORT_ROWS))
    rows = result.scalars().all() if scalars else result.all()
    body = csv_bytes(
        [i18n.gettext(c.header) for c in columns],
        ([c.value(row) for c in columns] for row in rows),
    )
    filename = f"{name}-{utcnow().date().isoformat()}.csv"
    return Response(
        body,
        media_type="text/csv",  # Litestar adds "; charset=utf-8" to text types
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
