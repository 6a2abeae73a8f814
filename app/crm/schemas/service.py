"""API representations and request bodies: service."""

from __future__ import annotations
