"""Gapless document numbers per series and year: INV-2026-00001, CN-…, BILL-…, RCV-…, PAY-….

The counter row is incremented by an upsert in the issuing transaction, which holds its lock until
that transaction ends (like voucher numbers, services/posting.py): a rolled-back document gives its
number back, and two documents of one series and year are numbered one after the other. Take the
number as late as possible in the transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, String, bindparam
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.models import DocumentCounter

SERIES = ("INV", "CN", "BILL", "RCV", "PAY")

# The counter upsert, returning the new value (``last_value``); built once with bound parameters
# (``params``). The posting door runs it as a CTE of the statement that posts an entry
# (posting.post_numbering).
COUNTER = (
    insert(DocumentCounter)
    .values(series=bindparam("p_series", type_=String), year=bindparam("p_year", type_=Integer), last_value=1)
    .on_conflict_do_update(
        index_elements=["series", "year"], set_={"last_value": DocumentCounter.last_value + 1}
    )
    .returning(DocumentCounter.last_value)
)


def params(series: str, year: int) -> dict[str, Any]:
    """The parameters of ``COUNTER`` for ``series`` and ``year``."""
    if series not in SERIES:
        raise ValueError(f"unknown document series {series!r}")
    return {"p_series": series, "p_year": year}


def prefix(series: str, year: int) -> str:
    return f"{series}-{year:04d}-"


def formatted(series: str, year: int, value: int) -> str:
    return f"{prefix(series, year)}{value:05d}"


async def next_number(session: AsyncSession, series: str, year: int) -> str:
    value = (await session.execute(COUNTER, params(series, year))).scalar_one()
    return formatted(series, year, value)
