"""API representations and request bodies: sales."""

from __future__ import annotations
