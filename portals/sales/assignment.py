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
from app.crm.services import lead_assignment, leads, reps
from app.kernel import i18n
from app.kernel.csvfile import csv_bytes
from app.kernel.db import utcnow
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy, lazy_p
from app.kernel.web import DbSession
from app.security.permissions import CRM_LEAD_ASSIGN
from portals.exports import csv_download
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


APPLIES_TO_LABELS = {"lead": lazy("Leads"), "ticket": lazy("Tickets")}
EXPORT_HEADERS = [
    lazy("Position"),
    lazy("Name"),
    lazy("Applies to"),
    lazy("Lead sources"),
    lazy("Regions"),
    lazy("Give the lead to"),
    lazy("People"),
    lazy("Team"),
    lazy_p("on/off setting", "Active"),
]


def _export_row(
    position: int, rule: AssignmentRule, names: dict[int, str], teams: dict[int, str]
) -> list[Any]:
    def joined(values: list[str]) -> str:
        return ", ".join(values) if values else i18n.gettext("any")

    sources = [i18n.gettext(SOURCE_LABELS.get(s, s)) for s in rule.match_sources or []]
    people = [names.get(uid, i18n.gettext("(removed user)")) for uid in rule.user_ids or []]
    strategy = lead_assignment.STRATEGY_LABELS.get(rule.strategy, rule.strategy)
    return [
        position,
        rule.name,
        i18n.gettext(APPLIES_TO_LABELS.get(rule.applies_to, rule.applies_to)),
        joined(sources),
        joined(list(rule.match_regions or [])),
        i18n.gettext(strategy),
        ", ".join(people),
        teams.get(rule.team_id, "") if rule.team_id else "",
        i18n.gettext("Yes") if rule.active else i18n.gettext("No"),
    ]


@get(f"{BASE}/export.csv", opt=perm(CRM_LEAD_ASSIGN))
async def rule_export(request: Request[Any, Any, Any], db: DbSession) -> Response[bytes]:
    """The rules as the page lists them (the same service call, in the order they are tried);
    a rule's position is its number on the page, from 1."""
    rules = await lead_assignment.list_rules(db)
    names = await leads.names_of(db, (i for r in rules for i in r.user_ids or []))
    teams = await reps.team_names(db, (r.team_id for r in rules))
    body = csv_bytes(
        [i18n.gettext(h) for h in EXPORT_HEADERS],
        (_export_row(n, r, names, teams) for n, r in enumerate(rules, start=1)),
    )
    filename = f"assignment-rules-{utcnow().date().isoformat()}.csv"
    return csv_download(body, f"{filename}")


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


ROUTES = [rule_list, rule_export, rule_create, rule_edit, rule_save, rule_move, rule_delete]
