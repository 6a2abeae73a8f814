"""Document numbers: Q-2026-00001 (quotes), SO-2026-00001 (orders), CT-2026-0001 (contracts),
T-000001 (tickets). One counter row per kind (and year), incremented in the document's own
transaction: concurrent creates queue on the row lock, and a rollback returns the number."""

from __future__ import annotations

from sqlalchemy import String, bindparam
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import NumberSequence

FORMATS = {
    "quote": "Q-{year}-{n:05d}",
    "sales_order": "SO-{year}-{n:05d}",
    "contract": "CT-{year}-{n:04d}",
    "ticket": "T-{n:06d}",
}


async def next_number(session: AsyncSession, kind: str, year: int) -> str:
    """The next number of ``kind`` (a key of FORMATS) for ``year`` (ignored by yearless formats)."""
    template = FORMATS[kind]
    key = f"{kind}:{year}" if "{year}" in template else kind
    n = int((await session.execute(_NEXT, {"p_key": key})).scalar_one()) - 1
    return template.format(year=year, n=n)


_NEXT = (  # built once: compiled and cache-keyed once
    insert(NumberSequence)
    .values(key=bindparam("p_key", type_=String), next_value=2)
    .on_conflict_do_update(
        index_elements=[NumberSequence.key], set_={"next_value": NumberSequence.next_value + 1}
    )
    .returning(NumberSequence.next_value)
)
