"""Navigation built from the user's permissions (PLAT-5): a portal registers its entries once;
each user sees only the entries whose permission they hold."""

from __future__ import annotations

from dataclasses import dataclass

from app.kernel import i18n
from app.kernel.i18n import lazy
from app.security.permissions import AUTHENTICATED
from app.security.principal import Principal


@dataclass(frozen=True)
class NavItem:
    section: str  # English msgid of the group heading
    label: str  # English msgid
    href: str
    permission: str
    icon: str = "dot"
    order: int = 100
    staff_only: bool = True
    exact: bool = False  # active on its own path only (a portal's start page above its sub-pages)


@dataclass(frozen=True)
class NavEntry:
    label: str
    href: str
    icon: str
    active: bool


@dataclass(frozen=True)
class NavSection:
    title: str
    items: list[NavEntry]


_ITEMS: list[NavItem] = []
SECTION_ORDER = [
    lazy("Workspace"),
    lazy("Customers"),
    lazy("Sales"),
    lazy("Marketing"),
    lazy("Service"),
    lazy("Finance"),
    lazy("Supply chain"),
    lazy("Production"),
    lazy("People"),
    lazy("Hospital"),
    lazy("Customer portal"),
    lazy("Administration"),
]


def register(*items: NavItem) -> None:
    for item in items:
        if item not in _ITEMS:
            _ITEMS.append(item)


def build_nav(principal: Principal, path: str) -> list[NavSection]:
    sections: dict[str, list[tuple[int, NavEntry]]] = {}
    for item in _ITEMS:
        if item.staff_only and principal.is_external:
            continue
        if item.permission != AUTHENTICATED and not principal.can(item.permission):
            continue
        nested = not item.exact and item.href != "/" and path.startswith(item.href + "/")
        active = path == item.href or nested
        entry = NavEntry(i18n.gettext(item.label), item.href, item.icon, active)
        sections.setdefault(item.section, []).append((item.order, entry))
    ordered = sorted(sections, key=lambda s: SECTION_ORDER.index(s) if s in SECTION_ORDER else 99)
    return [
        NavSection(i18n.gettext(s), [e for _, e in sorted(sections[s], key=lambda x: x[0])]) for s in ordered
    ]
