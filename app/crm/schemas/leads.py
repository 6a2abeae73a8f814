"""API representations and request bodies: leads."""

from __future__ import annotations
