"""Price lists (CRM-4): negotiated or seasonal prices in one currency, with volume breaks.

plist = await create_price_list(session, principal, {"name": "经销商 2027", "currency": "CNY",
                                                    "is_default": True})
await add_item(session, principal, plist.id, {"product_id": 7, "min_quantity": "10",
                                              "unit_price": "4500"})
price = await price_for(session, plist.id, product_id=7, quantity=Decimal("12"))   # 4500.0000

A product's price on a list is the item with the largest ``min_quantity`` not above the quantity
(the best break); a product the list does not name is quoted at its list price. One list per
currency may be the default for new quotes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, Select, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import PriceList, PriceListItem, Product
from app.crm.services.fields import (
    clean_currency,
    clean_date,
    clean_decimal,
    clean_optional_id,
    clean_text,
)
from app.crm.services.opportunities import base_currency
from app.crm.services.products import truthy
from app.kernel.audit import audited
from app.kernel.errors import FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.security.principal import Principal


def price_lists_query() -> Select[Any]:
    return select(PriceList)


async def all_price_lists(session: AsyncSession) -> list[PriceList]:
    stmt = select(PriceList).order_by(PriceList.active.desc(), PriceList.name, PriceList.id)
    return list((await session.execute(stmt)).scalars())


async def get_price_list(session: AsyncSession, price_list_id: int) -> PriceList:
    plist = await session.get(PriceList, price_list_id)
    if plist is None:
        raise NotFound(lazy("price list"))
    return plist


def usable_on(plist: PriceList, day: date) -> bool:
    """Active and inside its validity on ``day`` (open ends are unbounded)."""
    return (
        plist.active
        and (plist.valid_from is None or plist.valid_from <= day)
        and (plist.valid_to is None or day <= plist.valid_to)
    )


_USABLE_ON = (  # built once (every new order asks): compiled and cache-keyed once
    select(PriceList)
    .where(
        PriceList.active.is_(True),
        or_(PriceList.valid_from.is_(None), PriceList.valid_from <= bindparam("day", type_=Date)),
        or_(PriceList.valid_to.is_(None), PriceList.valid_to >= bindparam("day", type_=Date)),
    )
    .order_by(PriceList.is_default.desc(), PriceList.name)
)


async def usable_price_lists(session: AsyncSession, day: date) -> list[PriceList]:
    return list((await session.execute(_USABLE_ON, {"day": day})).scalars())


async def default_price_list(session: AsyncSession, currency: str | None, day: date) -> PriceList | None:
    """The default list usable on ``day`` in ``currency`` (any currency when None)."""
    for plist in await usable_price_lists(session, day):
        if plist.is_default and (currency is None or plist.currency == currency):
            return plist
    return None


def _clean(data: Mapping[str, Any], errors: list[FieldError], *, partial: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def present(key: str) -> bool:
        return not partial or key in data

    if present("name"):
        out["name"] = clean_text(data.get("name"), "name", errors, required=True, max_len=120)
    if present("currency"):
        out["currency"] = clean_currency(data.get("currency"), "currency", errors, base_currency())
    if present("valid_from"):
        out["valid_from"] = clean_date(data.get("valid_from"), "valid_from", errors)
    if present("valid_to"):
        out["valid_to"] = clean_date(data.get("valid_to"), "valid_to", errors)
    if present("is_default"):
        out["is_default"] = truthy(data.get("is_default"))
    if present("active"):
        out["active"] = truthy(data.get("active")) if "active" in data else True
    return out


async def _check(
    session: AsyncSession, plist: PriceList | None, values: dict[str, Any], errors: list[FieldError]
) -> None:
    start = values.get("valid_from", plist.valid_from if plist else None)
    end = values.get("valid_to", plist.valid_to if plist else None)
    if start and end and end < start:
        errors.append(FieldError("valid_to", "The end date must not be before the start date."))
    name = values.get("name")
    if name:
        stmt = select(PriceList.id).where(func.lower(PriceList.name) == name.lower())
        if plist is not None:
            stmt = stmt.where(PriceList.id != plist.id)
        if (await session.execute(stmt)).first() is not None:
            errors.append(FieldError("name", "Another price list is already called {name}.", {"name": name}))
    if plist is not None and "currency" in values and values["currency"] != plist.currency:
        has_items = await session.scalar(
            select(func.count()).select_from(PriceListItem).where(PriceListItem.price_list_id == plist.id)
        )
        if has_items:
            errors.append(
                FieldError(
                    "currency",
                    "Remove the prices first: they are in {currency}.",
                    {"currency": plist.currency},
                )
            )


async def _clear_other_defaults(session: AsyncSession, plist: PriceList) -> None:
    await session.execute(
        update(PriceList)
        .where(PriceList.currency == plist.currency, PriceList.id != plist.id, PriceList.is_default.is_(True))
        .values(is_default=False)
        .execution_options(synchronize_session="fetch")
    )


async def create_price_list(
    session: AsyncSession, principal: Principal, data: Mapping[str, Any]
) -> PriceList:
    errors: list[FieldError] = []
    values = _clean(data, errors, partial=False)
    await _check(session, None, values, errors)
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.price_list_created"):
        plist = PriceList(**values)
        session.add(plist)
        await session.flush()
        if plist.is_default:
            await _clear_other_defaults(session, plist)
    return plist


async def update_price_list(
    session: AsyncSession, principal: Principal, price_list_id: int, data: Mapping[str, Any]
) -> PriceList:
    plist = await get_price_list(session, price_list_id)
    errors: list[FieldError] = []
    values = _clean(data, errors, partial=True)
    await _check(session, plist, values, errors)
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.price_list_updated"):
        for key, value in values.items():
            setattr(plist, key, value)
        await session.flush()
        if plist.is_default:
            await _clear_other_defaults(session, plist)
    return plist


async def items_of(session: AsyncSession, price_list_id: int) -> list[tuple[PriceListItem, Product]]:
    stmt = (
        select(PriceListItem, Product)
        .join(Product, Product.id == PriceListItem.product_id)
        .where(PriceListItem.price_list_id == price_list_id)
        .order_by(Product.name, Product.id, PriceListItem.min_quantity)
    )
    return [(item, product) for item, product in (await session.execute(stmt)).all()]


async def add_item(
    session: AsyncSession, principal: Principal, price_list_id: int, data: Mapping[str, Any]
) -> PriceListItem:
    """A product's price from ``min_quantity`` up (1 when blank)."""
    plist = await get_price_list(session, price_list_id)
    errors: list[FieldError] = []
    product_id = clean_optional_id(data.get("product_id"), "product_id", errors)
    min_quantity = clean_decimal(
        data.get("min_quantity"), "min_quantity", errors, places=3, positive=True, default=Decimal("1")
    )
    unit_price = clean_decimal(data.get("unit_price"), "unit_price", errors, places=4)
    if product_id is None:
        if not any(e.field == "product_id" for e in errors):
            errors.append(FieldError("product_id", "Choose a product."))
    elif await session.get(Product, product_id) is None:
        errors.append(FieldError("product_id", "Choose an existing product."))
    if not errors:
        taken = await session.scalar(
            select(PriceListItem.id).where(
                PriceListItem.price_list_id == plist.id,
                PriceListItem.product_id == product_id,
                PriceListItem.min_quantity == min_quantity,
            )
        )
        if taken is not None:
            errors.append(
                FieldError(
                    "min_quantity",
                    "This product already has a price from {quantity} on this list.",
                    {"quantity": str(min_quantity)},
                )
            )
    if errors or product_id is None:
        raise ValidationFailed(errors)
    async with audited(session, "crm.price_list_item_added"):
        item = PriceListItem(
            price_list_id=plist.id, product_id=product_id, min_quantity=min_quantity, unit_price=unit_price
        )
        session.add(item)
    return item


async def remove_item(session: AsyncSession, principal: Principal, price_list_id: int, item_id: int) -> None:
    item = await session.get(PriceListItem, item_id)
    if item is None or item.price_list_id != price_list_id:
        raise NotFound(lazy("price"))
    async with audited(session, "crm.price_list_item_removed"):
        await session.delete(item)


async def price_for(
    session: AsyncSession, price_list_id: int, product_id: int, quantity: Decimal
) -> Decimal | None:
    """The best volume break of the product on the list for ``quantity``; None if the list has none."""
    stmt = (
        select(PriceListItem.unit_price)
        .where(
            PriceListItem.price_list_id == price_list_id,
            PriceListItem.product_id == product_id,
            PriceListItem.min_quantity <= quantity,
        )
        .order_by(PriceListItem.min_quantity.desc())
        .limit(1)
    )
    price = await session.scalar(stmt)
    return Decimal(price) if price is not None else None
