"""Single sign-on routes (/sso/login, /sso/callback) — see app/security/oidc.py."""

from __future__ import annotations

ROUTES: list[object] = []
