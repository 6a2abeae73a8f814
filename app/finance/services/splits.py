"""Splitting an amount without losing a cent (ARCHITECTURE.md: rounding is explicit).

    split(Decimal("100.00"), [("A", Decimal("33.33")), ("B", Decimal("33.33")), ("C", Decimal("33.34"))])
    → [("A", Decimal("33.33")), ("B", Decimal("33.33")), ("C", Decimal("33.34"))]
    split(Decimal("10.00"), [("A", 1), ("B", 1), ("C", 1)])   # weights need not add up to 100
    → [("A", Decimal("3.33")), ("B", Decimal("3.33")), ("C", Decimal("3.34"))]

Every part but the last is ``amount × weight / total weight`` rounded half-up to the cent; the last
part takes the residual, so the parts always add up to the amount exactly. The residual's line is
therefore deterministic: the last share in the order given (split rules order their shares by
``position``). Tax on a net amount is rounded half-up to the cent per line (``tax_of``).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

CENT = Decimal("0.01")
K = TypeVar("K")


def split(amount: Decimal, shares: Sequence[tuple[K, Decimal | int]]) -> list[tuple[K, Decimal]]:
    """``amount`` shared by weight; the parts add up to ``amount`` (the last takes the residual)."""
    if not shares:
        raise ValueError("nothing to split into")
    weights = [Decimal(w) for _, w in shares]
    if any(w <= 0 for w in weights):
        raise ValueError("weights must be positive")
    total = sum(weights)
    amount = Decimal(amount).quantize(CENT)
    parts: list[tuple[K, Decimal]] = []
    running = Decimal("0.00")
    for (key, _), weight in zip(shares[:-1], weights[:-1], strict=True):
        part = (amount * weight / total).quantize(CENT, rounding=ROUND_HALF_UP)
        parts.append((key, part))
        running += part
    parts.append((shares[-1][0], amount - running))
    return parts


def tax_of(net: Decimal, rate_percent: Decimal) -> Decimal:
    """VAT on ``net`` at ``rate_percent`` (13.00), half-up to the cent."""
    return (Decimal(net) * Decimal(rate_percent) / 100).quantize(CENT, rounding=ROUND_HALF_UP)
