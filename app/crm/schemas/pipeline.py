"""API representations and request bodies: pipeline."""

from __future__ import annotations
