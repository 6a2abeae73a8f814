"""Backup and restore of one tenant (PLAT-12): a tar.gz with a manifest and COPY data, restored in
one transaction at the archive's revision and brought to head."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from app.kernel.db import get_database
from tests.helpers import browser, login
from tests.tenants.support import (
    PENDING_REVISION,
    column_exists,
    discard_tenant,
    registry_row,
    rows,
    schema_exists,
    schema_of,
    table_counts,
    unique_slug,
)
from tests.world import PASSWORD


async def _seed(slug: str) -> None:
    """Data in several tables: users with roles and a team, an API client, a custom domain."""
    from app.security.services.teams import create_team
    from app.security.services.users import create_user
    from tenants.domains import add_domain, mark_verified
    from tenants.service import create_api_client, get_tenant, in_tenant

    async with in_tenant(slug) as (session, _ref):
        team = await create_team(session, name="East 东区", manager_id=None)
        for who, role in (("alice", "sales_rep"), ("bob", "accountant")):
            await create_user(
                session,
                email=f"{who}@{slug}.example",
                full_name=f"{who.title()} 测试",
                password=PASSWORD,
                role_keys=[role],
                team_id=team.id,
            )
    await create_api_client(slug, name="ERP sync", scopes=["admin.audit.read"])
    async with get_database().shared_session() as s:
        tenant = await get_tenant(s, slug)
        domain = await add_domain(s, tenant, f"crm.{slug}.example.com")
        await mark_verified(s, tenant, domain.id)
        await s.commit()


async def test_export_then_restore_as_a_new_slug_copies_every_row(app, make_tenant, tmp_path):
    from tenants.export import archive_manifest, export_tenant, restore_tenant

    src = await make_tenant("exp")
    await _seed(src.slug)
    archive = await export_tenant(src.slug, tmp_path / "src.tar.gz")

    manifest = archive_manifest(archive)
    before = await table_counts(src.schema)
    assert manifest["slug"] == src.slug
    assert manifest["format_version"] == 1
    assert manifest["row_counts"] == before
    assert {t["name"] for t in manifest["tables"]} == set(before)
    assert {s["name"]: s["rows"] for s in manifest["shared"]} == {"api_clients": 1, "tenant_domains": 1}
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == sorted(
            ["manifest.json"]
            + [f"tenant/{t}.copy" for t in before]
            + ["shared/api_clients.copy", "shared/tenant_domains.copy"]
        )

    copy_slug = unique_slug("copy")
    try:
        restored = await restore_tenant(archive, copy_slug)
        copy_schema = schema_of(copy_slug)
        assert restored.slug == copy_slug
        assert await table_counts(copy_schema) == before
        users_sql = 'SELECT id, email, full_name, password_hash, team_id FROM "{s}".users ORDER BY id'
        assert await rows(users_sql.format(s=copy_schema)) == await rows(users_sql.format(s=src.schema))
        roles_sql = 'SELECT user_id, role_id FROM "{s}".user_roles ORDER BY 1, 2'
        assert await rows(roles_sql.format(s=copy_schema)) == await rows(roles_sql.format(s=src.schema))
        # the original keeps its API client and domain: a copy never shares credentials or host names
        assert restored.shared_restored == {"api_clients": 0, "tenant_domains": 0}
        assert restored.shared_skipped == {"api_clients": 1, "tenant_domains": 1}
        registry = await rows(
            "SELECT name, status, edition, locale, timezone, currency, schema_revision "
            "FROM public.tenants WHERE slug IN (:a, :b) ORDER BY slug = :a",
            a=src.slug,
            b=copy_slug,
        )
        assert registry[0] == registry[1]
        assert registry[0][1] == "active"

        # identity sequences continue after the copied rows
        from app.security.services.users import create_user
        from tenants.service import in_tenant

        async with in_tenant(copy_slug) as (session, _ref):
            new = await create_user(
                session,
                email=f"new@{copy_slug}.example",
                full_name="New",
                password=PASSWORD,
                role_keys=["employee"],
            )
        top = await rows(f'SELECT max(id) FROM "{src.schema}".users')
        assert new.id == top[0][0] + 1

        async with browser(app, f"{copy_slug}.tessera.test") as b:
            await login(b, f"alice@{src.slug}.example")
            home = await b.get("/")
            assert home.status_code == 200
            assert f"alice@{src.slug}.example" in home.text
    finally:
        await discard_tenant(copy_slug)


async def test_restore_after_purge_brings_back_the_same_tenant_with_its_api_client_and_domain(
    app, make_tenant, tmp_path
):
    from tenants.export import export_tenant, restore_tenant
    from tenants.service import delete_tenant, purge_tenant

    src = await make_tenant("dr")
    await _seed(src.slug)
    clients_sql = "SELECT client_id, secret_hash, name, scopes FROM public.api_clients WHERE tenant_id = {t}"
    domains_sql = (
        "SELECT domain, verification_token, verified_at FROM public.tenant_domains WHERE tenant_id = {t}"
    )
    clients, domains = await rows(clients_sql.format(t=src.id)), await rows(domains_sql.format(t=src.id))
    counts = await table_counts(src.schema)
    archive = await export_tenant(src.slug, tmp_path / "dr.tar.gz")
    await delete_tenant(src.slug)
    await purge_tenant(src.slug, force=True)

    restored = await restore_tenant(archive)

    assert restored.slug == src.slug
    assert restored.tenant_id != src.id
    assert restored.shared_restored == {"api_clients": 1, "tenant_domains": 1}
    assert restored.shared_skipped == {"api_clients": 0, "tenant_domains": 0}
    assert await table_counts(src.schema) == counts
    assert await rows(clients_sql.format(t=restored.tenant_id)) == clients
    assert await rows(domains_sql.format(t=restored.tenant_id)) == domains
    async with browser(app, f"crm.{src.slug}.example.com") as b:  # the verified domain routes again
        await login(b, f"bob@{src.slug}.example")
        assert (await b.get("/")).status_code == 200
    audit = await rows(
        "SELECT event, actor_label FROM public.platform_audit_log WHERE entity_type = 'tenants' "
        "AND entity_id IN (:a, :b) AND event IN ('tenant.exported', 'tenant.restored') ORDER BY id",
        a=str(src.id),
        b=str(restored.tenant_id),
    )
    assert audit == [("tenant.exported", "cli"), ("tenant.restored", "restore")]


async def test_restore_refuses_a_revision_this_code_does_not_know_and_creates_nothing(make_tenant, tmp_path):
    from app.kernel.errors import DomainError
    from tenants.export import export_tenant, restore_tenant

    src = await make_tenant("fut")
    archive = await export_tenant(src.slug, tmp_path / "fut.tar.gz")
    future = _rewrite_manifest(archive, tmp_path / "future.tar.gz", schema_revision="t9990")
    slug = unique_slug("fut")

    with pytest.raises(DomainError) as err:
        await restore_tenant(future, slug)

    assert err.value.code == "archive_revision_unknown"
    assert err.value.english == (
        "The archive's schema revision t9990 is unknown to this version of Tessera; "
        "restore it with the release that wrote it (or a later one)."
    )
    assert await rows("SELECT id FROM public.tenants WHERE slug = :s", s=slug) == []
    assert not await schema_exists(schema_of(slug))


async def test_restore_under_a_taken_slug_is_refused(make_tenant, tmp_path):
    from tenants.export import export_tenant, restore_tenant
    from tenants.provisioning import SlugTaken

    src = await make_tenant("dup")
    archive = await export_tenant(src.slug, tmp_path / "dup.tar.gz")
    with pytest.raises(SlugTaken):
        await restore_tenant(archive)
    with pytest.raises(SlugTaken):
        await restore_tenant(archive, "acme")


async def test_a_broken_row_count_rolls_the_whole_restore_back(make_tenant, tmp_path):
    from tenants.export import ArchiveInvalid, export_tenant, restore_tenant

    src = await make_tenant("bad")
    archive = await export_tenant(src.slug, tmp_path / "bad.tar.gz")
    broken = _rewrite_manifest(
        archive,
        tmp_path / "broken.tar.gz",
        tables=lambda ts: [{**t, "rows": t["rows"] + 1} if t["name"] == "users" else t for t in ts],
    )
    slug = unique_slug("bad")
    with pytest.raises(ArchiveInvalid, match="table users: 1 rows, manifest says 2"):
        await restore_tenant(broken, slug)
    assert await rows("SELECT id FROM public.tenants WHERE slug = :s", s=slug) == []
    assert not await schema_exists(schema_of(slug))


async def test_an_archive_of_an_older_revision_is_restored_then_migrated_to_head(
    make_tenant, tmp_path, pending_migration
):
    from tenants.export import export_tenant, restore_tenant

    src = await make_tenant("rel")
    archive = await export_tenant(src.slug, tmp_path / "rel.tar.gz")
    old = pending_migration()  # the next release, one tenant migration ahead
    slug = unique_slug("old")
    try:
        restored = await restore_tenant(archive, slug)

        schema = schema_of(slug)
        assert (restored.from_revision, restored.revision) == (old, PENDING_REVISION)
        assert await rows(f'SELECT version_num FROM "{schema}".alembic_version') == [(PENDING_REVISION,)]
        assert await registry_row(slug) == (restored.tenant_id, "active", PENDING_REVISION)
        assert await column_exists(schema, "teams", "pending_note")
        assert await table_counts(schema) == await table_counts(src.schema)
    finally:
        await discard_tenant(slug)


def _rewrite_manifest(archive: Path, out: Path, **changes: object) -> Path:
    with tarfile.open(archive) as src, tarfile.open(out, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json":
                manifest = json.loads(data)
                for key, value in changes.items():
                    manifest[key] = value(manifest[key]) if callable(value) else value
                data = json.dumps(manifest).encode()
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    return out
