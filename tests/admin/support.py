"""Small helpers of the admin portal tests: read the database directly, make records, pick rows
out of a page."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import func, select

from tests.world import TenantWorld


def marker(prefix: str = "m") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


async def one(tenant: TenantWorld, stmt: Any) -> Any:
    from tenants.service import in_tenant

    async with in_tenant(tenant.slug) as (session, _ref):
        return (await session.execute(stmt)).scalar_one_or_none()


async def many(tenant: TenantWorld, stmt: Any) -> list[Any]:
    from tenants.service import in_tenant

    async with in_tenant(tenant.slug) as (session, _ref):
        return list((await session.execute(stmt)).scalars())


async def count(tenant: TenantWorld, model: Any, *where: Any) -> int:
    return int(await one(tenant, select(func.count()).select_from(model).where(*where)))


async def get(tenant: TenantWorld, model: Any, ident: int) -> Any:
    """A detached copy of one row, as the database has it now."""
    return await one(tenant, select(model).where(model.id == ident))


async def make_user(
    tenant: TenantWorld,
    *,
    name: str | None = None,
    roles: tuple[str, ...] = ("employee",),
    team_id: int | None = None,
) -> tuple[int, str]:
    """A new active user with a unique e-mail; returns (id, e-mail)."""
    from app.security.services.users import create_user
    from tenants.service import in_tenant

    tag = marker("u")
    email = f"{tag}@{tenant.slug}.example"
    async with in_tenant(tenant.slug) as (session, _ref):
        user = await create_user(
            session,
            email=email,
            full_name=name or f"User {tag}",
            password="correct horse battery",
            role_keys=list(roles),
            team_id=team_id,
        )
        return user.id, email


async def role_keys(tenant: TenantWorld, user_id: int) -> list[str]:
    from app.security.models import Role, UserRole

    stmt = (
        select(Role.key)
        .join(UserRole, UserRole.role_id == Role.id)
        .where(UserRole.user_id == user_id)
        .order_by(Role.key)
    )
    return await many(tenant, stmt)


async def role_id(tenant: TenantWorld, key: str) -> int:
    from app.security.models import Role

    return int(await one(tenant, select(Role.id).where(Role.key == key)))


async def team_id(tenant: TenantWorld, name: str) -> int:
    from app.security.models import Team

    return int(await one(tenant, select(Team.id).where(Team.name == name)))


def row_with(html: str, text: str) -> str:
    """The table row (``<tr>…</tr>``) of a page that contains ``text``."""
    for row in re.findall(r"<tr\b.*?</tr>", html, flags=re.S):
        if text in row:
            return row
    raise AssertionError(f"no table row contains {text!r}")


def is_fragment(html: str) -> bool:
    """An htmx fragment: no document, no layout (sidebar, top bar)."""
    return "<html" not in html and 'class="sidebar"' not in html and "<body" not in html


def pager_text(html: str) -> str:
    m = re.search(r'<div class="pager">\s*<span>([^<]*)</span>', html)
    assert m, "page has no pager"
    return m.group(1)
