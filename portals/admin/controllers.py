"""The tenant admin portal (PLAT-5): users, invitations, roles, teams, SSO, API clients, audit, settings."""

from __future__ import annotations

ROUTES: list[object] = []
