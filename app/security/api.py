"""JSON API of identity and administration under /api/v1 (PLAT-9)."""

from __future__ import annotations

ROUTES: list[object] = []
