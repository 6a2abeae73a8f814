"""The product catalogue (CRM-4): goods and services with a list price, a currency and a VAT rate.

product = await create_product(session, principal, {"sku": "A2-PRN", "name": "A2 打印机",
                                                   "list_price": "4999.00", "tax_rate": "13"})
await update_product(session, principal, product.id, {"active": False})   # no longer quoted

SKUs are unique regardless of case ("a2-prn" is "A2-PRN"); products are never deleted once used
on a document, they are switched off (``active``) instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.interface import category_tax_rate
from app.crm.models import Product
from app.crm.services.fields import (
    clean_currency,
    clean_decimal,
    clean_long_text,
    clean_optional_text,
    clean_percent,
    clean_text,
)
from app.crm.services.opportunities import base_currency
from app.kernel.audit import audited
from app.kernel.errors import FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.security.principal import Principal

UNITS = ("pcs", "set", "box", "kg", "m", "h", "day", "month", "year", "licence")
UNIT_LABELS = {
    "pcs": lazy("pieces"),
    "set": lazy("sets"),
    "box": lazy("boxes"),
    "kg": lazy("kilograms"),
    "m": lazy("metres"),
    "h": lazy("hours"),
    "day": lazy("days"),
    "month": lazy("months"),
    "year": lazy("years"),
    "licence": lazy("licences"),
}
_SKU_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_./")


def truthy(value: object) -> bool:
    """A checkbox or JSON boolean: "1"/"on"/"true"/True."""
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "on", "true", "yes")


def products_query() -> Select[Any]:
    return select(Product)


def search_products(stmt: Select[Any], q: str) -> Select[Any]:
    like = f"%{q.lower()}%"
    return stmt.where(or_(func.lower(Product.sku).like(like), func.lower(Product.name).like(like)))


def with_category(stmt: Select[Any], category: str) -> Select[Any]:
    return stmt.where(Product.category == category)


def with_active(stmt: Select[Any], value: str) -> Select[Any]:
    return stmt.where(Product.active.is_(value == "active"))


async def categories(session: AsyncSession) -> list[str]:
    stmt = select(Product.category).where(Product.category.is_not(None)).distinct().order_by(Product.category)
    return [c for c in (await session.execute(stmt)).scalars() if c]


async def get_product(session: AsyncSession, product_id: int) -> Product:
    product = await session.get(Product, product_id)
    if product is None:
        raise NotFound(lazy("product"))
    return product


async def active_products(session: AsyncSession) -> list[Product]:
    stmt = select(Product).where(Product.active.is_(True)).order_by(Product.name, Product.id)
    return list((await session.execute(stmt)).scalars())


def _clean(data: Mapping[str, Any], errors: list[FieldError], *, partial: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def present(key: str) -> bool:
        return not partial or key in data

    if present("sku"):
        sku = clean_text(data.get("sku"), "sku", errors, required=True, max_len=64)
        if sku and not set(sku) <= _SKU_CHARS:
            errors.append(FieldError("sku", "Use letters, digits and - _ . / only."))
        out["sku"] = sku
    if present("name"):
        out["name"] = clean_text(data.get("name"), "name", errors, required=True, max_len=200)
    if present("description"):
        out["description"] = clean_long_text(data.get("description"), "description", errors, max_len=5000)
    if present("category"):
        out["category"] = clean_optional_text(data.get("category"), "category", errors, max_len=80)
    if present("unit"):
        unit = clean_text(data.get("unit"), "unit", errors, max_len=16) or "pcs"
        out["unit"] = unit
    if present("list_price"):
        out["list_price"] = clean_decimal(data.get("list_price"), "list_price", errors, places=4)
    if present("currency"):
        out["currency"] = clean_currency(data.get("currency"), "currency", errors, base_currency())
    if present("tax_rate"):
        out["tax_rate"] = clean_percent(data.get("tax_rate"), "tax_rate", errors, default=Decimal("0"))
    if present("active"):
        out["active"] = truthy(data.get("active")) if "active" in data else True
    return out


async def _check_sku_free(
    session: AsyncSession, sku: str, errors: list[FieldError], exclude: int | None = None
) -> None:
    stmt = select(Product.id).where(func.lower(Product.sku) == sku.lower())
    if exclude is not None:
        stmt = stmt.where(Product.id != exclude)
    if sku and (await session.execute(stmt)).first() is not None:
        errors.append(FieldError("sku", "Another product already has the SKU {sku}.", {"sku": sku}))


async def create_product(session: AsyncSession, principal: Principal, data: Mapping[str, Any]) -> Product:
    """A new product. A VAT rate left empty is its category's default rate when finance keeps one
    (app/crm/interface.py ``category_tax_rate``), else 0 %."""
    errors: list[FieldError] = []
    values = _clean(data, errors, partial=False)
    if str(data.get("tax_rate") or "").strip() == "" and values.get("category"):
        values["tax_rate"] = await category_tax_rate(session, values["category"]) or values["tax_rate"]
    await _check_sku_free(session, values["sku"], errors)
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.product_created"):
        product = Product(**values)
        session.add(product)
    return product


async def update_product(
    session: AsyncSession, principal: Principal, product_id: int, data: Mapping[str, Any]
) -> Product:
    """Change the fields present in ``data``. Prices already on quotes and orders stay as they were."""
    product = await get_product(session, product_id)
    errors: list[FieldError] = []
    values = _clean(data, errors, partial=True)
    if "sku" in values:
        await _check_sku_free(session, values["sku"], errors, exclude=product.id)
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.product_updated"):
        for key, value in values.items():
            setattr(product, key, value)
    return product
