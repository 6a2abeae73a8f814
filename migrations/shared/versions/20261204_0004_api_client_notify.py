"""revoking an API client notifies every web process (their token caches)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 21:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # app/security/api_tokens.py caches resolved bearer tokens per process; the registry listener
    # empties that cache on this channel. Only revocation and deletion matter: the token endpoint's
    # last_used_at bookkeeping must not flush every process's cache on each token issued.
    op.execute(
        "CREATE TRIGGER api_clients_registry_notify AFTER UPDATE OF revoked_at OR DELETE ON public.api_clients "
        "FOR EACH STATEMENT EXECUTE FUNCTION public.tessera_registry_notify()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS api_clients_registry_notify ON public.api_clients")
