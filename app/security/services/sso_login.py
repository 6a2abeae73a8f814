"""Signing a person in with the tenant's OpenID Connect provider (PLAT-3): which user a verified
identity is, linking or provisioning them, and the refusals.

Matching, in order:

1. ``users.sso_subject`` = the ID token's ``sub`` — the durable link; it survives an e-mail change
   at the provider. Links are only made while an issuer is configured and are cleared when the
   issuer changes (``services/sso.py``), since ``sub`` is unique per issuer only.
2. Otherwise the e-mail address, case-insensitively, but only when the provider says it verified
   the address (``email_verified`` true — a missing claim counts as unverified: matching on an
   unverified address would let anyone who can type a colleague's address into their IdP profile
   take over the colleague's account) and, when ``allowed_domains`` is set, its domain is listed.
   The user is then linked to ``sub``. (``allowed_domains`` governs this matching and provisioning;
   a link once made keeps working when the address later changes at the provider.)
3. Otherwise, with ``auto_provision`` on, a new active staff user with ``default_role_key``.

Deactivated users and external (customer) users are refused: SSO is the staff's way in.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel import context
from app.kernel.audit import audited
from app.kernel.context import Actor, TenantRef
from app.kernel.db import utcnow
from app.kernel.errors import DomainError
from app.kernel.i18n import lazy
from app.security.models import SsoSettings, User, UserRole
from app.security.oidc import Identity, SsoClient
from app.security.roles import BUILTIN_ROLES
from app.security.services.invitations import validate_role_keys
from app.security.services.sso import client_secret, get_settings_row
from app.security.validation import clean_name
from app.settings import get_settings

CALLBACK_PATH = "/sso/callback"


class SsoRefused(DomainError):
    """The provider signed the person in, but this tenant does not let them in."""

    status = 403
    title = lazy("Single sign-on refused")


def _refused(code: str, message: str, **params: str) -> SsoRefused:
    return SsoRefused(code, message, params=params)


def sso_disabled(tenant: TenantRef) -> SsoRefused:
    return _refused("sso_disabled", "Single sign-on is not enabled for {tenant}.", tenant=tenant.name)


async def load_sso(session: AsyncSession, tenant: TenantRef) -> tuple[SsoSettings, SsoClient]:
    """The tenant's enabled settings and its client registration; refused when SSO is off."""
    row = await get_settings_row(session)
    if row is None or not row.enabled:
        raise sso_disabled(tenant)
    scopes = row.scopes.split()
    client = SsoClient(
        issuer=row.issuer,
        client_id=row.client_id,
        client_secret=client_secret(row),
        scopes=" ".join(scopes if "openid" in scopes else ["openid", *scopes]),
        redirect_uri=get_settings().tenant_origin(tenant.slug) + CALLBACK_PATH,
    )
    return row, client


async def sign_in_with_sso(
    session: AsyncSession, settings: SsoSettings, identity: Identity, tenant: TenantRef
) -> User:
    """The user ``identity`` is in this tenant, signed in (``last_login_at``, audit event)."""
    user = await session.scalar(select(User).where(User.sso_subject == identity.subject))
    if user is None:
        user = await _match_by_email(session, settings, identity, tenant)
    else:
        _check_may_sign_in(user, tenant)
    with context.bound(actor=Actor(kind="user", id=user.id, label=user.email)):
        async with audited(session, "user.signed_in_sso"):
            user.last_login_at = utcnow()
    return user


def _check_may_sign_in(user: User, tenant: TenantRef) -> None:
    if not user.is_active:
        raise _refused(
            "sso_account_deactivated",
            "Your account in {tenant} is deactivated. Ask your administrator if you need access again.",
            tenant=tenant.name,
        )
    if user.is_external:
        raise _refused(
            "sso_staff_only",
            "Single sign-on is for the staff of {tenant}. Please sign in with your e-mail address and "
            "password.",
            tenant=tenant.name,
        )


def _usable_email(settings: SsoSettings, identity: Identity, tenant: TenantRef) -> str:
    email = identity.email
    if email is None or "@" not in email:
        raise _refused(
            "sso_no_email",
            "Your identity provider did not tell us your e-mail address, so we cannot find your account "
            "in {tenant}. Ask your administrator for help.",
            tenant=tenant.name,
        )
    if not identity.email_verified:
        raise _refused(
            "sso_email_unverified",
            "Your identity provider has not confirmed that {email} is your address, so we cannot match "
            "it to an account in {tenant}. Ask your administrator for help.",
            email=email,
            tenant=tenant.name,
        )
    domain = email.rsplit("@", 1)[1]
    if settings.allowed_domains and domain not in settings.allowed_domains:
        raise _refused(
            "sso_domain_not_allowed",
            "Addresses at {domain} may not sign in to {tenant} with single sign-on.",
            domain=domain,
            tenant=tenant.name,
        )
    return email


async def _match_by_email(
    session: AsyncSession, settings: SsoSettings, identity: Identity, tenant: TenantRef
) -> User:
    email = _usable_email(settings, identity, tenant)
    user = await session.scalar(select(User).where(func.lower(User.email) == email))
    if user is None:
        if not settings.auto_provision:
            raise _refused(
                "sso_no_account",
                "There is no account for {email} in {tenant}. Ask your administrator for an invitation.",
                email=email,
                tenant=tenant.name,
            )
        return await _provision(session, settings, identity, email, tenant)
    _check_may_sign_in(user, tenant)
    if user.sso_subject is not None:  # linked to another identity at the provider: never re-link silently
        raise _refused(
            "sso_already_linked",
            "The account for {email} in {tenant} is linked to another identity at your provider. "
            "Ask your administrator for help.",
            email=email,
            tenant=tenant.name,
        )
    async with audited(session, "user.sso_linked"):
        user.sso_subject = identity.subject
    return user


async def _provision(
    session: AsyncSession, settings: SsoSettings, identity: Identity, email: str, tenant: TenantRef
) -> User:
    roles, errors = await validate_role_keys(session, [settings.default_role_key or ""])
    external = any(k in BUILTIN_ROLES and BUILTIN_ROLES[k].external for k in roles)
    if errors or external:  # the role was deleted (or mis-set) since the settings were saved
        raise _refused(
            "sso_provisioning_unavailable",
            "No account can be created for {email} in {tenant} right now. Ask your administrator.",
            email=email,
            tenant=tenant.name,
        )
    name, name_errors = clean_name(identity.name or email.split("@", 1)[0])
    async with audited(session, "user.provisioned_sso"):
        user = User(
            email=email,
            full_name=name if not name_errors else email.split("@", 1)[0][:200],
            password_hash=None,
            is_active=True,
            is_external=False,
            sso_subject=identity.subject,
        )
        session.add(user)
        await session.flush()
        session.add_all([UserRole(user_id=user.id, role_id=r.id) for r in roles.values()])
    return user
