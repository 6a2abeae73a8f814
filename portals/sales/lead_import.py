"""Sales › Leads › Import: upload a CSV file; every row is imported or none, with a report."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile

from app.crm.services import lead_import, leads
from app.kernel import i18n
from app.kernel.errors import DomainError, FieldError, ValidationFailed
from app.kernel.web import DbSession
from app.security.permissions import CRM_LEAD_IMPORT
from portals.web import FormState, flash, perm, principal, render

PATH = "/sales/leads/import"
MAX_BYTES = 5 * 1024 * 1024


async def _page(request: Request[Any, Any, Any], db: DbSession, form: FormState, **ctx: Any) -> Response[Any]:
    p = principal(request)
    owners = [u for u in await leads.assignable_owners(db, p) if u.id != p.id]
    return render(
        request,
        "sales/lead_import.html",
        form=form,
        owner_options=[(str(u.id), u.full_name) for u in owners],
        max_rows=lead_import.MAX_ROWS,
        **{"report": None, "done": False, **ctx},
    )


@get(PATH, opt=perm(CRM_LEAD_IMPORT))
async def import_page(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    return await _page(request, db, FormState({"skip_duplicates": "1", "owner": "rules"}))


@post(PATH, opt=perm(CRM_LEAD_IMPORT), request_max_body_size=MAX_BYTES + 1024 * 1024)
async def import_upload(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await request.form()
    values = {k: form.get(k) for k in ("owner", "skip_duplicates") if isinstance(form.get(k), str)}
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ValidationFailed([FieldError("file", "Choose a CSV file.")])
        data = await upload.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise ValidationFailed([FieldError("file", "The file is larger than {n} MB.", {"n": 5})])
        report = await lead_import.import_leads(
            db,
            principal(request),
            data,
            skip_duplicates=values.get("skip_duplicates") == "1",
            owner=str(values.get("owner") or "rules"),
            source_detail=upload.filename[:200],
        )
    except lead_import.ImportRejected as exc:
        await db.rollback()
        return await _page(request, db, FormState(values, exc), status=422, report=exc.report)
    except DomainError as exc:
        await db.rollback()
        return await _page(request, db, FormState(values, exc), status=422)
    flash(request, "success", i18n.ngettext("{count} lead imported.", "{count} leads imported.",
                                            report.created, count=report.created))  # fmt: skip
    return await _page(request, db, FormState(values), report=report, done=True)


ROUTES = [import_page, import_upload]
