"""The kinds of notification Tessera sends, with their default channels.

A context adds its kinds here (one line each) so the preferences page can list them all.
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
