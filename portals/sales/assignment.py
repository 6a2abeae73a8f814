"""Sales › Assignment rules: who receives new leads nobody chose an owner for (CRM-2).

Rules are tried top to bottom; the first that matches the lead's source and region hands it to
its one person or to the next of its people in turn (app/crm/services/lead_assignment.py).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import AssignmentRule
from app.crm.models.leads import SOURCE_LABELS
from app.crm.services import lead_assignment, leads
from app.kernel import i18n
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import CRM_LEAD_ASSIGN
from portals.forms import as_list
from portals.nav import NavItem, register
from portals.web import FormState, flash, form_data, perm, redirect, render

BASE = "/sales/assignment"

register(NavItem(lazy("Sales"), lazy("Assignment rules"), BASE, CRM_LEAD_ASSIGN, icon="users", order=80))


def _values(form: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": form.get("name"),
        "strategy": form.get("strategy"),
        "active": form.get("active"),
        "match_sources": as_list(form.get("match_sources")),
        "match_regions": form.get("match_regions"),
        "user_ids": as_list(form.get("user_ids")),
    }


def _stored(rule: AssignmentRule) -> FormState:
    return FormState(
        {
            "name": rule.name,
            "strategy": rule.strategy,
            "active": "1" if rule.active else "",
            "match_sources": list(rule.match_sources or []),
            "match_regions": ", ".join(rule.match_regions or []),
            "user_ids": [str(i) for i in rule.user_ids or []],
        }
    )


async def _common(db: AsyncSession) -> dict[str, Any]:
    staff = await lead_assignment.lead_staff(db)
    return {
        "staff": staff,
        "source_labels": SOURCE_LABELS,
        "strategy_labels": lead_assignment.STRATEGY_LABELS,
    }


async def _list(
    request: Request[Any, Any, Any], db: AsyncSession, form: FormState, status: int = 200
) -> Response[Any]:
    rules = await lead_assignment.list_rules(db)
    names = await leads.names_of(db, (i for r in rules for i in r.user_ids or []))
    return render(
        request,
        "sales/assignment.html",
        status=status,
        form=form,
        rules=rules,
        names=names,
        next_up={r.id: _next_up(r) for r in rules},
        **await _common(db),
    )


def _next_up(rule: AssignmentRule) -> int | None:
    ids = list(rule.user_ids or [])
    if not ids:
        return None
    return ids[0] if rule.strategy == "fixed" else ids[(rule.last_index + 1) % len(ids)]


@get(BASE, opt=perm(CRM_LEAD_ASSIGN))
async def rule_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    return await _list(request, db, FormState({"active": "1", "strategy": "round_robin"}))


@post(BASE, opt=perm(CRM_LEAD_ASSIGN))
async def rule_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = _values(await form_data(request))
    try:
        rule = await lead_assignment.create_rule(db, form)
    except DomainError as exc:
        await db.rollback()
        return await _list(request, db, FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("The rule {name} is created.", name=rule.name))
    return redirect(BASE, request)


@get(f"{BASE}/{{rule_id:int}}", opt=perm(CRM_LEAD_ASSIGN, resource="crm_assignment_rules"))
async def rule_edit(request: Request[Any, Any, Any], db: DbSession, rule_id: FromPath[int]) -> Response[Any]:
    rule = await lead_assignment.get_rule(db, rule_id)
    return render(request, "sales/assignment_form.html", rule=rule, form=_stored(rule), **await _common(db))


@post(f"{BASE}/{{rule_id:int}}", opt=perm(CRM_LEAD_ASSIGN, resource="crm_assignment_rules"))
async def rule_save(request: Request[Any, Any, Any], db: DbSession, rule_id: FromPath[int]) -> Response[Any]:
    rule = await lead_assignment.get_rule(db, rule_id)
    form = _values(await form_data(request))
    try:
        await lead_assignment.update_rule(db, rule.id, form)
    except DomainError as exc:
        await db.rollback()
        rule = await lead_assignment.get_rule(db, rule_id)
        ctx = await _common(db)
        return render(
            request, "sales/assignment_form.html", status=422, rule=rule, form=FormState(form, exc), **ctx
        )
    flash(request, "success", i18n.gettext("The rule {name} is saved.", name=rule.name))
    return redirect(BASE, request)


@post(f"{BASE}/{{rule_id:int}}/move", opt=perm(CRM_LEAD_ASSIGN, resource="crm_assignment_rules"))
async def rule_move(request: Request[Any, Any, Any], db: DbSession, rule_id: FromPath[int]) -> Response[Any]:
    rule = await lead_assignment.get_rule(db, rule_id)
    form = await form_data(request)
    await lead_assignment.move_rule(db, rule.id, str(form.get("direction") or ""))
    return redirect(BASE, request)


@post(f"{BASE}/{{rule_id:int}}/delete", opt=perm(CRM_LEAD_ASSIGN, resource="crm_assignment_rules"))
async def rule_delete(
    request: Request[Any, Any, Any], db: DbSession, rule_id: FromPath[int]
) -> Response[Any]:
    name = await lead_assignment.delete_rule(db, rule_id)
    flash(request, "success", i18n.gettext("The rule {name} is deleted.", name=name))
    return redirect(BASE, request)


ROUTES = [rule_list, rule_create, rule_edit, rule_save, rule_move, rule_delete]
