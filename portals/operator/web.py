"""What every operator-console page shares: where it lives, who may open it, who is acting."""

from __future__ import annotations

from typing import Any

from litestar import Request

from app.security.permissions import OPERATOR, PUBLIC
from app.security.web import OperatorPrincipal
from portals.web import perm

# The console lives on the bare base domain only (tenants' hosts answer 404 for it) and needs an
# operator session there; app/security/web.py binds one only on the platform host.
CONSOLE = perm(OPERATOR, host="platform")
CONSOLE_PUBLIC = perm(PUBLIC, host="platform")  # the sign-in page itself


def operator(request: Request[Any, Any, Any]) -> OperatorPrincipal:
    op: OperatorPrincipal | None = request.scope["state"].get("operator")
    if op is None:  # the guard guarantees it on CONSOLE routes
        raise RuntimeError("no operator on a console route")
    return op


def tenant_path(slug: str, suffix: str = "") -> str:
    return f"/operator/tenants/{slug}{suffix}"
