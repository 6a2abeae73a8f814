"""Fixtures of the admin portal tests.

``initech`` is a tenant of its own for tests that change tenant-wide state (organisation
settings, logo, single sign-on, the last administrator): acme and globex stay as every other
test expects them.
"""

from __future__ import annotations

import pytest

from tests.world import PASSWORD, PERSONAS, TenantWorld


@pytest.fixture(scope="session")
async def initech(world: dict[str, TenantWorld]) -> TenantWorld:
    from app.kernel.db import get_database
    from app.security.services.users import create_user
    from tenants.provisioning import ProvisionRequest, provision_tenant
    from tenants.service import in_tenant

    result = await provision_tenant(
        get_database().engine,
        ProvisionRequest(
            slug="initech",
            name="Initech Ltd",
            admin_email="ada@initech.example",
            admin_password=PASSWORD,
            admin_name="Ada Admin",
            timezone="Europe/London",
            currency="GBP",
        ),
    )
    users = {"ada": result.admin_user_id}
    async with in_tenant("initech") as (session, _ref):
        for p in PERSONAS[1:]:
            u = await create_user(
                session,
                email=p.email.format(slug="initech"),
                full_name=p.name,
                password=PASSWORD,
                role_keys=list(p.roles),
            )
            users[p.key] = u.id
    return TenantWorld(slug="initech", id=result.tenant_id, schema=result.schema, users=users)
