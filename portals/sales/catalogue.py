"""Sales › Products and Price lists (CRM-4): the catalogue everyone who quotes can read, and
that people with ``crm.product.write`` maintain (list prices, VAT rates, volume breaks)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import PriceList, PriceListItem, Product
from app.crm.services import price_lists, products
from app.crm.services.calendar import tenant_today
from app.crm.services.opportunities import base_currency
from app.kernel import i18n
from app.kernel.csvfile import csv_bytes
from app.kernel.db import utcnow
from app.kernel.errors import DomainError, NotFound
from app.kernel.i18n import lazy
from app.kernel.web import DbSession
from app.security.permissions import CRM_PRODUCT_READ, CRM_PRODUCT_WRITE
from portals.exports import ExportColumn, csv_download, csv_export
from portals.forms import checked, wants_fragment
from portals.nav import NavItem, register
from portals.sales.documents import formatters, plain, product_options
from portals.tables import Column, Filter, TableSpec, fetch_page, parse_query
from portals.web import FormState, flash, form_data, perm, principal, redirect, render

PRODUCTS = "/sales/products"
PRICE_LISTS = "/sales/price-lists"

register(
    NavItem(lazy("Sales"), lazy("Products"), PRODUCTS, CRM_PRODUCT_READ, icon="box", order=70),
    NavItem(lazy("Sales"), lazy("Price lists"), PRICE_LISTS, CRM_PRODUCT_READ, icon="list", order=72),
)
ACTIVE_LABELS = {"active": lazy("On sale"), "inactive": lazy("Retired")}
SKU = "SKU"  # the same in every language: not a msgid


def products_table(category_list: list[str] | None = None) -> TableSpec:
    """``category_list`` None (fragments, exports): any category value filters."""
    return TableSpec(
        columns=[
            Column("sku", SKU, sort=Product.sku),
            Column("name", lazy("Name"), sort=Product.name),
            Column("category", lazy("Category"), sort=Product.category),
            Column("unit", lazy("Unit")),
            Column("price", lazy("List price"), sort=Product.list_price, align="right"),
            Column("tax", lazy("VAT"), sort=Product.tax_rate, align="right"),
            Column("status", lazy("Status")),
        ],
        default_sort="name",
        filters=[
            Filter(
                "category",
                lazy("Category"),
                products.with_category,
                [(c, c) for c in category_list] if category_list is not None else [],
            ),
            Filter("active", lazy("Status"), products.with_active, list(ACTIVE_LABELS.items())),
        ],
        search=products.search_products,
        tiebreak=Product.id,
    )


EXPORT = [
    ExportColumn(SKU, lambda p: p.sku),
    ExportColumn(lazy("Name"), lambda p: p.name),
    ExportColumn(lazy("Category"), lambda p: p.category or ""),
    ExportColumn(lazy("Unit"), lambda p: p.unit),
    ExportColumn(lazy("List price"), lambda p: str(p.list_price)),
    ExportColumn(lazy("Currency"), lambda p: p.currency),
    ExportColumn(lazy("VAT rate (%)"), lambda p: str(p.tax_rate)),
    ExportColumn(lazy("Status"), lambda p: i18n.gettext(ACTIVE_LABELS["active" if p.active else "inactive"])),
]


@get(PRODUCTS, opt=perm(CRM_PRODUCT_READ))
async def product_list(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    fragment = wants_fragment(request)
    spec = products_table(None if fragment else await products.categories(db))
    page = await fetch_page(db, products.products_query(), spec, parse_query(request.query_params, spec))
    ctx = {"page": page, "base": PRODUCTS, "active_labels": ACTIVE_LABELS, **formatters()}
    if fragment:
        return render(request, "sales/_product_table.html", **ctx)
    return render(request, "sales/product_list.html", **ctx)


@get(f"{PRODUCTS}/export.csv", opt=perm(CRM_PRODUCT_READ))
async def product_export(request: Request[Any, Any, Any], db: DbSession) -> Response[bytes]:
    return await csv_export(request, db, products.products_query(), products_table(), EXPORT, "products")


async def _product_form(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    form: FormState,
    product: Product | None,
    status: int = 200,
) -> Response[Any]:
    on_lists: list[Any] = []
    if product is not None:
        stmt = (
            select(PriceList, PriceListItem)
            .join(PriceListItem, PriceListItem.price_list_id == PriceList.id)
            .where(PriceListItem.product_id == product.id)
            .order_by(PriceList.name, PriceListItem.min_quantity)
        )
        on_lists = list((await db.execute(stmt)).all())
    return render(
        request,
        "sales/product_form.html",
        status=status,
        form=form,
        product=product,
        on_lists=on_lists,
        can_edit=principal(request).can(CRM_PRODUCT_WRITE),
        categories=await products.categories(db),
        units=[(u, f"{u} — {i18n.gettext(label)}") for u, label in products.UNIT_LABELS.items()],
        currency=base_currency(),
        **formatters(),
    )


def _product_values(form: dict[str, Any]) -> dict[str, Any]:
    return {**form, "active": checked(form, "active")}


@get(f"{PRODUCTS}/new", opt=perm(CRM_PRODUCT_WRITE))
async def product_new(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    # The VAT rate starts empty: saved empty, it becomes the category's rate (finance's tax page).
    form = FormState({"unit": "pcs", "currency": base_currency(), "tax_rate": "", "active": "1"})
    return await _product_form(request, db, form, None)


@post(PRODUCTS, opt=perm(CRM_PRODUCT_WRITE))
async def product_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    try:
        product = await products.create_product(db, principal(request), _product_values(form))
    except DomainError as exc:
        await db.rollback()
        return await _product_form(request, db, FormState(form, exc), None, status=422)
    flash(request, "success", i18n.gettext("The product {sku} is created.", sku=product.sku))
    return redirect(f"{PRODUCTS}/{product.id}", request)


def _stored(product: Product) -> FormState:
    return FormState(
        {
            "sku": product.sku,
            "name": product.name,
            "description": product.description,
            "category": product.category or "",
            "unit": product.unit,
            "list_price": plain(product.list_price),
            "currency": product.currency,
            "tax_rate": plain(product.tax_rate, 0),
            "active": "1" if product.active else "",
        }
    )


@get(f"{PRODUCTS}/{{product_id:int}}", opt=perm(CRM_PRODUCT_READ, resource="crm_products"))
async def product_detail(
    request: Request[Any, Any, Any], db: DbSession, product_id: FromPath[int]
) -> Response[Any]:
    product = await products.get_product(db, product_id)
    return await _product_form(request, db, _stored(product), product)


@post(f"{PRODUCTS}/{{product_id:int}}", opt=perm(CRM_PRODUCT_WRITE, resource="crm_products"))
async def product_save(
    request: Request[Any, Any, Any], db: DbSession, product_id: FromPath[int]
) -> Response[Any]:
    product = await products.get_product(db, product_id)
    form = await form_data(request)
    try:
        await products.update_product(db, principal(request), product.id, _product_values(form))
    except DomainError as exc:
        await db.rollback()
        product = await products.get_product(db, product_id)
        return await _product_form(request, db, FormState(form, exc), product, status=422)
    flash(request, "success", i18n.gettext("The product {sku} is saved.", sku=product.sku))
    return redirect(f"{PRODUCTS}/{product.id}", request)


# --- price lists -----------------------------------------------------------------------------


def _list_values(form: dict[str, Any]) -> dict[str, Any]:
    return {**form, "is_default": checked(form, "is_default"), "active": checked(form, "active")}


@get(PRICE_LISTS, opt=perm(CRM_PRODUCT_READ))
async def price_list_index(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    return await _price_lists(request, db, FormState({"currency": base_currency(), "active": "1"}))


async def _price_counts(db: AsyncSession) -> dict[int, int]:
    """How many prices each list holds (the page's and the export's "Prices" column)."""
    rows = await db.execute(
        select(PriceListItem.price_list_id, func.count()).group_by(PriceListItem.price_list_id)
    )
    return {int(i): int(n) for i, n in rows.all()}


async def _price_lists(
    request: Request[Any, Any, Any], db: AsyncSession, form: FormState, status: int = 200
) -> Response[Any]:
    lists = await price_lists.all_price_lists(db)
    counts = await _price_counts(db)
    return render(
        request,
        "sales/price_lists.html",
        status=status,
        form=form,
        lists=lists,
        counts=counts,
        today=tenant_today(),
        usable_on=price_lists.usable_on,
        can_edit=principal(request).can(CRM_PRODUCT_WRITE),
    )


def _csv(headers: list[str], rows: list[list[Any]], name: str) -> Response[bytes]:
    filename = f"{name}-{utcnow().date().isoformat()}.csv"
    return csv_download(csv_bytes([i18n.gettext(h) for h in headers], rows), f"{filename}")


def _day(value: Any) -> str:
    return value.isoformat() if value else ""


def _usage(plist: PriceList, today: Any) -> str:
    """The status the list page shows: in use, switched off, or outside its dates."""
    if price_lists.usable_on(plist, today):
        return i18n.gettext("In use")
    return i18n.gettext("Switched off") if not plist.active else i18n.gettext("Outside its dates")


PRICE_LIST_HEADERS = [
    lazy("Name"),
    lazy("Currency"),
    lazy("Valid from"),
    lazy("Valid until"),
    lazy("Default for new quotes in this currency"),
    lazy("Prices"),
    lazy("Status"),
]


@get(f"{PRICE_LISTS}/export.csv", opt=perm(CRM_PRODUCT_READ))
async def price_list_export(request: Request[Any, Any, Any], db: DbSession) -> Response[bytes]:
    """Every price list the page shows, in its order (the page has no filters)."""
    counts, today = await _price_counts(db), tenant_today()
    rows = [
        [
            pl.name,
            pl.currency,
            _day(pl.valid_from),
            _day(pl.valid_to),
            i18n.gettext("Yes") if pl.is_default else i18n.gettext("No"),
            counts.get(pl.id, 0),
            _usage(pl, today),
        ]
        for pl in await price_lists.all_price_lists(db)
    ]
    return _csv(PRICE_LIST_HEADERS, rows, "price-lists")


ITEM_HEADERS = [
    SKU,
    lazy("Product"),
    lazy("From quantity"),
    lazy("Unit"),
    lazy("Unit price"),
    lazy("Currency"),
    lazy("List price"),
    lazy("Discount (%)"),
]


def _discount(unit_price: Decimal, product: Product, currency: str) -> str:
    """Off the product's list price, in %; blank when the two prices are not comparable
    (another currency, or a list price of 0). Negative: above the list price."""
    if product.currency != currency or not product.list_price:
        return ""
    off = (Decimal(product.list_price) - Decimal(unit_price)) * 100 / Decimal(product.list_price)
    return f"{off:.2f}"


def _item_row(item: PriceListItem, product: Product, currency: str) -> list[Any]:
    same = product.currency == currency  # a list price in another currency is not comparable
    return [
        product.sku,
        product.name,
        plain(item.min_quantity, 0),
        product.unit,
        plain(item.unit_price),
        currency,
        plain(product.list_price) if same else "",
        _discount(item.unit_price, product, currency),
    ]


@get(f"{PRICE_LISTS}/{{price_list_id:int}}/items.csv", opt=perm(CRM_PRODUCT_READ, resource="crm_price_lists"))
async def price_list_items_export(
    request: Request[Any, Any, Any], db: DbSession, price_list_id: FromPath[int]
) -> Response[bytes]:
    """The list's prices as its page shows them (product, then volume break)."""
    plist = await price_lists.get_price_list(db, price_list_id)
    rows = [
        _item_row(item, product, plist.currency) for item, product in await price_lists.items_of(db, plist.id)
    ]
    return _csv(ITEM_HEADERS, rows, f"price-list-{plist.id}")


@post(PRICE_LISTS, opt=perm(CRM_PRODUCT_WRITE))
async def price_list_create(request: Request[Any, Any, Any], db: DbSession) -> Response[Any]:
    form = await form_data(request)
    try:
        plist = await price_lists.create_price_list(db, principal(request), _list_values(form))
    except DomainError as exc:
        await db.rollback()
        return await _price_lists(request, db, FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("The price list {name} is created.", name=plist.name))
    return redirect(f"{PRICE_LISTS}/{plist.id}", request)


async def _price_list(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    plist: PriceList,
    *,
    form: FormState | None = None,
    item_form: FormState | None = None,
    status: int = 200,
) -> Response[Any]:
    stored = FormState(
        {
            "name": plist.name,
            "currency": plist.currency,
            "valid_from": plist.valid_from.isoformat() if plist.valid_from else "",
            "valid_to": plist.valid_to.isoformat() if plist.valid_to else "",
            "is_default": "1" if plist.is_default else "",
            "active": "1" if plist.active else "",
        }
    )
    return render(
        request,
        "sales/price_list_detail.html",
        status=status,
        plist=plist,
        form=form or stored,
        item_form=item_form or FormState({"min_quantity": "1"}),
        items=await price_lists.items_of(db, plist.id),
        product_choices=await product_options(db),
        today=tenant_today(),
        usable=price_lists.usable_on(plist, tenant_today()),
        can_edit=principal(request).can(CRM_PRODUCT_WRITE),
        **formatters(),
    )


@get(f"{PRICE_LISTS}/{{price_list_id:int}}", opt=perm(CRM_PRODUCT_READ, resource="crm_price_lists"))
async def price_list_detail(
    request: Request[Any, Any, Any], db: DbSession, price_list_id: FromPath[int]
) -> Response[Any]:
    return await _price_list(request, db, await price_lists.get_price_list(db, price_list_id))


@post(f"{PRICE_LISTS}/{{price_list_id:int}}", opt=perm(CRM_PRODUCT_WRITE, resource="crm_price_lists"))
async def price_list_save(
    request: Request[Any, Any, Any], db: DbSession, price_list_id: FromPath[int]
) -> Response[Any]:
    plist = await price_lists.get_price_list(db, price_list_id)
    form = await form_data(request)
    try:
        await price_lists.update_price_list(db, principal(request), plist.id, _list_values(form))
    except DomainError as exc:
        await db.rollback()
        plist = await price_lists.get_price_list(db, price_list_id)
        return await _price_list(request, db, plist, form=FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("The price list {name} is saved.", name=plist.name))
    return redirect(f"{PRICE_LISTS}/{plist.id}", request)


@post(f"{PRICE_LISTS}/{{price_list_id:int}}/items", opt=perm(CRM_PRODUCT_WRITE, resource="crm_price_lists"))
async def price_list_item_add(
    request: Request[Any, Any, Any], db: DbSession, price_list_id: FromPath[int]
) -> Response[Any]:
    plist = await price_lists.get_price_list(db, price_list_id)
    form = await form_data(request)
    try:
        await price_lists.add_item(db, principal(request), plist.id, form)
    except DomainError as exc:
        await db.rollback()
        plist = await price_lists.get_price_list(db, price_list_id)
        return await _price_list(request, db, plist, item_form=FormState(form, exc), status=422)
    flash(request, "success", i18n.gettext("The price is added."))
    return redirect(f"{PRICE_LISTS}/{plist.id}", request)


@post(
    "/sales/price-list-items/{item_id:int}/delete",
    opt=perm(CRM_PRODUCT_WRITE, resource="crm_price_list_items"),
)
async def price_list_item_remove(
    request: Request[Any, Any, Any], db: DbSession, item_id: FromPath[int]
) -> Response[Any]:
    item = await db.get(PriceListItem, item_id)
    if item is None:
        raise NotFound(lazy("price"))
    plist_id = item.price_list_id
    await price_lists.remove_item(db, principal(request), plist_id, item.id)
    flash(request, "success", i18n.gettext("The price is removed."))
    return redirect(f"{PRICE_LISTS}/{plist_id}", request)


ROUTES = [
    product_list,
    product_export,
    product_new,
    product_create,
    product_detail,
    product_save,
    price_list_index,
    price_list_export,
    price_list_create,
    price_list_detail,
    price_list_items_export,
    price_list_save,
    price_list_item_add,
    price_list_item_remove,
]
