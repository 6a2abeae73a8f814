"""Record factories for the route-table tests (tests/test_routes.py).

Every route with an id in its path declares ``opt={"resource": "<name>"}``; the route-table tests
create such a record in *another* tenant with the factory registered here under that name, and
check that the route answers 404 there (and works in the record's own tenant). A route whose
resource has no factory fails the tests — so a new route cannot skip the isolation check.

A factory receives a tenant session (inside the tenant's context), the tenant and a unique
``marker`` string it must put in a visible text field, and returns the new record's id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

Factory = Callable[[AsyncSession, Any, str], Awaitable[int]]
FACTORIES: dict[str, Factory] = {}


def factory(name: str) -> Callable[[Factory], Factory]:
    def register(fn: Factory) -> Factory:
        FACTORIES[name] = fn
        return fn

    return register


@factory("users")
async def make_user(session: AsyncSession, tenant: Any, marker: str) -> int:
    from app.security.services.users import create_user

    user = await create_user(
        session,
        email=f"{marker}@example.com",
        full_name=f"User {marker}",
        password="correct horse battery",
        role_keys=["employee"],
    )
    return user.id


@factory("invitations")
async def make_invitation(session: AsyncSession, tenant: Any, marker: str) -> int:
    from app.kernel.db import utcnow
    from app.security.models import Invitation

    inv = Invitation(
        email=f"{marker}@invited.example",
        full_name=f"Invitee {marker}",
        role_keys=["employee"],
        expires_at=utcnow().replace(year=utcnow().year + 1),
        locale="en",
    )
    session.add(inv)
    await session.flush()
    return inv.id


@factory("roles")
async def make_role(session: AsyncSession, tenant: Any, marker: str) -> int:
    from app.security.services.roles import create_role

    role = await create_role(session, name=f"Role {marker}", description=marker, grants=["admin.audit.read"])
    await session.flush()
    return role.id


@factory("teams")
async def make_team(session: AsyncSession, tenant: Any, marker: str) -> int:
    from app.security.services.teams import create_team

    team = await create_team(session, name=f"Team {marker}", manager_id=None)
    await session.flush()
    return team.id


@factory("notifications")
async def make_notification(session: AsyncSession, tenant: Any, marker: str) -> int:
    from sqlalchemy import select

    from app.notifications.service import notify
    from app.security.models import User

    admin_id = (await session.execute(select(User.id).order_by(User.id).limit(1))).scalar_one()
    note = await notify(session, admin_id, "system.announcement", title=f"Note {marker}")
    assert note is not None
    return note.id


@factory("api_clients")
async def make_api_client(session: AsyncSession, tenant: Any, marker: str) -> int:
    from app.security.services.api_clients import create_client

    issued = await create_client(session, tenant, None, name=f"Client {marker}", scopes=["admin.audit.read"])
    await session.flush()
    return issued.client.id


@factory("audit_events")
async def make_audit_event(session: AsyncSession, tenant: Any, marker: str) -> int:
    from sqlalchemy import select

    from app.kernel.audit import AuditEntry

    await make_team(session, tenant, marker)  # creating anything writes an audit row
    return (await session.execute(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))).scalar_one()


@factory("tenants")
async def make_tenant_record(session: AsyncSession, tenant: Any, marker: str) -> int:
    """Operator-console routes name a tenant by slug. They are platform routes (OPERATOR), which
    the cross-tenant checks skip; the record is the factory's own tenant registry row."""
    return int(tenant.id)


# CRM's and finance's resources register from their own modules (one per concept).
import tests.crm.factories  # noqa: E402
import tests.finance.factories  # noqa: E402, F401
