"""E-mail delivery of notifications (PLAT-7), run by the workers for outbox events.

``notify()`` decided the channels when the notification was raised; the preference is checked
again here because the user may have switched e-mail off while the event waited in the queue.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel import context, mail
from app.kernel.events import Event, subscribe
from app.kernel.logging import get_logger
from app.notifications.kinds import KINDS
from app.notifications.service import EMAIL_REQUESTED, wanted_channels
from app.security.models import User
from app.settings import get_settings

log = get_logger("notifications.mail")


@subscribe(EMAIL_REQUESTED)
async def mail_notification(event: Event, session: AsyncSession) -> None:
    tenant = context.current_tenant()
    if tenant is None or tenant.status != "active":
        log.info("no mail: the organisation is not active")
        return
    user_id, kind = int(event.payload["user_id"]), str(event.payload["kind"])
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        log.info("no mail: the account is gone or deactivated", user_id=user_id)
        return
    if kind not in KINDS or "email" not in await wanted_channels(session, user_id, kind):
        log.info("no mail: e-mail is off for this kind", user_id=user_id, kind=kind)
        return
    origin = get_settings().tenant_origin(tenant.slug)
    link = event.payload.get("link")
    rendered = mail.render(
        "notification",
        user.locale or tenant.locale,
        tenant_name=tenant.name,
        full_name=user.full_name,
        title=" ".join(str(event.payload["title"]).split()),  # one line: it is the Subject
        body=event.payload.get("body") or "",
        link=f"{origin}{link}" if link and link.startswith("/") else link,
        preferences_link=f"{origin}/notifications",
    )
    message_id = f"<{event.event_id}.notification@{get_settings().base_domain}>"
    await mail.send(user.email, rendered, message_id=message_id)
    log.info("notification mailed", user_id=user_id, kind=kind)
