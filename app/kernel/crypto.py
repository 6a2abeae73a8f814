"""Encrypting secrets we must be able to read back (an SSO client secret), with Fernet
(AES-128-CBC + HMAC-SHA256) under a key derived from SECRET_KEY."""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.settings import get_settings


@lru_cache(maxsize=4)
def _fernet(secret: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"tessera", info=b"secret-encryption").derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(plaintext: str) -> bytes:
    return _fernet(get_settings().secret_key).encrypt(plaintext.encode())


def decrypt(token: bytes) -> str:
    try:
        return _fernet(get_settings().secret_key).decrypt(bytes(token)).decode()
    except InvalidToken as exc:
        raise ValueError("secret cannot be decrypted with the current SECRET_KEY") from exc
