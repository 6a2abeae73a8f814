"""A local mail sink for `tessera run` without SMTP settings: every message Tessera sends is kept
as an .eml file under var/mail and its subject and links are printed, so invitations and
password resets work on a laptop. Never used when SMTP_HOST is set."""

from __future__ import annotations

import email
import re
import socket
import time
from email import policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

_LINK_RE = re.compile(r"https?://\S+")


class _Sink:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{abs(hash(raw)) % 10**8}.eml"
        (self.folder / name).write_bytes(raw)
        msg = email.message_from_bytes(raw, policy=policy.default)
        body = msg.get_body(preferencelist=("plain",))
        links = _LINK_RE.findall(body.get_content() if body else "")
        print(
            f"✉  to {', '.join(envelope.rcpt_tos)}: {msg['subject']}" + "".join(f"\n   {u}" for u in links),
            flush=True,
        )
        return "250 Message accepted"


def start_mail_sink(folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    controller = Controller(_Sink(folder), hostname="127.0.0.1", port=port)
    controller.start()
    return port
