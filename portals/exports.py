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
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy
from portals.tables import TableSpec, apply_query, parse_query

MAX_EXPORT_ROWS = 100_000  # an export is built in memory: above this, narrow the list first


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


async def export_rows(session: AsyncSession, stmt: Select[Any], *, scalars: bool = True) -> Sequence[Any]:
    """The rows of an export's statement (filters, sort and record rules applied by the caller).
    An export never ends silently at a limit: a list longer than ``MAX_EXPORT_ROWS`` is refused
    with a message (422) that says so, and the reader narrows it with a filter or a search."""
    result = await session.execute(stmt.limit(MAX_EXPORT_ROWS + 1))
    rows = result.scalars().all() if scalars else result.all()
    if len(rows) > MAX_EXPORT_ROWS:
        raise DomainError(
            "export_too_large",
            lazy(
                "This list has more than {limit} rows. Narrow it with a filter or a search, "
                "then export again."
            ),
            params={"limit": i18n.format_number(MAX_EXPORT_ROWS)},
        )
    return rows


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
    """Every row the list would show (see ``export_rows`` for the limit) as a CSV download. With
    ``scalars=False`` the columns receive whole result rows (an entity and joined values)."""
    query = parse_query(request.query_params, spec)
    stmt = apply_query(stmt, spec, query).order_by(*order_for(spec, request.query_params))
    rows = await export_rows(session, stmt, scalars=scalars)
    body = csv_bytes(
        [i18n.gettext(c.header) for c in columns],
        ([c.value(row) for c in columns] for row in rows),
    )
    return csv_download(body, f"{name}-{utcnow().date().isoformat()}.csv")


def csv_download(body: bytes, filename: str) -> Response[bytes]:
    """A CSV file the browser saves as ``filename``, never cached (it holds what a reader may see)."""
    return Response(
        body,
        media_type="text/csv",  # Litestar adds "; charset=utf-8" to text types
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
