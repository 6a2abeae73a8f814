"""Reading the admin portal's forms and htmx requests: small parsers shared by its pages.

They only turn strings into the shapes services take; every rule about the values themselves
(does the team exist, may this role be granted) stays in the service.
"""

from __future__ import annotations

from typing import Any

from app.kernel.i18n import lazy
from app.security.permissions import CATALOGUE, Permission
from portals.forms import NO_STORE, as_list, checked, optional_id, viewer_tz, wants_fragment

__all__ = [
    "CONTEXT_LABELS",
    "NAV_SECTION",
    "NO_STORE",
    "as_list",
    "checked",
    "optional_id",
    "permissions_by_context",
    "viewer_tz",
    "wants_fragment",
]

NAV_SECTION = lazy("Administration")

# The permission catalogue's contexts, in the order the role and API client forms show them.
CONTEXT_LABELS: dict[str, str] = {
    "admin": lazy("Administration"),
    "crm": lazy("Customer relationships"),
    "fin": lazy("Finance"),
    "scm": lazy("Supply chain"),
    "mfg": lazy("Production"),
    "hr": lazy("People"),
    "hos": lazy("Hospital"),
    "customer": lazy("Customer portal"),
}


def permissions_by_context(keep: Any = None) -> list[tuple[str, list[Permission]]]:
    """The catalogue grouped by context in display order; ``keep(permission)`` filters."""
    grouped = CATALOGUE.by_context()
    order = [c for c in CONTEXT_LABELS if c in grouped] + [c for c in grouped if c not in CONTEXT_LABELS]
    out = []
    for ctx in order:
        perms = [p for p in grouped[ctx] if keep is None or keep(p)]
        if perms:
            out.append((ctx, perms))
    return out
