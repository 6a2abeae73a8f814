"""sales: outbox event handlers."""

from __future__ import annotations
