"""The public lead-capture form at /f/<key> (CRM-2): no sign-in, posted from anywhere.

* ``GET /f/<key>`` — the hosted form (embeddable in an iframe); with ``Accept: application/json``
  its fields and a fresh render token instead.
* ``GET /f/<key>/token.js`` — for the plain-HTML snippet on the organisation's own site: fills the
  snippet's ``_ts`` field with a fresh render token.
* ``POST /f/<key>`` — a form post or a JSON body. CSRF-exempt (it comes from other sites; it
  changes nothing that belongs to the visitor), rate-limited, honeypot and render-token checked
  (app/crm/services/webforms.py). Success: the form's redirect URL, else its thank-you message.

These pages are rendered without the portal's session machinery: a visitor gets no cookie.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any
from urllib.parse import urlsplit

from litestar import MediaType, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.crm.models import WebForm
from app.crm.services import webforms
from app.kernel import context, i18n
from app.kernel.errors import DomainError, NotFound, ValidationFailed, problem
from app.kernel.i18n import lazy
from app.kernel.web import DbSession, client_ip, header
from app.security.permissions import PUBLIC
from portals.web import FormState, perm

DEFAULT_THANKS = lazy("Thank you! We have received your message and will be in touch soon.")
PASSED_ON = ("utm_source", "utm_medium", "utm_campaign", "c")  # kept from the page's URL into the post
LABELS = {
    "full_name": lazy("Your name"),
    "email": lazy("E-mail"),
    "phone": lazy("Phone"),
    "company": lazy("Company"),
    "message": lazy("How can we help?"),
}


def _headers(web_form: WebForm | None = None) -> dict[str, str]:
    """Framable by any site (the iframe embed), scripts and styles from here only, and the form may
    post here and be redirected to the form's thank-you page."""
    target = ""
    if web_form is not None and web_form.redirect_url:
        parts = urlsplit(web_form.redirect_url)
        target = f" {parts.scheme}://{parts.netloc}"
    return {
        "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data:; form-action 'self'{target}; frame-ancestors *; base-uri 'none'; "
        "object-src 'none'",
        "Cache-Control": "no-store",
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }


def _page(
    request: Request[Any, Any, Any],
    web_form: WebForm,
    *,
    form: FormState | None = None,
    status: int = 200,
    error: str | None = None,
    thanks: str | None = None,
    extra_headers: dict[str, str] | None = None,
) -> Template:
    tenant = context.current_tenant()
    passed = {
        k: str(request.query_params.get(k) or "")[:100] for k in PASSED_ON if request.query_params.get(k)
    }
    if form is not None:
        passed.update({k: str(v)[:100] for k, v in form.values.items() if k in PASSED_ON and v})
    return Template(
        template_name="marketing/webform_public.html",
        context={
            "web_form": web_form,
            "org": tenant.name if tenant else "",
            "form": form or FormState(),
            "fields": webforms.FIELDS,
            "labels": LABELS,
            "token": webforms.render_token(web_form.key),
            "honeypot": webforms.HONEYPOT,
            "passed": passed,
            "error": error,
            "thanks": thanks,
            "embedded": request.query_params.get("embed") == "1"
            or (form and form.values.get("embed") == "1"),
        },
        status_code=status,
        headers={**_headers(web_form), **(extra_headers or {})},
        media_type=MediaType.HTML,
    )


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    content_type = (header(request.scope, b"content-type") or "").split(";")[0].strip()
    return content_type == "application/json" or "application/json" in (
        header(request.scope, b"accept") or ""
    )


def _problem(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    body = problem(
        exc.status,
        exc.title,
        code=exc.code,
        detail=exc.english,
        instance=request.url.path,
        errors=[{"field": e.field, "message": e.message.format(**e.params)} for e in exc.errors] or None,
    )
    headers = {"Retry-After": str(exc.retry_after)} if hasattr(exc, "retry_after") else {}
    return Response(body, status_code=exc.status, media_type="application/problem+json", headers=headers)


@get("/f/{key:str}", opt=perm(PUBLIC), include_in_schema=False)
async def public_form(request: Request[Any, Any, Any], db: DbSession, key: FromPath[str]) -> Response[Any]:
    web_form = await webforms.public_form(db, key)
    if "application/json" in (header(request.scope, b"accept") or ""):
        body = {
            "name": web_form.name,
            "token": webforms.render_token(web_form.key),
            "token_field": webforms.TOKEN_FIELD,
            "fields": [{"name": n, "max_length": m, "required": r} for n, m, r in webforms.FIELDS],
            "min_seconds": webforms.MIN_SECONDS,
        }
        return Response(body, headers={"Cache-Control": "no-store"})
    return _page(request, web_form)


@get("/f/{key:str}/token.js", opt=perm(PUBLIC), include_in_schema=False)
async def public_form_token(
    request: Request[Any, Any, Any], db: DbSession, key: FromPath[str]
) -> Response[Any]:
    web_form = await webforms.public_form(db, key)
    selector = json.dumps(f'form[data-tessera-form="{web_form.key}"] input[name="{webforms.TOKEN_FIELD}"]')
    script = (
        f"(function(){{var t={json.dumps(webforms.render_token(web_form.key))};"
        f"var f=document.querySelectorAll({selector});"
        "for(var i=0;i<f.length;i++){f[i].value=t;}})();\n"
    )
    return Response(script, media_type="text/javascript", headers={"Cache-Control": "no-store"})


async def _submitted(request: Request[Any, Any, Any]) -> dict[str, Any]:
    if (header(request.scope, b"content-type") or "").split(";")[0].strip() == "application/json":
        try:
            body = json.loads(await request.body())
        except ValueError as exc:
            raise ValidationFailed([], lazy("The request body is not valid JSON.")) from exc
        if not isinstance(body, dict):
            raise ValidationFailed([], lazy("The request body must be a JSON object."))
        return body
    form = await request.form()
    return {k: form.get(k) for k in form if isinstance(form.get(k), str)}


@post("/f/{key:str}", opt=perm(PUBLIC, csrf_exempt=True), include_in_schema=False, status_code=200)
async def submit_form(request: Request[Any, Any, Any], db: DbSession, key: FromPath[str]) -> Response[Any]:
    as_json = _wants_json(request)
    data: dict[str, Any] = {}
    try:
        data = await _submitted(request)
        done = await webforms.submit(db, key, data, ip=client_ip(request.scope))
    except DomainError as exc:
        await db.rollback()
        if as_json:
            return _problem(request, exc)
        if isinstance(exc, NotFound):
            raise
        return await _refused(request, db, key, data, exc)
    thanks = done.form.thank_you_message or i18n.gettext(DEFAULT_THANKS)
    if as_json:
        body = {"status": "received", "message": thanks, "redirect_url": done.form.redirect_url}
        return Response(body, status_code=201, headers={"Cache-Control": "no-store"})
    if done.form.redirect_url:
        return Redirect(done.form.redirect_url, status_code=303, headers=_headers(done.form))
    return _page(request, done.form, thanks=thanks)


async def _refused(
    request: Request[Any, Any, Any], db: Any, key: str, data: dict[str, Any], exc: DomainError
) -> Response[Any]:
    """The form again with what the visitor typed, the problem, and a fresh render token."""
    web_form = await webforms.public_form(db, key)
    state = FormState({k: v for k, v in data.items() if k != webforms.HONEYPOT}, exc)
    extra = {"Retry-After": str(exc.retry_after)} if hasattr(exc, "retry_after") else None
    return _page(request, web_form, form=state, status=exc.status, error=state.message, extra_headers=extra)


def iframe_snippet(origin: str, web_form: WebForm) -> str:
    src = escape(f"{origin}/f/{web_form.key}?embed=1")
    return (
        f'<iframe src="{src}" title="{escape(web_form.name)}" loading="lazy"\n'
        '        style="width:100%;max-width:560px;height:680px;border:0"></iframe>'
    )


def html_snippet(origin: str, web_form: WebForm) -> str:
    """A plain form for the site's own styling; token.js fills in the render token."""
    action = escape(f"{origin}/f/{web_form.key}")
    lines = [f'<form action="{action}" method="post" data-tessera-form="{escape(web_form.key)}">',
             f'  <input type="hidden" name="{webforms.TOKEN_FIELD}" value="">']  # fmt: skip
    for name, max_len, required in webforms.FIELDS:
        label = escape(i18n.gettext(LABELS[name]))
        req = " required" if required else ""
        if name == "message":
            control = f'<textarea name="{name}" maxlength="{max_len}"{req}></textarea>'
        else:
            kind = "email" if name == "email" else ("tel" if name == "phone" else "text")
            control = f'<input type="{kind}" name="{name}" maxlength="{max_len}"{req}>'
        lines.append(f"  <p><label>{label}<br>{control}</label></p>")
    lines += [
        '  <p style="position:absolute;left:-10000px" aria-hidden="true">'
        f'<input name="{webforms.HONEYPOT}" tabindex="-1" autocomplete="off"></p>',
        f'  <p><button type="submit">{escape(i18n.gettext("Send"))}</button></p>',
        "</form>",
        f'<script src="{action}/token.js" async></script>',
    ]
    return "\n".join(lines)


ROUTES = [public_form, public_form_token, submit_form]
