"""registry changes notify every web process

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 19:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # tenants/routing.py caches host → tenant per process and LISTENs on this channel to drop the
    # cache when the registry changes (suspend, resume, delete, rename, domains). One NOTIFY per
    # statement, delivered at commit.
    op.execute(
        """
        CREATE FUNCTION public.tessera_registry_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('tessera_registry', '');
            RETURN NULL;
        END $$
        """
    )
    for table in ("tenants", "tenant_domains"):
        op.execute(
            f"CREATE TRIGGER {table}_registry_notify AFTER INSERT OR UPDATE OR DELETE ON public.{table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION public.tessera_registry_notify()"
        )


def downgrade() -> None:
    for table in ("tenants", "tenant_domains"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_registry_notify ON public.{table}")
    op.execute("DROP FUNCTION IF EXISTS public.tessera_registry_notify()")
