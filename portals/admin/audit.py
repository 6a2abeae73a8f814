"""Admin › Audit log: search who changed what, when and from where; see before → after values."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath
from sqlalchemy import Select

from app.kernel.audit import AuditEntry
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import ADMIN_AUDIT_READ
from app.security.services import audit_log
from portals.admin.forms import NAV_SECTION, viewer_tz, wants_fragment
from portals.nav import NavItem, register
from portals.tables import Column, Filter, TableSpec, fetch_page, parse_query
from portals.web import perm, render

BASE = "/admin/audit"
ACTOR_LABELS = {
    "user": lazy("Person"),
    "api_client": lazy("API client"),
    "system": lazy("System"),
    "operator": lazy("Tessera operator"),
    "anonymous": lazy("Anonymous"),
}
# Where a recorded entity can be opened in the admin portal.
RECORD_LINKS = {"users": "/admin/users/{id}", "roles": "/admin/roles/{id}", "teams": "/admin/teams/{id}"}

register(NavItem(NAV_SECTION, lazy("Audit log"), BASE, ADMIN_AUDIT_READ, icon="list", order=70))


def audit_table(entity_types: list[str], tz: str) -> TableSpec:
    def on_or_after(stmt: Select[Any], value: str) -> Select[Any]:
        day = audit_log.parse_day(value)
        return audit_log.since(stmt, day, tz) if day else stmt

    def on_or_before(stmt: Select[Any], value: str) -> Select[Any]:
        day = audit_log.parse_day(value)
        return audit_log.until(stmt, day, tz) if day else stmt

    return TableSpec(
        columns=[
            Column("at", lazy("When"), sort=AuditEntry.at),
            Column("actor", lazy("Who")),
            Column("what", lazy("What")),
            Column("record", lazy("Record")),
            Column("changes", lazy("Changes")),
        ],
        default_sort="at",
        default_direction="desc",
        filters=[
            Filter("actor", lazy("Actor"), audit_log.by_actor_kind, list(ACTOR_LABELS.items())),
            Filter("entity", lazy("Record type"), audit_log.by_entity_type, [(t, t) for t in entity_types]),
            Filter("from", lazy("From"), on_or_after),
            Filter("to", lazy("To"), on_or_before),
        ],
        search=audit_log.search,
        tiebreak=AuditEntry.id.desc(),
    )


def record_link(entry: AuditEntry) -> str | None:
    pattern = RECORD_LINKS.get(entry.entity_type)
    if pattern is None or not (entry.entity_id or "").isdigit():
        return None
    return pattern.format(id=entry.entity_id)


@get(BASE, opt=perm(ADMIN_AUDIT_READ))
async def audit_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    tz = viewer_tz(request)
    entity_types = await audit_log.entity_types(db)
    spec = audit_table(entity_types, tz)
    page = await fetch_page(db, audit_log.audit_query(), spec, parse_query(request.query_params, spec))
    ctx: dict[str, Any] = {
        "page": page,
        "base": BASE,
        "tz": tz,
        "entity_types": entity_types,
        "actor_labels": ACTOR_LABELS,
        "changes": audit_log.changes,
    }
    if wants_fragment(request):
        return render(request, "admin/_audit_table.html", **ctx)
    return render(request, "admin/audit.html", **ctx)


@get(f"{BASE}/{{entry_id:int}}", opt=perm(ADMIN_AUDIT_READ, resource="audit_events"))
async def audit_detail(
    request: Request[Any, Any, Any], db: DbSession, entry_id: FromPath[int]
) -> Response[Any]:
    entry = await audit_log.get_entry(db, entry_id)
    return render(
        request,
        "admin/audit_detail.html",
        entry=entry,
        tz=viewer_tz(request),
        rows=audit_log.changes(entry),
        actor_labels=ACTOR_LABELS,
        link=record_link(entry),
    )


ROUTES = [audit_list, audit_detail]
