"""Products, quotes and sales orders under /api/v1/crm (CRM-4); contracts in api/contracts.py.

Handlers parse, call the services and shape the answer. Reads go through the record rules like
the portal's (an API client acts with its scopes, record scope ``all``); every ``{id}`` route
loads its record first, so a hidden or foreign id is a 404 whatever the body says. Status
changes answer the order as it now is; a refused change is a 409 problem with a stable ``code``
(``order_already_confirmed``, ``order_cancelled``, ``order_locked``, ...).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.api import contracts
from app.crm.models import Product, Quote, SalesOrder
from app.crm.schemas import sales as schemas
from app.crm.services import order_status, orders, products, quotes
from app.kernel.api import Cursor, IdempotencyKey, Limit, StrictBody, create_once, operation
from app.kernel.pagination import DEFAULT_LIMIT, Key, Ordering, fetch_page
from app.kernel.web import DbSession
from app.security.permissions import (
    CRM_ORDER_CONFIRM,
    CRM_ORDER_READ,
    CRM_ORDER_WRITE,
    CRM_PRODUCT_READ,
)
from app.security.principal import Principal

CurrentPrincipal = NamedDependency[Principal]

PRODUCTS = Ordering("crm_products", (Key(func.lower(Product.sku), str), Key(Product.id, int)))
QUOTES = Ordering("crm_quotes", (Key(Quote.created_at, datetime), Key(Quote.id, int)), descending=True)
ORDERS = Ordering(
    "crm_sales_orders", (Key(SalesOrder.order_date, date), Key(SalesOrder.id, int)), descending=True
)

OwnerFilter = Annotated[int | None, QueryParameter(description="Records of this owner (user id).")]
AccountFilter = Annotated[int | None, QueryParameter(description="Records of this account.")]


def body_of(data: msgspec.Struct) -> dict[str, Any]:
    """A request Struct as the services' input: omitted and null fields are left out (defaults apply)."""
    return {k: v for k, v in msgspec.to_builtins(data).items() if v is not None}


# --- products --------------------------------------------------------------------------------


@get(
    "/products",
    summary="List products",
    description="Ordered by SKU (case-insensitive).",
    tags=["products"],
    **operation(CRM_PRODUCT_READ),
)
async def list_products(
    db: DbSession,
    q: Annotated[str | None, QueryParameter(max_length=200, description="Part of the SKU or name.")] = None,
    active: Annotated[
        bool | None, QueryParameter(description="true: products on sale; false: retired.")
    ] = None,
    category: Annotated[str | None, QueryParameter(max_length=80)] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> schemas.ProductPage:
    stmt = products.products_query()
    if q:
        stmt = products.search_products(stmt, q)
    if active is not None:
        stmt = products.with_active(stmt, "active" if active else "inactive")
    if category:
        stmt = products.with_category(stmt, category)
    page = await fetch_page(db, stmt, PRODUCTS, limit=limit, cursor=cursor)
    return schemas.ProductPage(items=[schemas.product_of(p) for p in page.rows], next_cursor=page.next_cursor)


@get(
    "/products/{product_id:int}",
    summary="Get a product",
    tags=["products"],
    **operation(CRM_PRODUCT_READ, resource="crm_products", problems=[404]),
)
async def get_product(db: DbSession, product_id: FromPath[int]) -> schemas.Product:
    return schemas.product_of(await products.get_product(db, product_id))


# --- quotes ----------------------------------------------------------------------------------


async def _quote(db: AsyncSession, quote: Quote) -> schemas.Quote:
    return schemas.quote_of(quote, await quotes.quote_lines(db, quote.id))


@get(
    "/quotes",
    summary="List quotes",
    description="Newest first. Lines are on the item route.",
    tags=["quotes"],
    **operation(CRM_ORDER_READ),
)
async def list_quotes(
    db: DbSession,
    principal: CurrentPrincipal,
    status: Annotated[schemas.QuoteStatus | None, QueryParameter()] = None,
    account_id: AccountFilter = None,
    owner_id: OwnerFilter = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> schemas.QuotePage:
    stmt = quotes.visible_quotes(principal)
    if status is not None:
        stmt = stmt.where(Quote.status == status)
    if account_id is not None:
        stmt = stmt.where(Quote.account_id == account_id)
    if owner_id is not None:
        stmt = stmt.where(Quote.owner_id == owner_id)
    page = await fetch_page(db, stmt, QUOTES, limit=limit, cursor=cursor)
    return schemas.QuotePage(items=[schemas.quote_of(q) for q in page.rows], next_cursor=page.next_cursor)


@get(
    "/quotes/{quote_id:int}",
    summary="Get a quote with its lines",
    tags=["quotes"],
    **operation(CRM_ORDER_READ, resource="crm_quotes", problems=[404]),
)
async def get_quote(db: DbSession, principal: CurrentPrincipal, quote_id: FromPath[int]) -> schemas.Quote:
    return await _quote(db, await quotes.get_quote(db, principal, quote_id))


@post(
    "/quotes",
    summary="Create a quote",
    description="A draft with its lines, priced from the catalogue and the price list. The account "
    "must be visible to the token (scope `crm.account.read`). Honours `Idempotency-Key`.",
    tags=["quotes"],
    dto=StrictBody[schemas.QuoteCreate],
    return_dto=None,
    **operation(CRM_ORDER_WRITE, problems=[413, 422]),
)
async def create_quote(
    request: Request[Any, Any, Any],
    db: DbSession,
    principal: CurrentPrincipal,
    data: JSONBody[schemas.QuoteCreate],
    idempotency_key: IdempotencyKey = None,
) -> Response[schemas.Quote]:
    async def create() -> schemas.Quote:
        return await _quote(db, await quotes.create_quote(db, principal, body_of(data)))

    return await create_once(
        request, db, actor=principal.key, key=idempotency_key, data=data, out=schemas.Quote, create=create
    )


# --- sales orders ----------------------------------------------------------------------------


async def _order(db: AsyncSession, order: SalesOrder) -> schemas.SalesOrder:
    return schemas.order_of(order, await orders.order_lines(db, order.id))


@get(
    "/orders",
    summary="List sales orders",
    description="Newest order date first. Lines are on the item route.",
    tags=["sales orders"],
    **operation(CRM_ORDER_READ),
)
async def list_orders(
    db: DbSession,
    principal: CurrentPrincipal,
    status: Annotated[schemas.OrderStatus | None, QueryParameter()] = None,
    account_id: AccountFilter = None,
    owner_id: OwnerFilter = None,
    ordered_from: Annotated[date | None, QueryParameter(description="Order date on or after.")] = None,
    ordered_until: Annotated[date | None, QueryParameter(description="Order date on or before.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> schemas.SalesOrderPage:
    stmt = orders.visible_orders(principal)
    if status is not None:
        stmt = stmt.where(SalesOrder.status == status)
    if account_id is not None:
        stmt = stmt.where(SalesOrder.account_id == account_id)
    if owner_id is not None:
        stmt = stmt.where(SalesOrder.owner_id == owner_id)
    if ordered_from is not None:
        stmt = stmt.where(SalesOrder.order_date >= ordered_from)
    if ordered_until is not None:
        stmt = stmt.where(SalesOrder.order_date <= ordered_until)
    page = await fetch_page(db, stmt, ORDERS, limit=limit, cursor=cursor)
    return schemas.SalesOrderPage(
        items=[schemas.order_of(o) for o in page.rows], next_cursor=page.next_cursor
    )


@get(
    "/orders/{order_id:int}",
    summary="Get a sales order with its lines",
    tags=["sales orders"],
    **operation(CRM_ORDER_READ, resource="crm_sales_orders", problems=[404]),
)
async def get_order(
    db: DbSession, principal: CurrentPrincipal, order_id: FromPath[int]
) -> schemas.SalesOrder:
    return await _order(db, await orders.get_order(db, principal, order_id))


@post(
    "/orders",
    summary="Create a sales order",
    description="A draft order with its lines. The account must be visible to the token "
    "(scope `crm.account.read`). Honours `Idempotency-Key`.",
    tags=["sales orders"],
    dto=StrictBody[schemas.SalesOrderCreate],
    return_dto=None,
    **operation(CRM_ORDER_WRITE, problems=[413, 422]),
)
async def create_order(
    request: Request[Any, Any, Any],
    db: DbSession,
    principal: CurrentPrincipal,
    data: JSONBody[schemas.SalesOrderCreate],
    idempotency_key: IdempotencyKey = None,
) -> Response[schemas.SalesOrder]:
    async def create() -> schemas.SalesOrder:
        return await _order(db, await orders.create_order(db, principal, body_of(data)))

    return await create_once(
        request,
        db,
        actor=principal.key,
        key=idempotency_key,
        data=data,
        out=schemas.SalesOrder,
        create=create,
    )


@post(
    "/orders/{order_id:int}/confirm",
    summary="Confirm a sales order",
    description="Freezes the lines and publishes `crm.sales_order_confirmed` (finance posts the receivable, "
    "production plans). Of two simultaneous confirmations one succeeds, the other is a 409 "
    "`order_already_confirmed`.",
    tags=["sales orders"],
    status_code=200,
    **operation(CRM_ORDER_CONFIRM, resource="crm_sales_orders", problems=[404, 409]),
)
async def confirm_order(
    db: DbSession, principal: CurrentPrincipal, order_id: FromPath[int]
) -> schemas.SalesOrder:
    return await _order(db, await order_status.confirm_order(db, principal, order_id))


@post(
    "/orders/{order_id:int}/fulfil",
    summary="Mark a sales order fulfilled",
    description="The goods are delivered; publishes `crm.sales_order_fulfilled`.",
    tags=["sales orders"],
    status_code=200,
    **operation(CRM_ORDER_CONFIRM, resource="crm_sales_orders", problems=[404, 409]),
)
async def fulfil_order(
    db: DbSession, principal: CurrentPrincipal, order_id: FromPath[int]
) -> schemas.SalesOrder:
    return await _order(db, await order_status.fulfil_order(db, principal, order_id))


@post(
    "/orders/{order_id:int}/cancel",
    summary="Cancel a sales order",
    description="Draft or confirmed orders only, with a `reason`; publishes `crm.sales_order_cancelled`.",
    tags=["sales orders"],
    status_code=200,
    dto=StrictBody[schemas.SalesOrderCancel],
    return_dto=None,
    **operation(CRM_ORDER_CONFIRM, resource="crm_sales_orders", problems=[404, 409, 422]),
)
async def cancel_order(
    db: DbSession,
    principal: CurrentPrincipal,
    order_id: FromPath[int],
    data: JSONBody[schemas.SalesOrderCancel],
) -> schemas.SalesOrder:
    return await _order(db, await order_status.cancel_order(db, principal, order_id, data.reason))


ROUTES: list[HTTPRouteHandler] = [
    list_products,
    get_product,
    list_quotes,
    get_quote,
    create_quote,
    list_orders,
    get_order,
    create_order,
    confirm_order,
    fulfil_order,
    cancel_order,
    # Contracts live in their own module; mounted through this one (app/crm/api/__init__.py lists
    # one module per concept and is not ours to edit).
    *contracts.ROUTES,
]
