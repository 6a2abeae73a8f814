"""Provisioning is one transaction (PLAT-1): a failure half-way leaves no schema and no registry row,
a retry succeeds, and bad or taken slugs are refused with a clear message before anything is made."""

from __future__ import annotations

import pytest

from app.kernel.db import get_database
from app.kernel.errors import ValidationFailed
from tenants import provisioning
from tenants.provisioning import ProvisionRequest, SlugTaken, provision_tenant
from tests.tenants.support import (
    discard_tenant,
    platform_state,
    registry_row,
    schema_exists,
    schema_of,
    unique_slug,
)
from tests.world import PASSWORD


def request(slug: str) -> ProvisionRequest:
    return ProvisionRequest(
        slug=slug, name="Fault Co", admin_email="ada@fault.example", admin_password=PASSWORD
    )


async def test_a_failure_after_the_schema_exists_leaves_nothing_and_a_retry_succeeds(world, monkeypatch):
    slug = unique_slug("half")
    real_seed = provisioning.seed_tenant_security
    seen_schema = []

    async def seed_then_fail(session, **kw):
        seen_schema.append(await schema_exists_in(session, schema_of(slug)))
        await real_seed(session, **kw)
        raise RuntimeError("disk full")

    before = await platform_state()
    monkeypatch.setattr(provisioning, "seed_tenant_security", seed_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        await provision_tenant(get_database().engine, request(slug))

    assert seen_schema == [True]  # the fault really struck half-way, inside the transaction
    assert await platform_state() == before
    assert await registry_row(slug) is None
    assert not await schema_exists(schema_of(slug))

    monkeypatch.setattr(provisioning, "seed_tenant_security", real_seed)
    try:
        done = await provision_tenant(get_database().engine, request(slug))
        assert done.slug == slug
        assert await registry_row(slug) == (done.tenant_id, "active", provisioning.head("tenant"))
        assert await schema_exists(schema_of(slug))
    finally:
        await discard_tenant(slug)


async def schema_exists_in(session, schema: str) -> bool:
    from sqlalchemy import text

    return bool(
        await session.scalar(text("SELECT count(*) FROM pg_namespace WHERE nspname = :n"), {"n": schema})
    )


async def test_a_taken_slug_is_refused_and_nothing_changes(make_tenant):
    tenant = await make_tenant("taken")
    before = await platform_state()

    with pytest.raises(SlugTaken) as err:
        await provision_tenant(get_database().engine, request(tenant.slug))

    assert err.value.code == "tenant_slug_taken"
    assert err.value.english == f"The address {tenant.slug} is already taken."
    assert err.value.status == 409
    assert await platform_state() == before


FORMAT = "Use 3–40 lower-case letters, digits or hyphens, starting with a letter."
RESERVED = "This address is reserved; choose another."


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("Acme", FORMAT),  # upper case
        ("ab", FORMAT),  # too short
        ("a" * 41, FORMAT),  # too long
        ("1acme", FORMAT),  # leading digit
        ("acme-", FORMAT),  # trailing hyphen
        ("ac me", FORMAT),
        ("www", RESERVED),
        ("operator", RESERVED),
        ("ac--me", RESERVED),  # double hyphen (reserved for punycode-like forms)
    ],
)
async def test_invalid_slugs_are_refused_with_a_field_error_and_nothing_is_created(world, slug, message):
    before = await platform_state()

    with pytest.raises(ValidationFailed) as err:
        await provision_tenant(get_database().engine, request(slug))

    assert [(e.field, e.message) for e in err.value.errors] == [("slug", message)]
    assert await platform_state() == before
