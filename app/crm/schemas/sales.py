"""API representations and request bodies: products, quotes, sales orders, contracts (CRM-4/5).

Money, prices, quantities and rates travel as decimal *strings* with their fixed scale
("1130.00", unit prices "500.0000", quantities "2.000", rates "13.00"), dates as ISO 8601.
Request bodies refuse unknown fields and wrong JSON types (400); what the values *mean* — a
negative quantity, a discount over 100 %, a currency other than the price list's — is judged by
the services and answered 422 with field errors (``lines[1].quantity``), like the portal's forms.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from msgspec import Meta, Struct

from app.crm import models
from app.crm.services.calendar import tenant_today
from app.crm.services.collections import instalment_status, open_amount

Number = Annotated[str, Meta(max_length=32, description='A decimal string, e.g. "12.5" or "4999.00".')]
Currency = Annotated[str, Meta(max_length=3, description="ISO 4217, e.g. CNY.")]
Short = Annotated[str, Meta(max_length=200)]
Text = Annotated[str, Meta(max_length=20_000)]
QuoteStatus = Literal["draft", "sent", "accepted", "rejected", "expired", "ordered"]
OrderStatus = Literal["draft", "confirmed", "fulfilled", "invoiced", "cancelled"]
ContractStatus = Literal["draft", "active", "completed", "terminated"]
InstalmentStatus = Literal["pending", "partially_paid", "paid", "overdue"]


def fixed(value: Decimal, places: int) -> str:
    return str(Decimal(value).quantize(Decimal(1).scaleb(-places)))


def money(value: Decimal) -> str:
    return fixed(value, 2)


# --- products --------------------------------------------------------------------------------


class Product(Struct):
    id: int
    sku: str
    name: str
    description: str
    category: str | None
    unit: str
    list_price: Annotated[str, Meta(description="Four decimals: unit prices may be fractions of a cent.")]
    currency: str
    tax_rate: Annotated[str, Meta(description="VAT rate in %, e.g. 13.00.")]
    active: bool
    created_at: datetime
    updated_at: datetime


class ProductPage(Struct):
    items: list[Product]
    next_cursor: str | None


def product_of(p: models.Product) -> Product:
    return Product(
        id=p.id,
        sku=p.sku,
        name=p.name,
        description=p.description,
        category=p.category,
        unit=p.unit,
        list_price=fixed(p.list_price, 4),
        currency=p.currency,
        tax_rate=fixed(p.tax_rate, 2),
        active=p.active,
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


# --- lines -----------------------------------------------------------------------------------


class Line(Struct):
    id: int
    position: int
    product_id: int | None
    description: str
    quantity: str
    unit: str
    unit_price: str
    discount_percent: str
    tax_rate: str
    net_amount: Annotated[str, Meta(description="After the discount, before VAT.")]
    discount_amount: str
    tax_amount: str
    total_amount: str


class LineCreate(Struct, forbid_unknown_fields=True):
    """A product line (description, unit, VAT rate and price come from the product and the
    document's price list unless given) or a free-text line (description and unit price)."""

    product_id: int | None = None
    quantity: Number = "1"
    description: Annotated[str, Meta(max_length=300)] | None = None
    unit: Annotated[str, Meta(max_length=16)] | None = None
    unit_price: Annotated[Number | None, Meta(description="Omit for the price list's or list price.")] = None
    discount_percent: Number | None = None
    tax_rate: Number | None = None


def line_of(line: models.QuoteLine | models.SalesOrderLine) -> Line:
    return Line(
        id=line.id,
        position=line.position,
        product_id=line.product_id,
        description=line.description,
        quantity=fixed(line.quantity, 3),
        unit=line.unit,
        unit_price=fixed(line.unit_price, 4),
        discount_percent=fixed(line.discount_percent, 2),
        tax_rate=fixed(line.tax_rate, 2),
        net_amount=money(line.net_amount),
        discount_amount=money(line.discount_amount),
        tax_amount=money(line.tax_amount),
        total_amount=money(line.total_amount),
    )


Lines = Annotated[list[LineCreate], Meta(max_length=200)]


# --- quotes ----------------------------------------------------------------------------------


class Quote(Struct):
    id: int
    number: str
    status: QuoteStatus
    account_id: int
    contact_id: int | None
    opportunity_id: int | None
    price_list_id: int | None
    currency: str
    valid_until: date | None
    notes: str
    sent_at: datetime | None
    owner_id: int | None
    team_id: int | None
    subtotal: Annotated[str, Meta(description="Sum of the lines' net amounts (after discounts).")]
    discount_total: str
    tax_total: str
    total: str
    created_at: datetime
    updated_at: datetime
    lines: Annotated[list[Line] | None, Meta(description="On the item and create routes; null in lists.")]


class QuotePage(Struct):
    items: list[Quote]
    next_cursor: str | None


class QuoteCreate(Struct, forbid_unknown_fields=True):
    """A draft quote. Without ``account_id`` the opportunity's account is used; without a price
    list the default list of the currency applies; ``valid_until`` defaults to 30 days."""

    account_id: int | None = None
    contact_id: int | None = None
    opportunity_id: int | None = None
    price_list_id: int | None = None
    currency: Currency | None = None
    valid_until: date | None = None
    notes: Text = ""
    owner_id: int | None = None
    lines: Lines = []


def quote_of(q: models.Quote, lines: list[models.QuoteLine] | None = None) -> Quote:
    return Quote(
        id=q.id,
        number=q.number,
        status=q.status,  # type: ignore[arg-type]
        account_id=q.account_id,
        contact_id=q.contact_id,
        opportunity_id=q.opportunity_id,
        price_list_id=q.price_list_id,
        currency=q.currency,
        valid_until=q.valid_until,
        notes=q.notes,
        sent_at=q.sent_at,
        owner_id=q.owner_id,
        team_id=q.team_id,
        subtotal=money(q.subtotal),
        discount_total=money(q.discount_total),
        tax_total=money(q.tax_total),
        total=money(q.total),
        created_at=q.created_at,
        updated_at=q.updated_at,
        lines=[line_of(ln) for ln in lines] if lines is not None else None,
    )


# --- sales orders ----------------------------------------------------------------------------


class SalesOrder(Struct):
    id: int
    number: str
    status: OrderStatus
    account_id: int
    contact_id: int | None
    quote_id: int | None
    opportunity_id: int | None
    price_list_id: int | None
    currency: str
    order_date: date
    requested_delivery_date: date | None
    customer_reference: Annotated[str | None, Meta(description="The customer's purchase order number.")]
    shipping_address: str | None
    notes: str
    owner_id: int | None
    team_id: int | None
    subtotal: str
    discount_total: str
    tax_total: str
    total: str
    confirmed_at: datetime | None
    fulfilled_at: datetime | None
    invoiced_at: datetime | None
    invoice_ref: str | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    created_at: datetime
    updated_at: datetime
    lines: Annotated[
        list[Line] | None, Meta(description="On the item, create and status routes; null in lists.")
    ]


class SalesOrderPage(Struct):
    items: list[SalesOrder]
    next_cursor: str | None


class SalesOrderCreate(Struct, forbid_unknown_fields=True):
    """A draft order. ``order_date`` defaults to today (the organisation's time zone)."""

    account_id: int | None = None
    contact_id: int | None = None
    opportunity_id: int | None = None
    price_list_id: int | None = None
    currency: Currency | None = None
    order_date: date | None = None
    requested_delivery_date: date | None = None
    customer_reference: Annotated[str, Meta(max_length=80)] | None = None
    shipping_address: Annotated[str, Meta(max_length=1000)] | None = None
    notes: Text = ""
    owner_id: int | None = None
    lines: Lines = []


class SalesOrderCancel(Struct, forbid_unknown_fields=True):
    reason: Annotated[Short, Meta(description="Why the order is cancelled (required, shown to the rep).")] = (
        ""
    )


def order_of(o: models.SalesOrder, lines: list[models.SalesOrderLine] | None = None) -> SalesOrder:
    return SalesOrder(
        id=o.id,
        number=o.number,
        status=o.status,  # type: ignore[arg-type]
        account_id=o.account_id,
        contact_id=o.contact_id,
        quote_id=o.quote_id,
        opportunity_id=o.opportunity_id,
        price_list_id=o.price_list_id,
        currency=o.currency,
        order_date=o.order_date,
        requested_delivery_date=o.requested_delivery_date,
        customer_reference=o.customer_reference,
        shipping_address=o.shipping_address,
        notes=o.notes,
        owner_id=o.owner_id,
        team_id=o.team_id,
        subtotal=money(o.subtotal),
        discount_total=money(o.discount_total),
        tax_total=money(o.tax_total),
        total=money(o.total),
        confirmed_at=o.confirmed_at,
        fulfilled_at=o.fulfilled_at,
        invoiced_at=o.invoiced_at,
        invoice_ref=o.invoice_ref,
        cancelled_at=o.cancelled_at,
        cancel_reason=o.cancel_reason,
        created_at=o.created_at,
        updated_at=o.updated_at,
        lines=[line_of(ln) for ln in lines] if lines is not None else None,
    )


# --- contracts -------------------------------------------------------------------------------


class Instalment(Struct):
    id: int
    due_date: date
    amount: str
    collected: str
    open: str
    status: InstalmentStatus
    description: str


class Contract(Struct):
    id: int
    number: str
    title: str
    status: ContractStatus
    account_id: int
    sales_order_id: int | None
    value: str
    currency: str
    start_date: date | None
    end_date: date | None
    signed_on: date | None
    payment_terms: str
    terms: str
    owner_id: int | None
    team_id: int | None
    created_at: datetime
    updated_at: datetime
    instalments: Annotated[list[Instalment] | None, Meta(description="The payment schedule; null in lists.")]


class ContractPage(Struct):
    items: list[Contract]
    next_cursor: str | None


def instalment_of(i: models.PaymentInstalment, today: date) -> Instalment:
    return Instalment(
        id=i.id,
        due_date=i.due_date,
        amount=money(i.amount),
        collected=money(i.collected),
        open=money(open_amount(i)),
        status=instalment_status(i, today),  # type: ignore[arg-type]
        description=i.description,
    )


def contract_of(
    c: models.Contract, instalments: list[models.PaymentInstalment] | None = None, today: date | None = None
) -> Contract:
    return Contract(
        id=c.id,
        number=c.number,
        title=c.title,
        status=c.status,  # type: ignore[arg-type]
        account_id=c.account_id,
        sales_order_id=c.sales_order_id,
        value=money(c.value),
        currency=c.currency,
        start_date=c.start_date,
        end_date=c.end_date,
        signed_on=c.signed_on,
        payment_terms=c.payment_terms,
        terms=c.terms,
        owner_id=c.owner_id,
        team_id=c.team_id,
        created_at=c.created_at,
        updated_at=c.updated_at,
        instalments=(
            [instalment_of(i, today or tenant_today()) for i in instalments]
            if instalments is not None
            else None
        ),
    )
