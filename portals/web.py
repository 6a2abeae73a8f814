"""What every portal page shares: rendering with the layout context, flashes, redirects, forms.

Controllers stay thin: parse the form, call a service, then either redirect with a flash or
re-render the form with the service's field errors (status 422, nothing written).

    @post("/admin/teams", opt=perm(ADMIN_TEAMS_MANAGE))
    async def create_team(request: Request, db: AsyncSession) -> Response:
        form = await form_data(request)
        try:
            await teams.create_team(db, principal(request), name=form.get("name", ""))
        except ValidationFailed as exc:
            return render(request, "admin/team_form.html", form=FormState(form, exc), status=422)
        flash(request, "success", _("Team created."))
        return redirect("/admin/teams")
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from litestar import Request, Response
from litestar.response import Redirect, Template

from app.kernel import context, i18n
from app.kernel.errors import DomainError, FieldError, ValidationFailed
from app.kernel.web import is_htmx
from app.security.principal import Principal
from app.security.sessions import SessionData
from app.security.web import csrf_token
from portals.nav import build_nav


def perm(permission: str, **extra: Any) -> dict[str, Any]:
    """Route options: the permission a route needs (and anything else, e.g. ``host``)."""
    return {"permission": permission, **extra}


def principal(request: Request[Any, Any, Any]) -> Principal:
    p: Principal | None = request.scope["state"].get("principal")
    if p is None:  # the guard guarantees it on non-public routes
        raise RuntimeError("no principal on a guarded route")
    return p


def session(request: Request[Any, Any, Any]) -> SessionData:
    return cast(SessionData, request.scope["state"]["session"])


def flash(request: Request[Any, Any, Any], level: str, message: str) -> None:
    """Queue a message for the next page (levels: success, info, warning, error)."""
    session(request).flash(level, message)


def redirect(path: str, request: Request[Any, Any, Any] | None = None) -> Response[Any]:
    if request is not None and is_htmx(request.scope):
        return Response(content="", status_code=200, headers={"HX-Redirect": path})
    return Redirect(path=path, status_code=303)


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site relative paths may be redirect targets (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


async def form_data(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The submitted form as a dict; repeated fields (checkbox groups) become lists."""
    form = await request.form()
    out: dict[str, Any] = {}
    for key in form:
        values = form.getall(key)
        out[key] = values if len(values) > 1 or key.endswith("[]") else values[0]
    return out


@dataclass
class FormState:
    """The values a user typed and the errors to show beside each field."""

    values: Mapping[str, Any] = field(default_factory=dict)
    error: DomainError | None = None

    @property
    def errors(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        fields: list[FieldError] = self.error.errors if self.error else []
        for e in fields:
            out.setdefault(e.field, []).append(i18n.gettext(e.message, **e.params))
        return out

    @property
    def message(self) -> str | None:
        if self.error is None:
            return None
        if isinstance(self.error, ValidationFailed):
            return i18n.gettext("Please correct the highlighted fields.")
        return i18n.gettext(self.error.message, **self.error.params)

    def value(self, name: str, default: Any = "") -> Any:
        v = self.values.get(name, default)
        return default if v is None else v

    def field_errors(self, name: str) -> list[str]:
        return self.errors.get(name, [])


def render(request: Request[Any, Any, Any], template: str, *, status: int = 200, **ctx: Any) -> Template:
    state = request.scope["state"]
    p: Principal | None = state.get("principal")
    sess: SessionData | None = state.get("session")
    base = {
        "request": request,
        "principal": p,
        "tenant": context.current_tenant(),
        "operator": state.get("operator"),
        "nav": build_nav(p, request.url.path) if p else [],
        # Fragments (templates named _*.html) leave queued messages for the next full page.
        "flashes": sess.pop_flashes() if sess and not template.rsplit("/", 1)[-1].startswith("_") else [],
        "csrf_token": csrf_token(request.scope) if sess else "",
        "locale": i18n.get_locale(),
        "current_path": request.url.path,
        "is_htmx": is_htmx(request.scope),
        "form": ctx.pop("form", None) or FormState(),
        # /branding/logo answers the tenant's logo or redirects to the default: no query per page.
        "tenant_has_logo": state.get("tenant") is not None,
    }
    return Template(template_name=template, context={**base, **ctx}, status_code=status)
