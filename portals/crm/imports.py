"""CSV import of contacts and accounts with a row-by-row error report.

Permission: ``crm.lead.import`` ("Import leads and contacts from CSV") on the routes — bulk
import is a capability an administrator grants or withholds on its own, whatever a role may do by
hand — and the service also requires ``crm.account.write`` (an import creates accounts and
contacts, owned by the importer, inside their write scope). So a marketer, who may import leads
but not create accounts, is refused with a clear message instead of creating accounts by the back
door.

When the only obstacle is duplicates, the uploaded file waits in Redis for 30 minutes (bound to
the tenant and the user) so that "skip the duplicates" or "import them anyway" is one click.
"""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile

from app.crm.services.account_import import ACCOUNT_COLUMNS, import_accounts
from app.crm.services.contact_import import CONTACT_COLUMNS, import_contacts
from app.crm.services.import_support import MAX_SHOWN_PROBLEMS, ImportRejected, ImportReport
from app.kernel import i18n
from app.kernel.csvfile import csv_bytes
from app.kernel.errors import DomainError, FieldError, ValidationFailed
from app.kernel.i18n import lazy
from app.kernel.redis import get_redis
from app.kernel.web import DbSession
from app.security.permissions import CRM_ACCOUNT_WRITE, CRM_LEAD_IMPORT
from app.security.principal import Principal
from portals.crm.forms import NAV_SECTION
from portals.nav import NavItem, register
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

BASE = "/crm/import"
MAX_UPLOAD = 16 * 1024 * 1024  # 20,000 rows of a wide sheet; the app's default limit is 2 MiB
STASH_SECONDS = 30 * 60
KINDS = {"contacts": lazy("Contacts"), "accounts": lazy("Accounts")}
POLICIES = ("stop", "skip", "import")
SAMPLES = {
    "contacts": [
        ["上海明辉贸易有限公司", "芳", "王", "", "采购经理", "wang.fang@minghui.cn", "+86 21 6123 4567", "",
         "", "华东", "vip, 展会2026"],
        ["Acme Trading Ltd", "Ada", "Lovelace", "", "Head of Operations", "ada@acme-trading.example",
         "+44 20 7946 0000", "", "Met at the Hannover fair", "Europe", "fair-2026"],
    ],
    "accounts": [
        ["上海明辉贸易有限公司", "company", "", "info@minghui.cn", "+86 21 6123 4567", "minghui.cn",
         "Wholesale", "华东", "CN", "上海", "", "customer", "fair", "vip", ""],
    ],
}  # fmt: skip

register(NavItem(NAV_SECTION, lazy("Import"), BASE, CRM_LEAD_IMPORT, icon="upload", order=50))


def _stash_key(p: Principal, token: str) -> str:
    return f"tessera:crm:import:{p.tenant.id}:{p.key}:{token}"


def _page(
    request: Request[Any, Any, Any],
    *,
    form: FormState | None = None,
    report: ImportReport | None = None,
    token: str | None = None,
    status: int = 200,
) -> Response[Any]:
    p = principal(request)
    return render(
        request,
        "crm/import.html",
        status=status,
        form=form or FormState({"kind": "contacts", "duplicates": "stop"}),
        report=report,
        token=token,
        kinds=KINDS,
        columns={"contacts": CONTACT_COLUMNS, "accounts": ACCOUNT_COLUMNS},
        may_write=p.scope_for(CRM_ACCOUNT_WRITE) is not None,
        max_shown=MAX_SHOWN_PROBLEMS,
    )


@get(BASE, opt=perm(CRM_LEAD_IMPORT))
async def import_page(request: Request[Any, Any, Any]) -> Response[Any]:
    kind = request.query_params.get("kind")
    return _page(
        request, form=FormState({"kind": kind if kind in KINDS else "contacts", "duplicates": "stop"})
    )


@get(f"{BASE}/template.csv", opt=perm(CRM_LEAD_IMPORT))
async def import_template(request: Request[Any, Any, Any]) -> Response[bytes]:
    kind = request.query_params.get("kind")
    kind = kind if kind in KINDS else "contacts"
    header = CONTACT_COLUMNS if kind == "contacts" else ACCOUNT_COLUMNS
    return Response(
        csv_bytes(list(header), SAMPLES[kind]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{kind}-template.csv"'},
    )


async def _run(
    request: Request[Any, Any, Any], db: DbSession, data: bytes, kind: str, policy: str, form: dict[str, Any]
) -> Response[Any]:
    p = principal(request)
    run = import_contacts if kind == "contacts" else import_accounts
    try:
        report = await run(db, p, data, duplicates=policy)  # type: ignore[arg-type]
    except ImportRejected as exc:
        await db.rollback()
        token = None
        if not exc.report.problems and exc.report.duplicates:  # only duplicates stand in the way
            token = secrets.token_urlsafe(18)
            await get_redis().set(_stash_key(p, token), kind.encode() + b"\n" + data, ex=STASH_SECONDS)
        return _page(request, form=FormState(form, exc), report=exc.report, token=token, status=422)
    except DomainError as exc:
        await db.rollback()
        return _page(request, form=FormState(form, exc), status=422)
    if kind == "contacts":
        message = i18n.gettext(
            "{n} contacts imported ({new} new accounts, {matched} existing); {skipped} duplicates skipped.",
            n=report.created,
            new=report.accounts_created,
            matched=report.accounts_matched,
            skipped=report.skipped,
        )
    else:
        message = i18n.gettext(
            "{n} accounts imported; {skipped} duplicates skipped.", n=report.created, skipped=report.skipped
        )
    flash(request, "success", message)
    return redirect("/crm/contacts" if kind == "contacts" else "/crm/accounts", request)


def _choice(value: object, choices: tuple[str, ...], default: str) -> str:
    return str(value) if value in choices else default


@post(BASE, opt=perm(CRM_LEAD_IMPORT), request_max_body_size=MAX_UPLOAD)
async def import_upload(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    upload = form.pop("file", None)
    kind = _choice(form.get("kind"), tuple(KINDS), "contacts")
    policy = _choice(form.get("duplicates"), POLICIES, "stop")
    form.update(kind=kind, duplicates=policy)
    data = await upload.read() if isinstance(upload, UploadFile) else b""
    if not data:
        error = ValidationFailed([FieldError("file", "Choose a CSV file to import.")])
        return _page(request, form=FormState(form, error), status=422)
    return await _run(request, db, data, kind, policy, form)


@post(f"{BASE}/confirm", opt=perm(CRM_LEAD_IMPORT))
async def import_confirm(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    """Import the file that waited because of duplicates, skipping them or not."""
    form = await form_data(request)
    p = principal(request)
    token = str(form.get("token") or "")[:64]
    policy = _choice(form.get("duplicates"), ("skip", "import"), "skip")
    stashed = await get_redis().get(_stash_key(p, token)) if token else None
    if not stashed:
        error = ValidationFailed(
            [FieldError("file", "The uploaded file is no longer waiting; upload it again.")]
        )
        return _page(request, form=FormState({"kind": "contacts", "duplicates": policy}, error), status=422)
    raw = stashed if isinstance(stashed, bytes) else str(stashed).encode()
    kind_bytes, _, data = raw.partition(b"\n")
    kind = kind_bytes.decode() if kind_bytes.decode() in KINDS else "contacts"
    response = await _run(request, db, data, kind, policy, {"kind": kind, "duplicates": policy})
    if (response.status_code or 200) < 400:
        await get_redis().delete(_stash_key(p, token))
    return response


ROUTES = [import_page, import_template, import_upload, import_confirm]
