"""Inviting people into a tenant (PLAT-3): signed, expiring, single-use e-mailed links."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel.audit import audited
from app.kernel.db import utcnow
from app.kernel.errors import Conflict, FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.kernel.outbox import publish
from app.security import tokens
from app.security.errors import EmailTaken, LinkInvalid
from app.security.models import Invitation, Role, Team, User, UserRole
from app.security.passwords import hash_password, password_problems
from app.security.principal import Principal
from app.security.roles import BUILTIN_ROLES
from app.security.validation import clean_email, clean_locale, clean_name

INVITE_TTL = timedelta(days=7)
PURPOSE = "invitation"
INVITATION_CREATED = "security.invitation_created"

# A context that invites people for its own records (the customer portal invites a CRM contact,
# CRM-12) registers a hook to tie the new user to that record in the acceptance's transaction.
AcceptanceHook = Callable[[AsyncSession, Invitation, User], Awaitable[None]]
_ACCEPTANCE_HOOKS: list[AcceptanceHook] = []


def on_invitation_accepted(hook: AcceptanceHook) -> AcceptanceHook:
    """Register ``hook(session, invitation, user)``, run after the user is created (idempotent)."""
    if hook not in _ACCEPTANCE_HOOKS:
        _ACCEPTANCE_HOOKS.append(hook)
    return hook


async def _roles_by_key(session: AsyncSession, keys: list[str]) -> dict[str, Role]:
    rows = await session.execute(select(Role).where(Role.key.in_(keys)))
    return {r.key: r for r in rows.scalars()}


async def validate_role_keys(
    session: AsyncSession, keys: list[str], field: str = "roles"
) -> tuple[dict[str, Role], list[FieldError]]:
    keys = sorted({k for k in keys if k})
    if not keys:
        return {}, [FieldError(field, "Choose at least one role.")]
    roles = await _roles_by_key(session, keys)
    unknown = [k for k in keys if k not in roles]
    if unknown:
        return roles, [FieldError(field, "Unknown role: {keys}.", {"keys": ", ".join(unknown)})]
    external = {k for k in keys if k in BUILTIN_ROLES and BUILTIN_ROLES[k].external}
    if external and len(external) != len(keys):
        return roles, [FieldError(field, "The customer role cannot be combined with staff roles.")]
    return roles, []


async def invite_user(
    session: AsyncSession,
    principal: Principal,
    *,
    email: object,
    full_name: object = "",
    role_keys: list[str],
    team_id: int | None = None,
    locale: object = "en",
) -> Invitation:
    clean, errors = clean_email(email)
    name, name_errors = clean_name(full_name, required=False)
    loc, loc_errors = clean_locale(locale)
    roles, role_errors = await validate_role_keys(session, role_keys)
    errors += name_errors + loc_errors + role_errors
    if team_id is not None and await session.get(Team, team_id) is None:
        errors.append(FieldError("team_id", "Choose an existing team."))
    if errors:
        raise ValidationFailed(errors)
    if await session.scalar(select(User.id).where(func.lower(User.email) == clean)) is not None:
        raise EmailTaken(clean)
    async with audited(session, "user.invited"):
        await session.execute(
            update(Invitation)
            .where(
                func.lower(Invitation.email) == clean,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        )
        invitation = Invitation(
            email=clean,
            full_name=name,
            role_keys=sorted(roles),
            team_id=team_id,
            invited_by_id=principal.id if principal.kind == "user" else None,
            expires_at=utcnow() + INVITE_TTL,
            locale=loc,
        )
        session.add(invitation)
        await session.flush()
        await publish(session, INVITATION_CREATED, {"invitation_id": invitation.id})
    return invitation


# The admin list's status filter (PLAT-5); mirrors ``Invitation.status`` in SQL.
INVITATION_STATUSES = ("pending", "accepted", "expired", "revoked")


def invitations_query() -> Select[Any]:
    return select(Invitation)


def search_invitations(stmt: Select[Any], q: str) -> Select[Any]:
    like = f"%{q.lower()}%"
    return stmt.where(
        or_(func.lower(Invitation.email).like(like), func.lower(Invitation.full_name).like(like))
    )


def with_invitation_status(stmt: Select[Any], status: str) -> Select[Any]:
    open_ = and_(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
    if status == "pending":
        return stmt.where(open_, Invitation.expires_at > utcnow())
    if status == "expired":
        return stmt.where(open_, Invitation.expires_at <= utcnow())
    if status == "accepted":
        return stmt.where(Invitation.accepted_at.is_not(None))
    if status == "revoked":
        return stmt.where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_not(None))
    return stmt


async def get_invitation(session: AsyncSession, invitation_id: int) -> Invitation:
    inv = await session.get(Invitation, invitation_id)
    if inv is None:
        raise NotFound(lazy("invitation"))
    return inv


async def resend_invitation(session: AsyncSession, invitation_id: int) -> Invitation:
    inv = await get_invitation(session, invitation_id)
    if inv.accepted_at or inv.revoked_at:
        raise Conflict("invitation_closed", "This invitation was already accepted or revoked.")
    async with audited(session, "user.invitation_resent"):
        inv.expires_at = utcnow() + INVITE_TTL
        inv.token_hash = None  # the new mail carries a new link; the old one stops working
        await publish(session, INVITATION_CREATED, {"invitation_id": inv.id})
    return inv


async def revoke_invitation(session: AsyncSession, invitation_id: int) -> Invitation:
    inv = await get_invitation(session, invitation_id)
    if inv.accepted_at:
        raise Conflict("invitation_closed", "This invitation was already accepted.")
    if inv.revoked_at is None:
        async with audited(session, "user.invitation_revoked"):
            inv.revoked_at = utcnow()
    return inv


async def issue_invitation_link_token(
    session: AsyncSession, invitation: Invitation, seed: str | None = None
) -> str:
    """Called by the mailing worker: a secret (fixed by ``seed``, the event id, when given) whose
    hash replaces any earlier one."""
    raw, digest = tokens.derived_secret(PURPOSE, f"{invitation.id}:{seed}") if seed else tokens.new_secret()
    invitation.token_hash = digest
    await session.flush()
    return tokens.sign(raw, PURPOSE)


async def check_invitation(session: AsyncSession, signed: str, *, lock: bool = False) -> Invitation:
    try:
        raw = tokens.unsign(signed, PURPOSE, max_age_seconds=int(INVITE_TTL.total_seconds()) + 86400)
    except tokens.TokenInvalid as exc:
        raise LinkInvalid() from exc
    stmt = select(Invitation).where(Invitation.token_hash == tokens.hash_secret(raw))
    inv = (await session.execute(stmt.with_for_update() if lock else stmt)).scalar_one_or_none()
    if inv is None or inv.status != "pending":
        raise LinkInvalid()
    return inv


async def accept_invitation(
    session: AsyncSession, signed: str, *, full_name: str, password: str, confirm: str
) -> User:
    inv = await check_invitation(session, signed, lock=True)
    name, errors = clean_name(full_name)
    errors += password_problems(password)
    if password != confirm:
        errors.append(FieldError("confirm", "The two passwords do not match."))
    if errors:
        raise ValidationFailed(errors)
    if await session.scalar(select(User.id).where(func.lower(User.email) == inv.email.lower())) is not None:
        raise EmailTaken(inv.email)
    roles = await _roles_by_key(session, list(inv.role_keys))
    async with audited(session, "user.invitation_accepted"):
        user = User(
            email=inv.email,
            full_name=name,
            password_hash=hash_password(password),
            locale=inv.locale,
            team_id=inv.team_id,
            is_external=any(BUILTIN_ROLES.get(k) and BUILTIN_ROLES[k].external for k in roles),
            last_login_at=utcnow(),
        )
        session.add(user)
        await session.flush()
        session.add_all([UserRole(user_id=user.id, role_id=r.id) for r in roles.values()])
        inv.accepted_at = utcnow()
        inv.accepted_user_id = user.id
        for hook in _ACCEPTANCE_HOOKS:
            await hook(session, inv, user)
    return user
