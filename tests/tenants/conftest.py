"""Fixtures of the platform tests: throw-away tenants (never the shared acme/globex) and a copy of
the tenant migration history with one extra, pending migration."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from tests.tenants.support import PENDING_REVISION, discard_tenant, unique_slug
from tests.world import PASSWORD, TenantWorld

ROOT = Path(__file__).resolve().parents[2]
PENDING_MIGRATION = '''"""pending column (test only)

Revision ID: {revision}
Revises: {down}
"""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("teams", sa.Column("pending_note", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("teams", "pending_note")
'''

MakeTenant = Callable[..., Awaitable[TenantWorld]]


@pytest.fixture
async def make_tenant(world) -> AsyncIterator[MakeTenant]:
    """Provision tenants for one test; they are purged afterwards (no trace for /ready or others)."""
    from app.kernel.db import get_database
    from tenants.provisioning import ProvisionRequest, provision_tenant

    created: list[str] = []

    async def _make(prefix: str = "t", *, slug: str | None = None, **kw: object) -> TenantWorld:
        slug = slug or unique_slug(prefix)
        req = ProvisionRequest(
            slug=slug,
            name=kw.pop("name", f"{prefix.title()} Co"),  # type: ignore[arg-type]
            admin_email=f"ada@{slug}.example",
            admin_password=PASSWORD,
            admin_name="Ada Admin",
            **kw,
        )  # type: ignore[arg-type]
        result = await provision_tenant(get_database().engine, req)
        created.append(slug)
        return TenantWorld(
            slug=slug, id=result.tenant_id, schema=result.schema, users={"ada": result.admin_user_id}
        )

    yield _make
    for slug in created:
        await discard_tenant(slug)


def _clear_migration_caches() -> None:
    from tenants import migrations

    migrations._script.cache_clear()
    migrations.tenant_ddl_script.cache_clear()


@pytest.fixture
def pending_migration(tmp_path: Path) -> Iterator[Callable[[], str]]:
    """A switch to the tenant track plus one additive migration, as the next release would ship it.

    Tenants made before calling it sit at today's head; after it they are one migration behind.
    It returns today's head. The default track is back after the test.
    """
    import os

    from tenants.migrations import head

    base = head("tenant")
    track = tmp_path / "tenant"
    shutil.copytree(ROOT / "migrations" / "tenant", track, ignore=shutil.ignore_patterns("__pycache__"))
    (track / "versions" / f"29991231_{PENDING_REVISION}_pending_column.py").write_text(
        PENDING_MIGRATION.format(revision=PENDING_REVISION, down=base)
    )

    def switch() -> str:
        os.environ["TESSERA_TENANT_SCRIPT_LOCATION"] = str(track)
        _clear_migration_caches()
        assert head("tenant") == PENDING_REVISION
        return base

    try:
        yield switch
    finally:
        os.environ.pop("TESSERA_TENANT_SCRIPT_LOCATION", None)
        _clear_migration_caches()


@pytest.fixture
async def operator_email(world) -> str:
    """A fresh platform operator (as `tessera operators create` makes one)."""
    from tenants.operators import create_operator

    email = f"ops-{unique_slug('x')[2:]}@tessera.example"
    await create_operator(email=email, full_name="Olga Operator", password=PASSWORD)
    return email
