"""Cursor (keyset) pagination for every JSON list (PLAT-9).

Each list has one fixed ``Ordering``: sort columns that end with the row id, so the order is total.
A page is the ``limit`` rows after the cursor, and the cursor is the last row's key, so the next
page is ``WHERE (key, id) > (last key, last id)``: an index range whose cost does not grow with the
page number, and rows inserted or deleted meanwhile never make a client see a row twice or skip one
(offset pagination does both).

Cursors are opaque to clients: base64url of the ordering's name and the key values plus an HMAC
tag, so an altered, truncated or hand-made cursor — or one taken from another list — is a 400
problem (``invalid_cursor``) instead of a surprising query.

    USERS = Ordering("users", (Key(func.lower(User.email), str), Key(User.id, int)))
    page = await fetch_page(session, select(User).where(...), USERS, limit=50, cursor=None)
    page.rows, page.next_cursor
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec
from sqlalchemy import Select, literal, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.kernel.errors import DomainError, FieldError
from app.settings import get_settings

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_CURSOR_LENGTH = 1000
_TAG_BYTES = 16

R = TypeVar("R")


class InvalidCursor(DomainError):
    status = 400
    title = "Invalid cursor"

    def __init__(self) -> None:
        super().__init__(
            "invalid_cursor",
            "The cursor is not valid for this list. Start again without a cursor.",
            errors=[FieldError("cursor", "Use the next_cursor value of a previous page, unchanged.")],
        )


@dataclass(frozen=True)
class Key:
    """One sort column, and the Python type its value has in a cursor (str, int, datetime, ...)."""

    column: Any
    type: type


@dataclass(frozen=True)
class Ordering:
    """A list's total order. ``name`` binds cursors to this list; the last key must be unique."""

    name: str
    keys: tuple[Key, ...]
    descending: bool = False

    def order_by(self) -> list[Any]:
        return [k.column.desc() if self.descending else k.column.asc() for k in self.keys]

    def after(self, values: tuple[Any, ...]) -> Any:
        """Rows strictly after ``values`` in this order (a row-value comparison PostgreSQL indexes)."""
        columns = tuple_(*(k.column for k in self.keys))
        bound = tuple_(*(literal(v, k.column.type) for v, k in zip(values, self.keys, strict=True)))
        return columns < bound if self.descending else columns > bound


@dataclass(frozen=True)
class Page(Generic[R]):
    rows: list[R]
    next_cursor: str | None


def _tag(payload: bytes) -> bytes:
    key = hashlib.sha256(b"tessera/pagination-cursor\0" + get_settings().secret_key.encode()).digest()
    return hmac.new(key, payload, hashlib.sha256).digest()[:_TAG_BYTES]


def encode_cursor(ordering: Ordering, values: tuple[Any, ...]) -> str:
    payload = msgspec.json.encode([ordering.name, list(values)])
    return base64.urlsafe_b64encode(_tag(payload) + payload).rstrip(b"=").decode()


def decode_cursor(ordering: Ordering, cursor: str) -> tuple[Any, ...]:
    """The key values in ``cursor``; ``InvalidCursor`` if it was not issued for this ordering."""
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidCursor()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor() from exc
    tag, payload = raw[:_TAG_BYTES], raw[_TAG_BYTES:]
    if not hmac.compare_digest(tag, _tag(payload)):
        raise InvalidCursor()
    try:
        name, values = msgspec.json.decode(payload, type=tuple[str, list[Any]])
        if name != ordering.name or len(values) != len(ordering.keys):
            raise InvalidCursor()
        return tuple(
            msgspec.convert(v, k.type, strict=False) for v, k in zip(values, ordering.keys, strict=True)
        )
    except msgspec.MsgspecError as exc:
        raise InvalidCursor() from exc


async def fetch_page(
    session: AsyncSession, stmt: Select[Any], ordering: Ordering, *, limit: int, cursor: str | None
) -> Page[Any]:
    """One page of ``stmt`` (a select of one entity) in ``ordering``, after ``cursor``.

    The key columns are selected alongside the entity, so the next cursor holds exactly the values
    PostgreSQL compared (``lower(email)``, microsecond timestamps) — never a Python re-computation.
    One extra row is fetched to know whether another page exists, so the last page has no cursor.
    """
    if cursor:
        stmt = stmt.where(ordering.after(decode_cursor(ordering, cursor)))
    keyed = (
        stmt.add_columns(*(k.column for k in ordering.keys)).order_by(*ordering.order_by()).limit(limit + 1)
    )
    rows = (await session.execute(keyed)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(ordering, tuple(rows[-1][1:])) if more and rows else None
    return Page(rows=[row[0] for row in rows], next_cursor=next_cursor)
