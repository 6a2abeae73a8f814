"""Pipeline stages and their probabilities: the sales admin page (CRM-3).

Stages are organisation-wide configuration — every rep's board, every forecast and report reads
them — so changing them needs ``admin.settings.manage`` ("Change tenant settings"), held by the
tenant administrator, not by reps or sales managers.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import PipelineStage
from app.crm.services import stages
from app.kernel import i18n
from app.kernel.csvfile import csv_bytes
from app.kernel.db import utcnow
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy, lazy_p
from app.kernel.web import DbSession
from app.security.permissions import ADMIN_SETTINGS_MANAGE
from portals.exports import csv_download
from portals.nav import NavItem, register
from portals.web import FormState, flash, form_data, perm, redirect, render

BASE = "/sales/stages"
KIND_LABELS = {"open": lazy("Open"), "won": lazy("Won"), "lost": lazy("Lost")}

register(
    NavItem(lazy("Sales"), lazy("Pipeline stages"), BASE, ADMIN_SETTINGS_MANAGE, icon="settings", order=95)
)


async def _list(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    form: FormState,
    *,
    status: int = 200,
    action_error: str | None = None,
) -> Response[Any]:
    stage_list = await stages.list_stages(db)
    return render(
        request,
        "sales/stages.html",
        status=status,
        form=form,
        stage_list=stage_list,
        open_ids=[s.id for s in stage_list if not (s.is_won or s.is_lost)] or [0],
        counts=await stages.open_counts(db),
        kind_of=stages.kind_of,
        kind_labels=KIND_LABELS,
        action_error=action_error,
    )


async def _edit(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    stage: PipelineStage,
    form: FormState,
    status: int = 200,
) -> Response[Any]:
    counts = await stages.open_counts(db)
    return render(
        request,
        "sales/stage_form.html",
        status=status,
        stage=stage,
        form=form,
        held=counts.get(stage.id, 0),
        kind=stages.kind_of(stage),
        kind_labels=KIND_LABELS,
    )


@get(BASE, opt=perm(ADMIN_SETTINGS_MANAGE))
async def stage_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    return await _list(request, db, FormState({"probability": "50"}))


EXPORT_HEADERS = [
    lazy("Position"),
    lazy("Name"),
    lazy("Probability"),
    lazy("Kind"),
    lazy("Deals"),
    lazy_p("on/off setting", "Active"),
]


def _yes_no(value: bool) -> str:
    return i18n.gettext("Yes") if value else i18n.gettext("No")


@get(f"{BASE}/export.csv", opt=perm(ADMIN_SETTINGS_MANAGE))
async def stage_export(request: Request[Any, Any, Any], db: DbSession) -> Response[bytes]:
    """The stages as the page lists them (board order, the same service call), with the number
    of deals each holds; a stage's position is its place on the board, from 1."""
    stage_list = await stages.list_stages(db)
    counts = await stages.open_counts(db)
    rows = (
        [
            n,
            i18n.gettext(s.name),
            s.probability,
            i18n.gettext(KIND_LABELS[stages.kind_of(s)]),
            counts.get(s.id, 0),
            _yes_no(s.active),
        ]
        for n, s in enumerate(stage_list, start=1)
    )
    body = csv_bytes([i18n.gettext(h) for h in EXPORT_HEADERS], rows)
    filename = f"pipeline-stages-{utcnow().date().isoformat()}.csv"
    return csv_download(body, f"{filename}")


@post(BASE, opt=perm(ADMIN_SETTINGS_MANAGE))
async def stage_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    try:
        stage = await stages.create_stage(db, form)
    except DomainError as exc:
        await db.rollback()
        return await _list(request, db, FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("The stage {name} is added.", name=stage.name))
    return redirect(BASE, request)


@get(f"{BASE}/{{stage_id:int}}", opt=perm(ADMIN_SETTINGS_MANAGE, resource="crm_pipeline_stages"))
async def stage_detail(
    request: Request[Any, Any, Any], db: DbSession, stage_id: FromPath[int]
) -> Response[Any]:
    stage = await stages.get_stage(db, stage_id)
    return await _edit(request, db, stage, FormState({"name": stage.name, "probability": stage.probability}))


@post(f"{BASE}/{{stage_id:int}}", opt=perm(ADMIN_SETTINGS_MANAGE, resource="crm_pipeline_stages"))
async def stage_save(
    request: Request[Any, Any, Any], db: DbSession, stage_id: FromPath[int]
) -> Response[Any]:
    stage = await stages.get_stage(db, stage_id)
    form = await form_data(request)
    try:
        await stages.update_stage(db, stage.id, form)
    except DomainError as exc:
        await db.rollback()
        return await _edit(request, db, await stages.get_stage(db, stage_id), FormState(form, exc), 422)
    flash(request, "success", i18n.gettext("The stage {name} is saved.", name=i18n.gettext(stage.name)))
    return redirect(BASE, request)


@post(f"{BASE}/{{stage_id:int}}/move", opt=perm(ADMIN_SETTINGS_MANAGE, resource="crm_pipeline_stages"))
async def stage_move(
    request: Request[Any, Any, Any], db: DbSession, stage_id: FromPath[int]
) -> Response[Any]:
    stage = await stages.get_stage(db, stage_id)
    form = await form_data(request)
    try:
        await stages.move_stage(db, stage.id, -1 if form.get("direction") == "left" else 1)
    except DomainError as exc:
        await db.rollback()
        message = i18n.gettext(exc.message, **exc.params)
        return await _list(request, db, FormState({"probability": "50"}), status=422, action_error=message)
    return redirect(BASE, request)


async def _set_active(
    request: Request[Any, Any, Any], db: AsyncSession, stage_id: int, active: bool
) -> Response[Any]:
    stage = await stages.get_stage(db, stage_id)
    name = i18n.gettext(stage.name)
    try:
        await stages.set_stage_active(db, stage.id, active)
    except DomainError as exc:
        await db.rollback()
        message = i18n.gettext(exc.message, **exc.params)
        return await _list(request, db, FormState({"probability": "50"}), status=422, action_error=message)
    if active:
        flash(request, "success", i18n.gettext("The stage {name} is back on the board.", name=name))
    else:
        flash(request, "success", i18n.gettext("The stage {name} is switched off.", name=name))
    return redirect(BASE, request)


@post(f"{BASE}/{{stage_id:int}}/deactivate", opt=perm(ADMIN_SETTINGS_MANAGE, resource="crm_pipeline_stages"))
async def stage_deactivate(
    request: Request[Any, Any, Any], db: DbSession, stage_id: FromPath[int]
) -> Response[Any]:
    return await _set_active(request, db, stage_id, False)


@post(f"{BASE}/{{stage_id:int}}/activate", opt=perm(ADMIN_SETTINGS_MANAGE, resource="crm_pipeline_stages"))
async def stage_activate(
    request: Request[Any, Any, Any], db: DbSession, stage_id: FromPath[int]
) -> Response[Any]:
    return await _set_active(request, db, stage_id, True)


ROUTES = [
    stage_list,
    stage_export,
    stage_create,
    stage_detail,
    stage_save,
    stage_move,
    stage_deactivate,
    stage_activate,
]
