"""The kinds of notification Tessera sends, with their default channels.

The platform's own kinds are listed here; a context declares its kinds beside its code with
``define_kind`` (through ``app.notifications.interface``), and the preferences page lists them all.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    key: str
    label: str  # English msgid
    in_app: bool = True
    email: bool = True


KINDS: dict[str, Kind] = {
    k.key: k
    for k in [
        Kind("system.announcement", "Announcements from your administrator"),
        Kind("security.role_changed", "Changes to your roles", email=False),
        Kind("security.new_sign_in", "Sign-ins to your account", in_app=False),
    ]
}

CHANNELS = ("in_app", "email")


def define_kind(key: str, label: str, *, in_app: bool = True, email: bool = True) -> str:
    """Declare a notification kind (``<context>.<what>``) with its default channels; returns the key."""
    kind = Kind(key, label, in_app, email)
    if KINDS.get(key, kind) != kind:
        raise ValueError(f"notification kind {key!r} declared twice")
    KINDS[key] = kind
    return key
