"""Managing the people of a tenant: profile, roles, team, deactivation (PLAT-3/4)."""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from sqlalchemy import Select, bindparam, delete, func, or_, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel.audit import audited
from app.kernel.errors import Conflict, FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.security.errors import EmailTaken
from app.security.models import Role, Team, User, UserRole
from app.security.passwords import hash_password, password_problems, verify_password
from app.security.principal import Principal
from app.security.roles import BUILTIN_ROLES
from app.security.services.invitations import validate_role_keys
from app.security.validation import clean_email, clean_locale, clean_name

TENANT_ADMIN = "tenant_admin"


def users_query() -> Select[Any]:
    return select(User)


def search_users(stmt: Select[Any], q: str) -> Select[Any]:
    like = f"%{q.lower()}%"
    return stmt.where(or_(func.lower(User.email).like(like), func.lower(User.full_name).like(like)))


# The admin list's status filter (PLAT-5): staff who can sign in, anyone switched off, customers.
USER_STATUSES = ("active", "deactivated", "external")


def with_role(stmt: Select[Any], role_key: str) -> Select[Any]:
    holders = select(UserRole.user_id).join(Role, Role.id == UserRole.role_id).where(Role.key == role_key)
    return stmt.where(User.id.in_(holders))


def with_status(stmt: Select[Any], status: str) -> Select[Any]:
    if status == "active":
        return stmt.where(User.is_active.is_(True), User.is_external.is_(False))
    if status == "deactivated":
        return stmt.where(User.is_active.is_(False))
    if status == "external":
        return stmt.where(User.is_external.is_(True))
    return stmt


def with_active(stmt: Select[Any], active: bool) -> Select[Any]:
    """Users who can (True) or cannot (False) sign in — the API's ``active`` filter (PLAT-9)."""
    return stmt.where(User.is_active.is_(active))


async def active_staff(session: AsyncSession) -> list[User]:
    """People who can manage a team: active and not external, by name."""
    stmt = select(User).where(User.is_active.is_(True), User.is_external.is_(False)).order_by(User.full_name)
    return list((await session.execute(stmt)).scalars())


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(lazy("user"))
    return user


# Built once: constructing and cache-keying this statement on every call cost more CPU than
# running it (bench/README.md, API vs bare); the id is a bound parameter.
_USER_WITH_ROLES = select(
    User,
    select(func.array_agg(aggregate_order_by(Role.key, Role.key)))
    .join(UserRole, UserRole.role_id == Role.id)
    .where(UserRole.user_id == User.id)
    .scalar_subquery(),
).where(User.id == bindparam("user_id"))


async def get_user_with_roles(session: AsyncSession, user_id: int) -> tuple[User, list[str]]:
    """The user and their role keys (sorted) in one statement — the API's hot item read."""
    row = (await session.execute(_USER_WITH_ROLES, {"user_id": user_id})).one_or_none()
    if row is None:
        raise NotFound(lazy("user"))
    return row[0], list(row[1] or [])


async def role_keys_of(session: AsyncSession, user_ids: list[int]) -> dict[int, list[str]]:
    if not user_ids:
        return {}
    rows = await session.execute(
        select(UserRole.user_id, Role.key)
        .join(Role, Role.id == UserRole.role_id)
        .where(UserRole.user_id.in_(user_ids))
        .order_by(Role.key)
    )
    out: dict[int, list[str]] = {uid: [] for uid in user_ids}
    for uid, key in rows:
        out[uid].append(key)
    return out


async def _active_admin_ids(session: AsyncSession) -> set[int]:
    rows = await session.execute(
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .join(Role, Role.id == UserRole.role_id)
        .where(Role.key == TENANT_ADMIN, User.is_active.is_(True))
    )
    return set(rows.scalars())


class LastAdmin(Conflict):
    def __init__(self) -> None:
        super().__init__("last_admin", lazy("A tenant must keep at least one active administrator."))


async def update_user(
    session: AsyncSession,
    actor: Principal,
    user_id: int,
    *,
    full_name: object,
    role_keys: list[str],
    team_id: int | None,
) -> User:
    user = await get_user(session, user_id)
    name, errors = clean_name(full_name)
    roles, role_errors = await validate_role_keys(session, role_keys)
    errors += role_errors
    if team_id is not None and await session.get(Team, team_id) is None:
        errors.append(FieldError("team_id", "Choose an existing team."))
    if errors:
        raise ValidationFailed(errors)
    admins = await _active_admin_ids(session)
    if user.id in admins and TENANT_ADMIN not in roles and admins == {user.id}:
        raise LastAdmin()
    current = await role_keys_of(session, [user.id])
    async with audited(session, "user.updated"):
        user.full_name = name
        user.team_id = team_id
        # A customer contact made staff (or the reverse) changes portal and record rules with it.
        user.is_external = any(k in BUILTIN_ROLES and BUILTIN_ROLES[k].external for k in roles)
        if sorted(current[user.id]) != sorted(roles):
            await session.execute(delete(UserRole).where(UserRole.user_id == user.id))
            session.add_all([UserRole(user_id=user.id, role_id=r.id) for r in roles.values()])
            # Permissions are re-read on every request, so sessions need not end for this.
    return user


async def set_active(session: AsyncSession, actor: Principal, user_id: int, active: bool) -> User:
    user = await get_user(session, user_id)
    if not active:
        if actor.kind == "user" and actor.id == user.id:
            raise Conflict("cannot_deactivate_self", "You cannot deactivate your own account.")
        if (await _active_admin_ids(session)) == {user.id}:
            raise LastAdmin()
    if user.is_active != active:
        async with audited(session, "user.activated" if active else "user.deactivated"):
            user.is_active = active
            user.session_epoch += 1  # a deactivated user's sessions end at once
    return user


async def set_own_locale(session: AsyncSession, principal: Principal, locale: str) -> None:
    user = await session.get(User, principal.id)
    if user is not None and user.locale != locale:
        async with audited(session, "user.locale_changed"):
            user.locale = locale


async def update_profile(
    session: AsyncSession, principal: Principal, *, full_name: object, locale: object, timezone: object
) -> User:
    user = await get_user(session, principal.id)
    name, errors = clean_name(full_name)
    loc, loc_errors = clean_locale(locale)
    errors += loc_errors
    tz = str(timezone or "")
    if tz and tz not in available_timezones():
        errors.append(FieldError("timezone", "Choose a valid time zone."))
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "user.profile_updated"):
        user.full_name, user.locale, user.timezone = name, loc, tz or None
    return user


async def change_password(
    session: AsyncSession, principal: Principal, *, current: str, new: str, confirm: str
) -> User:
    user = await get_user(session, principal.id)
    errors: list[FieldError] = []
    if user.password_hash and not verify_password(user.password_hash, current):
        errors.append(FieldError("current", "The current password is not correct."))
    errors += password_problems(new, "new")
    if new != confirm:
        errors.append(FieldError("confirm", "The two passwords do not match."))
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "user.password_changed"):
        user.password_hash = hash_password(new)
    return user


async def create_user(
    session: AsyncSession,
    *,
    email: object,
    full_name: object,
    password: str,
    role_keys: list[str],
    team_id: int | None = None,
) -> User:
    """Create an active user directly (operators' CLI and demo data; people use invitations)."""
    clean, errors = clean_email(email)
    name, name_errors = clean_name(full_name)
    roles, role_errors = await validate_role_keys(session, role_keys)
    errors += name_errors + role_errors + password_problems(password)
    if errors:
        raise ValidationFailed(errors)
    if await session.scalar(select(User.id).where(func.lower(User.email) == clean)) is not None:
        raise EmailTaken(clean)
    async with audited(session, "user.created"):
        user = User(
            email=clean,
            full_name=name,
            password_hash=hash_password(password),
            team_id=team_id,
            is_external=any(k in BUILTIN_ROLES and BUILTIN_ROLES[k].external for k in roles),
        )
        session.add(user)
        await session.flush()
        session.add_all([UserRole(user_id=user.id, role_id=r.id) for r in roles.values()])
    return user
