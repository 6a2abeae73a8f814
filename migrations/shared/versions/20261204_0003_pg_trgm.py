"""pg_trgm for similarity search (CRM duplicate detection, substring search of Chinese names)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # In public, once per database: tenant schemas qualify its operator classes and functions
    # (public.gin_trgm_ops, public.similarity). A trusted extension since PostgreSQL 13, so the
    # database owner may create it without superuser rights.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")


def downgrade() -> None:
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")
