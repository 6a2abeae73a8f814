"""The tenant's single sign-on settings (the OIDC flow itself lives in app/security/oidc.py)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel.audit import audited
from app.kernel.crypto import decrypt, encrypt
from app.kernel.errors import FieldError, ValidationFailed
from app.security.models import Role, SsoSettings, User
from app.security.roles import BUILTIN_ROLES
from app.security.validation import clean_name


@dataclass(frozen=True)
class SsoButton:
    label: str
    enforce: bool


async def get_settings_row(session: AsyncSession) -> SsoSettings | None:
    return (await session.execute(select(SsoSettings).order_by(SsoSettings.id).limit(1))).scalar_one_or_none()


async def sso_button(session: AsyncSession) -> SsoButton | None:
    row = await get_settings_row(session)
    return SsoButton(row.button_label, row.enforce) if row and row.enabled else None


def client_secret(row: SsoSettings) -> str:
    return decrypt(row.client_secret_encrypted)


def _valid_issuer(url: str) -> bool:
    p = urlparse(url)
    return p.scheme in ("https", "http") and bool(p.netloc) and not p.query and not p.fragment


async def save_settings(
    session: AsyncSession,
    *,
    enabled: bool,
    issuer: object,
    client_id: object,
    client_secret_value: object,
    button_label: object,
    allowed_domains: object,
    auto_provision: bool,
    default_role_key: object,
    enforce: bool,
) -> SsoSettings:
    row = await get_settings_row(session)
    errors: list[FieldError] = []
    iss = str(issuer or "").strip().rstrip("/")
    if not _valid_issuer(iss):
        errors.append(
            FieldError("issuer", "Enter the provider's issuer URL, e.g. https://login.example.com.")
        )
    cid = str(client_id or "").strip()
    if not cid or len(cid) > 255:
        errors.append(FieldError("client_id", "Enter the client ID from your identity provider."))
    secret = str(client_secret_value or "")
    if not secret and row is None:
        errors.append(FieldError("client_secret", "Enter the client secret."))
    label, label_errors = clean_name(button_label or "Single sign-on", "button_label", max_len=80)
    errors += label_errors
    domains = sorted(
        {
            d.strip().lower().lstrip("@")
            for d in str(allowed_domains or "").replace(",", " ").split()
            if d.strip()
        }
    )
    if any("." not in d or "/" in d for d in domains):
        errors.append(FieldError("allowed_domains", "List e-mail domains such as example.com."))
    role_key = str(default_role_key or "") or None
    if auto_provision:
        if role_key is None:
            errors.append(FieldError("default_role_key", "Choose the role new users get."))
        elif role_key in BUILTIN_ROLES and BUILTIN_ROLES[role_key].external:
            errors.append(FieldError("default_role_key", "Single sign-on is for staff; choose a staff role."))
        elif not await session.scalar(select(Role.id).where(Role.key == role_key)):
            errors.append(FieldError("default_role_key", "Choose an existing role."))
    if errors:
        raise ValidationFailed(errors)
    if row is not None and row.issuer != iss:
        await _unlink_subjects(session)
    async with audited(session, "sso.settings_saved"):
        if row is None:
            row = SsoSettings(issuer=iss, client_id=cid, client_secret_encrypted=encrypt(secret))
            session.add(row)
        row.enabled, row.issuer, row.client_id = enabled, iss, cid
        if secret:
            row.client_secret_encrypted = encrypt(secret)
        row.button_label, row.allowed_domains = label, domains
        row.auto_provision, row.default_role_key, row.enforce = auto_provision, role_key, enforce and enabled
    return row


async def _unlink_subjects(session: AsyncSession) -> None:
    """A ``sub`` is unique per issuer only: after a change of provider, links made with the old one
    must not match the new one's subjects (another person may carry the same ``sub`` there)."""
    linked = (await session.execute(select(User).where(User.sso_subject.is_not(None)))).scalars().all()
    async with audited(session, "sso.subjects_unlinked"):
        for user in linked:
            user.sso_subject = None
