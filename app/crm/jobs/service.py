"""service: periodic tasks (@periodic)."""

from __future__ import annotations
