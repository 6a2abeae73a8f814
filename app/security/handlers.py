"""Mail the links people need to get in (PLAT-3, PLAT-7): invitations and password resets.

Run by the workers for outbox events (workers/runtime.py records each event as applied in the
same transaction). The link's secret is created here, in the worker, so it never sits in the
outbox; it is derived from the event id (HMAC with SECRET_KEY), so a retried job — after a send
whose commit failed — mails the same link, and the Message-ID (also from the event id) marks it
as the same message.
"""

from __future__ import annotations

from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel import context, mail
from app.kernel.context import TenantRef
from app.kernel.events import Event, subscribe
from app.kernel.logging import get_logger
from app.security.models import Invitation, User
from app.security.services.auth import RESET_TTL, issue_reset_token
from app.security.services.invitations import INVITATION_CREATED, issue_invitation_link_token
from app.settings import get_settings

# Published by request_password_reset (app/security/services/auth.py).
PASSWORD_RESET_REQUESTED = "security.password_reset_requested"  # noqa: S105 — a topic, not a secret

log = get_logger("security.mail")


def _active_tenant() -> TenantRef | None:
    """Mail only for a live organisation: a suspended one's links would lead to a closed door."""
    tenant = context.current_tenant()
    if tenant is None or tenant.status != "active":
        log.info("no mail: the organisation is not active", status=tenant.status if tenant else None)
        return None
    return tenant


def message_id(event: Event, kind: str) -> str:
    return f"<{event.event_id}.{kind}@{get_settings().base_domain}>"


@subscribe(INVITATION_CREATED)
async def mail_invitation(event: Event, session: AsyncSession) -> None:
    tenant = _active_tenant()
    if tenant is None:
        return
    invitation = await session.get(Invitation, int(event.payload["invitation_id"]), with_for_update=True)
    if invitation is None or invitation.status != "pending":
        log.info(
            "no mail: the invitation is no longer pending",
            invitation_id=event.payload["invitation_id"],
            status=invitation.status if invitation else "missing",
        )
        return
    token = await issue_invitation_link_token(session, invitation, seed=str(event.event_id))
    rendered = mail.render(
        "invitation",
        invitation.locale,
        tenant_name=tenant.name,
        full_name=invitation.full_name,
        link=f"{get_settings().tenant_origin(tenant.slug)}/invitation?token={quote(token)}",
        expires_at=invitation.expires_at,
        timezone=tenant.timezone,
    )
    await mail.send(invitation.email, rendered, message_id=message_id(event, "invitation"))
    log.info("invitation mailed", invitation_id=invitation.id)


@subscribe(PASSWORD_RESET_REQUESTED)
async def mail_password_reset(event: Event, session: AsyncSession) -> None:
    tenant = _active_tenant()
    if tenant is None:
        return
    user = await session.get(User, int(event.payload["user_id"]))
    if user is None or not user.is_active:
        log.info("no mail: the account is gone or deactivated", user_id=event.payload["user_id"])
        return
    token = await issue_reset_token(session, user, seed=str(event.event_id))
    rendered = mail.render(
        "password_reset",
        user.locale or tenant.locale,
        tenant_name=tenant.name,
        full_name=user.full_name,
        email=user.email,
        link=f"{get_settings().tenant_origin(tenant.slug)}/password/reset?token={quote(token)}",
        valid_hours=int(RESET_TTL.total_seconds() // 3600),
    )
    await mail.send(user.email, rendered, message_id=message_id(event, "password-reset"))
    log.info("password reset link mailed", user_id=user.id)
