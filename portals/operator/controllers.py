"""The platform operator console (PLAT-1, PLAT-2, PLAT-12) on the bare base domain, separate
from tenant users: sign-in, tenants and their lifecycle, custom domains, the migrate-all report.

Split by concept: ``auth``, ``tenant_pages``, ``domain_pages``, ``migration_pages``; reads in
``queries``. Every route is ``perm(OPERATOR, host="platform")`` (``web.CONSOLE``) except the
sign-in pages.
"""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from portals.operator.auth import ROUTES as AUTH_ROUTES
from portals.operator.domain_pages import ROUTES as DOMAIN_ROUTES
from portals.operator.migration_pages import ROUTES as MIGRATION_ROUTES
from portals.operator.tenant_pages import ROUTES as TENANT_ROUTES

ROUTES: list[HTTPRouteHandler] = [*AUTH_ROUTES, *TENANT_ROUTES, *DOMAIN_ROUTES, *MIGRATION_ROUTES]
