"""Tenant-defined roles (PLAT-4): a name and explicit grants; built-in roles are read-only."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel.audit import audited
from app.kernel.errors import Conflict, FieldError, NotFound, ValidationFailed
from app.kernel.i18n import gettext, lazy
from app.security.models import Role, UserRole
from app.security.permissions import CATALOGUE, Scope
from app.security.roles import BUILTIN_ROLES, format_grants
from app.security.validation import clean_name

_KEY_RE = re.compile(r"[^a-z0-9]+")


async def list_roles(session: AsyncSession) -> list[Role]:
    return list((await session.execute(select(Role).order_by(Role.is_builtin.desc(), Role.name))).scalars())


async def member_counts(session: AsyncSession) -> dict[int, int]:
    rows = await session.execute(select(UserRole.role_id, func.count()).group_by(UserRole.role_id))
    return {rid: n for rid, n in rows}


async def get_role(session: AsyncSession, role_id: int) -> Role:
    role = await session.get(Role, role_id)
    if role is None:
        raise NotFound(lazy("role"))
    return role


def parse_grant_entries(entries: list[str]) -> tuple[list[str], list[FieldError]]:
    """Form/API grants: ``["crm.lead.read:team", "admin.audit.read"]``; unknown ones are errors."""
    grants: dict[str, Scope] = {}
    errors: list[FieldError] = []
    for entry in entries:
        key, _, scope = str(entry).partition(":")
        if key not in CATALOGUE:
            errors.append(FieldError("grants", "Unknown permission: {key}.", {"key": key}))
            continue
        if scope and scope not in ("own", "team", "all"):
            errors.append(
                FieldError("grants", "Unknown scope {scope} for {key}.", {"scope": scope, "key": key})
            )
            continue
        grants[key] = Scope(scope) if (scope and CATALOGUE[key].scoped) else Scope.ALL
    return format_grants(grants), errors


def _key_for(name: str) -> str:
    return "custom_" + (_KEY_RE.sub("_", name.lower()).strip("_")[:40] or "role")


async def create_role(session: AsyncSession, *, name: object, description: object, grants: list[str]) -> Role:
    clean, errors = clean_name(name, "name", max_len=120)
    desc, desc_errors = clean_name(description, "description", required=False, max_len=500)
    parsed, grant_errors = parse_grant_entries(grants)
    errors += desc_errors + grant_errors
    if errors:
        raise ValidationFailed(errors)
    key = _key_for(clean)
    if key in BUILTIN_ROLES or await session.scalar(select(Role.id).where(Role.key == key)):
        raise Conflict("role_exists", "A role with this name already exists.")
    async with audited(session, "role.created"):
        role = Role(key=key, name=clean, description=desc, is_builtin=False, grants=parsed)
        session.add(role)
    return role


async def update_role(
    session: AsyncSession, role_id: int, *, name: object, description: object, grants: list[str]
) -> Role:
    role = await get_role(session, role_id)
    if role.is_builtin:
        raise Conflict("role_builtin", "Built-in roles cannot be changed; create your own role instead.")
    clean, errors = clean_name(name, "name", max_len=120)
    desc, desc_errors = clean_name(description, "description", required=False, max_len=500)
    parsed, grant_errors = parse_grant_entries(grants)
    errors += desc_errors + grant_errors
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "role.updated"):
        role.name, role.description, role.grants = clean, desc, parsed
    return role


async def delete_role(session: AsyncSession, role_id: int) -> None:
    role = await get_role(session, role_id)
    if role.is_builtin:
        raise Conflict("role_builtin", "Built-in roles cannot be deleted.")
    if await session.scalar(select(func.count()).select_from(UserRole).where(UserRole.role_id == role.id)):
        raise Conflict("role_in_use", "This role is still assigned to users; remove it from them first.")
    async with audited(session, "role.deleted"):
        await session.delete(role)


async def role_names(session: AsyncSession, keys: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Display names for role keys: built-in names translated, tenant-defined names as typed."""
    rows = await session.execute(select(Role.key, Role.name, Role.is_builtin).where(Role.key.in_(list(keys))))
    found = {key: (gettext(name) if builtin else name) for key, name, builtin in rows}
    return {k: found.get(k, k) for k in keys}
