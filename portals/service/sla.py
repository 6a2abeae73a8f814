"""Service › SLA policies: the first-response and resolution targets of each priority.

Everyone who works tickets may read the targets; changing them is tenant configuration
(``admin.settings.manage``). A change applies to tickets opened (or re-prioritised) afterwards.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.services import sla
from app.kernel import i18n
from app.kernel.csvfile import csv_bytes
from app.kernel.db import utcnow
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy, lazy_p
from app.kernel.web import DbSession
from app.security.permissions import ADMIN_SETTINGS_MANAGE, CRM_TICKET_READ
from portals.exports import csv_download
from portals.forms import checked
from portals.nav import NavItem, register
from portals.service.common import SECTION
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

BASE = "/service/sla"

register(NavItem(SECTION, lazy("SLA policies"), BASE, CRM_TICKET_READ, icon="clock", order=30))


async def _page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    *,
    failed_id: int | None = None,
    form: FormState | None = None,
    status: int = 200,
) -> Response[Any]:
    policies = await sla.list_policies(db)
    forms = {
        p.id: FormState(
            {
                "name": p.name,
                "first_response_minutes": p.first_response_minutes,
                "resolution_minutes": p.resolution_minutes,
                "active": p.active,
            }
        )
        for p in policies
    }
    if failed_id is not None and form is not None:
        forms[failed_id] = form
    return render(
        request,
        "service/sla.html",
        status=status,
        policies=policies,
        forms=forms,
        failed_id=failed_id,
        priority_labels=sla.PRIORITY_LABELS,
        duration=sla.duration_text,
        can_edit=principal(request).can(ADMIN_SETTINGS_MANAGE),
    )


@get(BASE, opt=perm(CRM_TICKET_READ))
async def sla_policies(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    return await _page(request, db)


EXPORT_HEADERS = [
    lazy("Name"),
    lazy("Priority"),
    lazy("First response (minutes)"),
    lazy("Resolution (minutes)"),
    lazy_p("on/off setting", "Active"),
]


@get(f"{BASE}/export.csv", opt=perm(CRM_TICKET_READ))
async def sla_export(request: Request[Any, Any, Any], db: DbSession) -> Response[bytes]:
    """The policies as the page lists them (the same service call, most urgent first). Targets
    are calendar minutes (24 × 7): there are no business hours to export."""
    rows = (
        [
            i18n.gettext(p.name),
            i18n.gettext(sla.PRIORITY_LABELS.get(p.priority, p.priority)),
            p.first_response_minutes,
            p.resolution_minutes,
            i18n.gettext("Yes") if p.active else i18n.gettext("No"),
        ]
        for p in await sla.list_policies(db)
    )
    body = csv_bytes([i18n.gettext(h) for h in EXPORT_HEADERS], rows)
    filename = f"sla-policies-{utcnow().date().isoformat()}.csv"
    return csv_download(body, f"{filename}")


@post(f"{BASE}/{{policy_id:int}}", opt=perm(ADMIN_SETTINGS_MANAGE, resource="crm_sla_policies"))
async def sla_policy_save(
    request: Request[Any, Any, Any], db: DbSession, policy_id: FromPath[int]
) -> Response[Any]:
    policy = await sla.get_policy(db, policy_id)
    form = await form_data(request)
    data = {**form, "active": checked(form, "active")}
    try:
        await sla.update_policy(db, policy.id, data)
    except DomainError as exc:
        await db.rollback()
        return await _page(request, db, failed_id=policy_id, form=FormState(data, exc), status=422)
    flash(request, "success", i18n.gettext("The SLA policy {name} is saved.", name=policy.name))
    return redirect(BASE, request)


ROUTES = [sla_policies, sla_export, sla_policy_save]
