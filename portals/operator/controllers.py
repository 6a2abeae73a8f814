"""The platform operator console (PLAT-3/PLAT-1), on the bare base domain, separate from tenant users."""

from __future__ import annotations

ROUTES: list[object] = []
