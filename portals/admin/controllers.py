"""The tenant admin portal (PLAT-5): users, invitations, roles, teams, SSO, API clients, audit, settings.

One module per concept, each with its own ``ROUTES``; this module is the portal's single entry
(``app/main.py`` registers ``ROUTES``).
"""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from portals.admin import api_clients, audit, invitations, roles, settings, sso, teams, users

ROUTES: list[HTTPRouteHandler] = [
    *users.ROUTES,
    *invitations.ROUTES,
    *roles.ROUTES,
    *teams.ROUTES,
    *sso.ROUTES,
    *api_clients.ROUTES,
    *audit.ROUTES,
    *settings.ROUTES,
]
