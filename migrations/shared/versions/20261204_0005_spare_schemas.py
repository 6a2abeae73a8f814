"""spare tenant schemas kept ready for fast sign-up (tenants/spares.py)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 21:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "spare_schemas",
        sa.Column("schema_name", sa.String(length=63), nullable=False),
        sa.Column("revision", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("schema_name", name=op.f("pk_spare_schemas")),
        schema="public",
    )


def downgrade() -> None:
    op.drop_table("spare_schemas", schema="public")
