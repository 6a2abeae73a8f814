"""API representations and request bodies: marketing."""

from __future__ import annotations
