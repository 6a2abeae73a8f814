"""Priced lines of quotes and sales orders (CRM-4), shared by both documents.

A line names a product (or is free text) and takes its description, unit, VAT rate and price
from it: the unit price is the document's price list price for the quantity (best volume break),
else the product's list price when that is in the document's currency. The quantity, unit price
and discount stay editable. Amounts come from app/crm/services/pricing.py (the one rounding
rule) and the document's totals are always recomputed from its lines.

    values = await clean_line(session, data, errors, Pricing("CNY", price_list_id=3))
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import PriceList, Product
from app.crm.models.sales import QuoteLine, SalesOrderLine
from app.crm.services.fields import (
    clean_decimal,
    clean_optional_id,
    clean_percent,
    clean_text,
)
from app.crm.services.price_lists import get_price_list, price_for, usable_on
from app.crm.services.pricing import LineAmounts, document_totals, price_line
from app.kernel.audit import audited
from app.kernel.db import transaction_memo
from app.kernel.errors import FieldError, NotFound, ValidationFailed

Line = QuoteLine | SalesOrderLine
ZERO = Decimal("0")


@dataclass(frozen=True, slots=True)
class Pricing:
    """Where a document's line prices come from."""

    currency: str
    price_list_id: int | None = None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


async def check_price_list(
    session: AsyncSession,
    price_list_id: int | None,
    currency: str | None,
    day: Any,
    errors: list[FieldError],
) -> PriceList | None:
    """The document's price list, if usable on ``day`` and in the document's currency."""
    if price_list_id is None:
        return None
    try:
        plist = await get_price_list(session, price_list_id)
    except NotFound:
        errors.append(FieldError("price_list_id", "Choose an existing price list."))
        return None
    if not usable_on(plist, day):
        errors.append(
            FieldError(
                "price_list_id",
                "The price list {name} is not valid on {date}.",
                {"name": plist.name, "date": day.isoformat()},
            )
        )
    if currency is not None and currency != plist.currency:
        errors.append(
            FieldError(
                "currency",
                "The price list {name} is in {list_currency}; use {list_currency} or another price list.",
                {"name": plist.name, "list_currency": plist.currency},
            )
        )
    return plist


async def clean_line(
    session: AsyncSession,
    data: Mapping[str, Any],
    errors: list[FieldError],
    pricing: Pricing,
    *,
    existing: Line | None = None,
    prefix: str = "",
) -> dict[str, Any]:
    """The line's columns (amounts included) from ``data``; problems go to ``errors`` under
    ``prefix + field`` (``lines[2].quantity`` in the API). An ``existing`` line keeps its product
    and whatever ``data`` does not mention."""
    local: list[FieldError] = []
    product: Product | None = None
    if existing is None:
        product_id = clean_optional_id(data.get("product_id"), "product_id", local)
        if product_id is not None:
            product = await session.get(Product, product_id)
            if product is None:
                local.append(FieldError("product_id", "Choose an existing product."))
            elif not product.active:
                local.append(FieldError("product_id", "{sku} is no longer sold.", {"sku": product.sku}))
    elif existing.product_id is not None:
        product = await session.get(Product, existing.product_id)

    def given(key: str) -> bool:
        return key in data and not _blank(data.get(key))

    def keep(key: str, fallback: Any) -> Any:
        return getattr(existing, key) if existing is not None else fallback

    quantity = (
        clean_decimal(data.get("quantity"), "quantity", local, places=3, minimum=None, positive=True)
        if given("quantity") or existing is None
        else keep("quantity", Decimal("1"))
    )
    description = (
        clean_text(data.get("description"), "description", local, max_len=300)
        if given("description")
        else keep("description", product.name if product else "")
    )
    if not description and product is None and not any(e.field == "product_id" for e in local):
        local.append(FieldError("description", "Choose a product or describe the line."))
    unit = (
        clean_text(data.get("unit"), "unit", local, max_len=16)
        if given("unit")
        else keep("unit", product.unit if product else "pcs")
    )
    tax_rate = (
        clean_percent(data.get("tax_rate"), "tax_rate", local)
        if given("tax_rate")
        else keep("tax_rate", product.tax_rate if product else ZERO)
    )
    discount = (
        clean_percent(data.get("discount_percent"), "discount_percent", local)
        if given("discount_percent")
        else keep("discount_percent", ZERO)
    )
    if given("unit_price"):
        unit_price = clean_decimal(data.get("unit_price"), "unit_price", local, places=4)
    elif "unit_price" in data or existing is None:
        # Blank: the price list's price for this quantity, else the list price.
        unit_price = await _catalogue_price(session, product, quantity, pricing, local)
    else:
        unit_price = existing.unit_price
    errors.extend(FieldError(prefix + e.field, e.message, e.params) for e in local)
    if local:
        return {}
    amounts = price_line(quantity, unit_price, discount, tax_rate)
    return {
        "product_id": product.id if product else None,
        "description": description,
        "quantity": quantity,
        "unit": unit or "pcs",
        "unit_price": unit_price,
        "discount_percent": discount,
        "tax_rate": tax_rate,
        **amount_columns(amounts),
    }


async def _catalogue_price(
    session: AsyncSession,
    product: Product | None,
    quantity: Decimal,
    pricing: Pricing,
    errors: list[FieldError],
) -> Decimal:
    if product is None:
        if not errors:
            errors.append(FieldError("unit_price", "Enter the unit price."))
        return ZERO
    if pricing.price_list_id is not None and quantity > 0:
        price = await price_for(session, pricing.price_list_id, product.id, quantity)
        if price is not None:
            return price
    if product.currency != pricing.currency:
        errors.append(
            FieldError(
                "unit_price",
                "{sku} has no price in {currency}: enter the unit price.",
                {"sku": product.sku, "currency": pricing.currency},
            )
        )
        return ZERO
    return Decimal(product.list_price)


def amount_columns(amounts: LineAmounts) -> dict[str, Decimal]:
    return {
        "net_amount": amounts.net,
        "discount_amount": amounts.discount,
        "tax_amount": amounts.tax,
        "total_amount": amounts.total,
    }


def amounts_of(line: Line) -> LineAmounts:
    return price_line(
        Decimal(line.quantity),
        Decimal(line.unit_price),
        Decimal(line.discount_percent),
        Decimal(line.tax_rate),
    )


def apply_totals(document: Any, lines: Sequence[Line]) -> None:
    """Set the document's subtotal, discount, tax and total from its (rounded) lines."""
    totals = document_totals(amounts_of(line) for line in lines)
    document.subtotal = totals.subtotal
    document.discount_total = totals.discount_total
    document.tax_total = totals.tax_total
    document.total = totals.total


async def next_position(session: AsyncSession, model: type[Line], parent: Any, parent_id: int) -> int:
    current = await session.scalar(select(func.max(model.position)).where(parent == parent_id))
    return int(current or 0) + 1


# --- the lines of one document (a quote or an order in draft) ---------------------------------


@functools.cache
def _lines_statement(model: type[Line], parent: Any) -> Any:
    """A document's lines in order; built once per kind (compiled and cache-keyed once)."""
    return select(model).where(parent == bindparam("document_id")).order_by(model.position, model.id)


@dataclass(frozen=True, slots=True)
class LineKind:
    """Which lines: their model, the column naming their document, the noun a missing line is
    reported with and the audit events (``<event>_added`` / ``_changed`` / ``_removed``)."""

    model: type[Line]
    parent: Any  # e.g. QuoteLine.quote_id
    what: str  # lazy() noun for NotFound
    event: str  # e.g. "crm.quote_line"

    def _memo(self, session: AsyncSession) -> dict[int, list[Line]]:
        memo: dict[int, list[Line]] = transaction_memo(session).setdefault(
            f"crm.lines.{self.model.__tablename__}", {}
        )
        return memo

    async def of(self, session: AsyncSession, document_id: int) -> list[Line]:
        """The document's lines in order, read once per transaction: confirming an order reads
        them, finance's invoice reads them, the answer shows them. Every change of lines here
        forgets them (``add``, ``change``, ``remove``); a new document's creator remembers its
        lines (``remember``)."""
        memo = self._memo(session)
        if document_id not in memo:
            rows = await session.execute(
                _lines_statement(self.model, self.parent), {"document_id": document_id}
            )
            memo[document_id] = cast(list[Line], list(rows.scalars()))
        return list(memo[document_id])

    def remember(self, session: AsyncSession, document_id: int, lines: Sequence[Line]) -> None:
        """The lines of a document created in this transaction (flushed), in order."""
        self._memo(session)[document_id] = sorted(lines, key=lambda line: (line.position, line.id))

    def forget(self, session: AsyncSession, document_id: int) -> None:
        self._memo(session).pop(document_id, None)

    async def find(self, session: AsyncSession, line_id: int) -> Line:
        """A line by id, whatever its document (check the reader may see the document)."""
        line = await session.get(self.model, line_id)
        if line is None:
            raise NotFound(self.what)
        return cast(Line, line)

    async def get(self, session: AsyncSession, document: Any, line_id: int) -> Line:
        line = await self.find(session, line_id)
        if getattr(line, self.parent.key) != document.id:
            raise NotFound(self.what)
        return line

    async def add(self, session: AsyncSession, document: Any, data: Mapping[str, Any]) -> Line:
        errors: list[FieldError] = []
        values = await clean_line(session, data, errors, Pricing(document.currency, document.price_list_id))
        if errors:
            raise ValidationFailed(errors)
        self.forget(session, document.id)
        async with audited(session, f"{self.event}_added"):
            position = await next_position(session, self.model, self.parent, document.id)
            line = self.model(**{self.parent.key: document.id}, position=position, **values)
            session.add(line)
            await session.flush()
            apply_totals(document, await self.of(session, document.id))
        return line

    async def change(self, session: AsyncSession, document: Any, line: Line, data: Mapping[str, Any]) -> Line:
        errors: list[FieldError] = []
        pricing = Pricing(document.currency, document.price_list_id)
        values = await clean_line(session, data, errors, pricing, existing=line)
        if errors:
            raise ValidationFailed(errors)
        self.forget(session, document.id)
        async with audited(session, f"{self.event}_changed"):
            for key, value in values.items():
                setattr(line, key, value)
            await session.flush()
            apply_totals(document, await self.of(session, document.id))
        return line

    async def remove(self, session: AsyncSession, document: Any, line: Line) -> None:
        self.forget(session, document.id)
        async with audited(session, f"{self.event}_removed"):
            await session.delete(line)
            await session.flush()
            apply_totals(document, await self.of(session, document.id))
