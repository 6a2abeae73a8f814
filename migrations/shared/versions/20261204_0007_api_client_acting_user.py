"""an API client may act for one user of its tenant (record rules through the API)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 23:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("api_clients", sa.Column("acting_user_id", sa.BigInteger(), nullable=True), schema="public")


def downgrade() -> None:
    op.drop_column("api_clients", "acting_user_id", schema="public")
