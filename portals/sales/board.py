"""Sales › Pipeline: the kanban board with drag-and-drop between and within columns (CRM-3).

``portals/static/js/board.js`` POSTs a drop to ``/sales/pipeline/cards/{id}/move`` with the
``X-CSRF-Token`` header; the answer is the target column, re-rendered, with the source column and
the board summary as out-of-band swaps — so counts and totals stay right without a reload. Without
JavaScript, a deal changes stage with the <select> on its page.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.services import board, opportunities, reps
from app.kernel import i18n
from app.kernel.db import utcnow
from app.kernel.errors import DomainError, ValidationFailed
from app.kernel.i18n import lazy
from app.kernel.web import DbSession, is_htmx
from app.security.permissions import CRM_OPPORTUNITY_READ, CRM_OPPORTUNITY_WRITE
from app.security.principal import Principal
from portals.forms import optional_id, wants_fragment
from portals.nav import NavItem, register
from portals.sales.pipeline_format import CardFormats
from portals.web import flash, form_data, perm, principal, redirect, render

BASE = "/sales/pipeline"

register(NavItem(lazy("Sales"), lazy("Pipeline"), BASE, CRM_OPPORTUNITY_READ, icon="kanban", order=30))


def _filters(params: Any) -> dict[str, int | None]:
    owner, team = optional_id(params.get("owner")), optional_id(params.get("team"))
    return {
        "owner_id": owner if owner and owner > 0 else None,
        "team_id": team if team and team > 0 else None,
    }


async def _choices(db: AsyncSession, p: Principal) -> dict[str, Any]:
    return {
        "owner_choices": [
            (u.id, u.full_name) for u in await reps.staff_in_scope(db, p, CRM_OPPORTUNITY_READ)
        ],
        "team_choices": [(t.id, t.name) for t in await reps.teams_in_scope(db, p, CRM_OPPORTUNITY_READ)],
    }


def _context(p: Principal, the_board: board.Board, filters: dict[str, int | None]) -> dict[str, Any]:
    return {
        "board": the_board,
        "filters": filters,
        "can_move": p.can(CRM_OPPORTUNITY_WRITE),
        "per_column": board.CARDS_PER_COLUMN,
        "closed_days": board.CLOSED_DAYS,
        "today": utcnow().date(),
        "fmt": CardFormats(),
    }


@get(BASE, opt=perm(CRM_OPPORTUNITY_READ))
async def pipeline_board(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    p = principal(request)
    filters = _filters(request.query_params)
    loaded = await board.load_board(db, p, owner_id=filters["owner_id"], team_id=filters["team_id"])
    ctx = _context(p, loaded, filters)
    if wants_fragment(request):
        return render(request, "sales/_pipeline_board.html", **ctx)
    return render(request, "sales/pipeline.html", **ctx, **await _choices(db, p))


@post(
    f"{BASE}/cards/{{opportunity_id:int}}/move", opt=perm(CRM_OPPORTUNITY_WRITE, resource="crm_opportunities")
)
async def pipeline_move(
    request: Request[Any, Any, Any], db: DbSession, opportunity_id: FromPath[int]
) -> Response[Any]:
    """A dropped card: to ``stage_id``, before ``before_id`` (or after ``after_id``)."""
    p = principal(request)
    opp = await opportunities.get_writable_opportunity(db, p, opportunity_id)
    source = opp.stage_id
    form = await form_data(request)
    filters = _filters(form)
    try:
        moved = await board.move_card(
            db,
            p,
            opp.id,
            optional_id(form.get("stage_id")),
            before_id=optional_id(form.get("before_id")),
            after_id=optional_id(form.get("after_id")),
            lost_reason=form.get("lost_reason"),
        )
    except DomainError as exc:
        await db.rollback()
        message = _message(exc)
        if not is_htmx(request.scope):
            flash(request, "error", message)
            return redirect(BASE)
        return Response(message, status_code=422, media_type="text/plain; charset=utf-8")
    if not is_htmx(request.scope):
        return redirect(f"{BASE}?owner={filters['owner_id'] or ''}&team={filters['team_id'] or ''}")
    touched = [moved.stage_id] if moved.stage_id == source else [moved.stage_id, source]
    the_board = await board.load_board(
        db, p, stage_ids=touched, owner_id=filters["owner_id"], team_id=filters["team_id"]
    )
    return render(
        request,
        "sales/_pipeline_moved.html",
        **_context(p, the_board, filters),
        target=the_board.column(moved.stage_id),
        source=the_board.column(source) if source != moved.stage_id else None,
        moved_id=moved.id,
    )


def _message(exc: DomainError) -> str:
    """One line for the toast: the first field error, else the error's own message."""
    if isinstance(exc, ValidationFailed) and exc.errors:
        first = exc.errors[0]
        return i18n.gettext(first.message, **first.params)
    return i18n.gettext(exc.message, **exc.params)


ROUTES = [pipeline_board, pipeline_move]
