"""Signed, expiring, single-use tokens for e-mailed links (invitations, password resets).

The link carries ``itsdangerous``-signed random bytes bound to a purpose, so forged or
cross-purpose tokens are rejected before any database read. The database keeps only the
SHA-256 of the random part with its expiry and use time, which makes a token single-use and
revocable, and useless to anyone who reads the table.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.settings import get_settings


class TokenInvalid(Exception):
    pass


def new_secret() -> tuple[str, str]:
    raw = secrets.token_urlsafe(32)
    return raw, hash_secret(raw)


def derived_secret(purpose: str, seed: str) -> tuple[str, str]:
    """A secret fixed by ``seed`` (an outbox event id): a mail job that is retried after a send
    whose commit failed mails the *same* link as the first attempt, so whichever copy the
    receiver keeps works. Unguessable without SECRET_KEY."""
    mac = hmac.new(get_settings().secret_key.encode(), f"{purpose}:{seed}".encode(), hashlib.sha256)
    raw = base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()
    return raw, hash_secret(raw)


def hash_secret(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret_key, salt=f"tessera.{purpose}")


def sign(raw: str, purpose: str) -> str:
    return _serializer(purpose).dumps(raw)


def unsign(token: str, purpose: str, max_age_seconds: int) -> str:
    try:
        value = _serializer(purpose).loads(token, max_age=max_age_seconds)
    except SignatureExpired as exc:
        raise TokenInvalid("expired") from exc
    except BadSignature as exc:
        raise TokenInvalid("bad signature") from exc
    if not isinstance(value, str):
        raise TokenInvalid("malformed")
    return value
