"""Outgoing e-mail over SMTP (PLAT-7): rendered from templates in the recipient's locale.

Only workers call ``send``; request handlers publish an outbox event instead, so a slow or
down mail server never fails or slows a user's request, and a retry never loses the mail.
A template ``mail/<name>.txt`` renders the body; its first line ``Subject: ...`` is the subject.
An optional ``mail/<name>.html`` is attached as the HTML alternative.
"""

from __future__ import annotations

import asyncio
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from jinja2 import TemplateNotFound

from app.kernel import i18n
from app.kernel.templating import environment
from app.settings import get_settings


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str | None


def render(template: str, locale: str | None, **params: Any) -> RenderedMail:
    env = environment()
    with i18n.use_locale(locale):
        raw = env.get_template(f"mail/{template}.txt").render(**params)
        try:
            html = env.get_template(f"mail/{template}.html").render(**params)
        except TemplateNotFound:
            html = None
    first, _, body = raw.lstrip().partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"mail/{template}.txt must start with a 'Subject:' line")
    return RenderedMail(subject=first.removeprefix("Subject:").strip(), text=body.strip() + "\n", html=html)


def build_message(
    to: str, mail: RenderedMail, *, message_id: str | None = None, headers: dict[str, str] | None = None
) -> EmailMessage:
    settings = get_settings()
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = to
    msg["Subject"] = mail.subject
    msg["Message-ID"] = message_id or make_msgid(domain=settings.base_domain)
    for k, v in (headers or {}).items():
        msg[k] = v
    msg.set_content(mail.text)
    if mail.html:
        msg.add_alternative(mail.html, subtype="html")
    return msg


def _send_sync(msg: EmailMessage) -> None:
    s = get_settings()
    with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=15) as smtp:
        if s.smtp_starttls:
            smtp.starttls()
        if s.smtp_username:
            smtp.login(s.smtp_username, s.smtp_password or "")
        smtp.send_message(msg)


async def send(
    to: str, mail: RenderedMail, *, message_id: str | None = None, headers: dict[str, str] | None = None
) -> None:
    """Deliver one message. ``message_id`` should derive from the event id: a retried job then
    re-sends the *same* message, which receiving servers and clients de-duplicate."""
    await asyncio.to_thread(_send_sync, build_message(to, mail, message_id=message_id, headers=headers))
