"""API representations and request bodies: customers."""

from __future__ import annotations
