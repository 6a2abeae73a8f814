"""Gapless document numbers per series and year: INV-2026-00001, CN-…, BILL-…, RCV-…, PAY-….

The counter row is incremented by an upsert in the issuing transaction, which holds its lock until
that transaction ends (like voucher numbers, services/posting.py): a rolled-back document gives its
number back, and two documents of one series and year are numbered one after the other. Take the
number as late as possible in the transaction.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert

from app.finance.models import DocumentCounter

SERIES = ("INV", "CN", "BILL", "RCV", "PAY")


def counter(series: str, year: int) -> ReturningInsert[int]:
    """The counter upsert of ``series`` and ``year``, returning the new value (``last_value``)."""
    if series not in SERIES:
        raise ValueError(f"unknown document series {series!r}")
    return (
        insert(DocumentCounter)
        .values(series=series, year=year, last_value=1)
        .on_conflict_do_update(
            index_elements=["series", "year"], set_={"last_value": DocumentCounter.last_value + 1}
        )
        .returning(DocumentCounter.last_value)
    )


def formatted(series: str, year: int, value: int) -> str:
    return f"{series}-{year:04d}-{value:05d}"


async def next_number(session: AsyncSession, series: str, year: int) -> str:
    value = (await session.execute(counter(series, year))).scalar_one()
    return formatted(series, year, value)
