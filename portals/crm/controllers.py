"""Customer master pages (CRM-1): the portal's single entry.

One module per concept, each with its ``ROUTES``.
"""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from portals.crm import accounts, activities, contacts, imports, search

ROUTES: list[HTTPRouteHandler] = [
    *accounts.ROUTES,
    *contacts.ROUTES,
    *activities.ROUTES,
    *search.ROUTES,
    *imports.ROUTES,
]
