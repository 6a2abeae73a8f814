"""Password hashing with argon2id (PLAT-3), parameters from argon2-cffi's RFC 9106 low-memory profile."""

from __future__ import annotations

import os

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

from app.kernel.errors import FieldError

# The test suite signs in thousands of times; it opts into cheap (still argon2id) parameters.
_hasher = (
    PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID)
    if os.environ.get("TESSERA_FAST_PASSWORD_HASHING") == "1"
    else PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)
)
# Verifying against this keeps the timing of "unknown e-mail" equal to "wrong password".
_DUMMY_HASH = _hasher.hash("tessera-timing-equaliser")

MIN_LENGTH = 10
MAX_LENGTH = 256


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problems(password: str, field: str = "password") -> list[FieldError]:
    """Length rules only (NIST SP 800-63B): long passphrases beat composition rules."""
    if len(password) < MIN_LENGTH:
        return [FieldError(field, "Use at least {n} characters.", {"n": MIN_LENGTH})]
    if len(password) > MAX_LENGTH:
        return [FieldError(field, "Use at most {n} characters.", {"n": MAX_LENGTH})]
    return []
