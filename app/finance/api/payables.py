"""Payables (FIN-3) under /api/v1/finance: suppliers, bills, payments to suppliers (the receipts
from customers are /payments), ageing and supplier statements.

Reads need ``fin.payable.read``, writes ``fin.payable.write``. Bills and payments are posted at
once through the posting door, so they are numbered, balanced and in an open period — or refused
with nothing written. Creates honour ``Idempotency-Key``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance import payables_schemas as schemas
from app.finance.models import Account, Bill, Payment, Supplier
from app.finance.services import bills, payables_reports, supplier_payments, suppliers
from app.finance.services.bills import BillInput, BillLineInput
from app.finance.services.payables_input import tenant_today
from app.finance.services.supplier_payments import AllocationInput, SupplierPaymentInput
from app.kernel.api import Cursor, IdempotencyKey, Limit, StrictBody, create_once, operation
from app.kernel.errors import DomainError, FieldError
from app.kernel.i18n import lazy
from app.kernel.pagination import DEFAULT_LIMIT, Key, Ordering, fetch_page
from app.kernel.web import DbSession
from app.security.permissions import FIN_PAYABLE_READ, FIN_PAYABLE_WRITE
from app.security.principal import Principal

CurrentPrincipal = NamedDependency[Principal]

SUPPLIERS = Ordering("fin_suppliers", (Key(func.lower(Supplier.name), str), Key(Supplier.id, int)))
BILLS = Ordering("fin_bills", (Key(Bill.id, int),), descending=True)
PAYMENTS = Ordering("fin_payments_out", (Key(Payment.id, int),), descending=True)
TAGS = ["finance: payables"]

Q = Annotated[str | None, QueryParameter(max_length=200, description="Part of a number, reference or name.")]
SupplierFilter = Annotated[int | None, QueryParameter(ge=1, description="Only this supplier's.")]
From = Annotated[date | None, QueryParameter(name="from", description="On or after this date.")]
To = Annotated[date | None, QueryParameter(name="to", description="On or before this date.")]


# --- suppliers ---------------------------------------------------------------------------------


async def _suppliers_out(db: AsyncSession, rows: list[Supplier]) -> list[schemas.Supplier]:
    balances = await payables_reports.supplier_balances(db, [s.id for s in rows])
    return [schemas.supplier_of(s, balances[s.id]) for s in rows]


@get(
    "/suppliers",
    summary="List suppliers",
    description="In name order, with what is owed to each.",
    tags=TAGS,
    **operation(FIN_PAYABLE_READ),
)
async def list_suppliers(
    db: DbSession,
    q: Q = None,
    active: Annotated[bool | None, QueryParameter(description="Only active (or deactivated) ones.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> schemas.SupplierPage:
    page = await fetch_page(
        db, suppliers.suppliers_stmt(q=q, active=active), SUPPLIERS, limit=limit, cursor=cursor
    )
    return schemas.SupplierPage(await _suppliers_out(db, list(page.rows)), page.next_cursor)


@get(
    "/suppliers/{supplier_id:int}",
    summary="Get a supplier",
    tags=TAGS,
    **operation(FIN_PAYABLE_READ, resource="fin_suppliers", problems=[404]),
)
async def get_supplier(db: DbSession, supplier_id: FromPath[int]) -> schemas.Supplier:
    return (await _suppliers_out(db, [await suppliers.get_supplier(db, supplier_id)]))[0]


@post(
    "/suppliers",
    summary="Create a supplier",
    description="Honours `Idempotency-Key`.",
    tags=TAGS,
    dto=StrictBody[schemas.SupplierCreate],
    return_dto=None,
    **operation(FIN_PAYABLE_WRITE, problems=[409, 413, 422]),
)
async def create_supplier(
    request: Request[Any, Any, Any],
    db: DbSession,
    principal: CurrentPrincipal,
    data: JSONBody[schemas.SupplierCreate],
    idempotency_key: IdempotencyKey = None,
) -> Response[schemas.Supplier]:
    async def create() -> schemas.Supplier:
        supplier = await suppliers.create_supplier(db, principal, schemas.fields_sent(data))
        return (await _suppliers_out(db, [supplier]))[0]

    return await create_once(
        request, db, actor=principal.key, key=idempotency_key, data=data, out=schemas.Supplier, create=create
    )


@patch(
    "/suppliers/{supplier_id:int}",
    summary="Change a supplier",
    description="Only the fields sent change; `null` clears an optional field (and resets `currency` and "
    "`payment_terms_days` to the defaults). `active: false` deactivates the supplier.",
    tags=TAGS,
    dto=StrictBody[schemas.SupplierUpdate],
    return_dto=None,
    **operation(FIN_PAYABLE_WRITE, resource="fin_suppliers", problems=[404, 409, 413, 422]),
)
async def update_supplier(
    db: DbSession,
    principal: CurrentPrincipal,
    supplier_id: FromPath[int],
    data: JSONBody[schemas.SupplierUpdate],
) -> schemas.Supplier:
    supplier = await suppliers.update_supplier(db, principal, supplier_id, schemas.fields_sent(data))
    await db.refresh(supplier)
    return (await _suppliers_out(db, [supplier]))[0]


def _period(date_from: date | None, date_to: date | None) -> tuple[date, date]:
    end = date_to or tenant_today()
    start = date_from or end.replace(month=1, day=1)
    if start > end:
        raise DomainError(
            "invalid_date_range",
            lazy("The start date is after the end date."),
            errors=[FieldError("from", lazy("The start date is after the end date."))],
        )
    return start, end


@get(
    "/suppliers/{supplier_id:int}/statement",
    summary="A supplier's statement",
    description="Opening balance, bills, cancellations and payments with a running balance, closing "
    "balance. `from` defaults to 1 January of `to`'s year, `to` to today.",
    tags=TAGS,
    **operation(FIN_PAYABLE_READ, resource="fin_suppliers", problems=[404, 422]),
)
async def supplier_statement(
    db: DbSession, supplier_id: FromPath[int], date_from: From = None, date_to: To = None
) -> schemas.Statement:
    supplier = await suppliers.get_supplier(db, supplier_id)
    start, end = _period(date_from, date_to)
    return schemas.statement_of(await payables_reports.statement(db, supplier, start, end))


# --- bills -------------------------------------------------------------------------------------


async def _bills_out(db: AsyncSession, rows: list[Bill]) -> list[schemas.Bill]:
    ids = {b.supplier_id for b in rows}
    by_id = {s.id: s for s in (await db.execute(select(Supplier).where(Supplier.id.in_(ids)))).scalars()}
    today = tenant_today()
    return [schemas.bill_of(b, by_id[b.supplier_id], bills.bill_status(b, today)) for b in rows]


async def _bill_detail(db: AsyncSession, bill_id: int) -> schemas.BillDetail:
    detail = await bills.bill_detail(db, bill_id)
    return schemas.bill_detail_of(detail, bills.bill_status(detail.bill, tenant_today()))


@get(
    "/bills",
    summary="List supplier bills",
    description="Newest first. `status`: open (not fully paid), overdue (open and past due), paid, "
    "cancelled.",
    tags=TAGS,
    **operation(FIN_PAYABLE_READ),
)
async def list_bills(
    db: DbSession,
    supplier_id: SupplierFilter = None,
    status: Annotated[schemas.BillStatus | None, QueryParameter()] = None,
    q: Q = None,
    date_from: From = None,
    date_to: To = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> schemas.BillPage:
    stmt = bills.filter_bills(
        select(Bill),
        supplier_id=supplier_id,
        status=status,
        q=q,
        date_from=date_from,
        date_to=date_to,
        today=tenant_today(),
    )
    page = await fetch_page(db, stmt, BILLS, limit=limit, cursor=cursor)
    return schemas.BillPage(await _bills_out(db, list(page.rows)), page.next_cursor)


@get(
    "/bills/{bill_id:int}",
    summary="Get a supplier bill",
    description="With its lines (one per cost centre of a split), tax and the payments allocated to it.",
    tags=TAGS,
    **operation(FIN_PAYABLE_READ, resource="fin_bills", problems=[404]),
)
async def get_bill(db: DbSession, bill_id: FromPath[int]) -> schemas.BillDetail:
    return await _bill_detail(db, bill_id)


@post(
    "/bills",
    summary="Enter a supplier bill",
    description="Honours `Idempotency-Key`. Posted at once (journal general, source `finance.bill`): "
    "Dr each line's account per cost centre, Dr input VAT per rate, Cr payable naming the supplier. "
    "Refusals name the field at fault (`lines.1.account`) and write nothing.",
    tags=TAGS,
    dto=StrictBody[schemas.BillCreate],
    return_dto=None,
    **operation(FIN_PAYABLE_WRITE, problems=[409, 413, 422]),
)
async def create_bill(
    request: Request[Any, Any, Any],
    db: DbSession,
    principal: CurrentPrincipal,
    data: JSONBody[schemas.BillCreate],
    idempotency_key: IdempotencyKey = None,
) -> Response[schemas.BillDetail]:
    async def create() -> schemas.BillDetail:
        bill = await bills.enter_bill(
            db,
            principal,
            BillInput(
                supplier_id=data.supplier_id,
                supplier_reference=data.supplier_reference,
                bill_date=data.bill_date,
                due_date=data.due_date,
                currency=data.currency,
                memo=data.memo,
                lines=[
                    BillLineInput(
                        description=line.description,
                        net_amount=line.net_amount,
                        account=line.account,
                        category=line.category,
                        tax_rate=line.tax_rate,
                        cost_centre=line.cost_centre,
                        split_rule=line.split_rule,
                    )
                    for line in data.lines
                ],
            ),
        )
        return await _bill_detail(db, bill.id)

    return await create_once(
        request,
        db,
        actor=principal.key,
        key=idempotency_key,
        data=data,
        out=schemas.BillDetail,
        create=create,
    )


@post(
    "/bills/{bill_id:int}/cancel",
    summary="Cancel an unpaid bill",
    description="Reverses its entry on `on` (default the bill date) and marks it cancelled. A bill with "
    "payments allocated is refused (409 `bill_has_payments`), as is a second cancellation.",
    tags=TAGS,
    status_code=200,
    dto=StrictBody[schemas.BillCancel],
    return_dto=None,
    **operation(FIN_PAYABLE_WRITE, resource="fin_bills", problems=[404, 409, 413, 422]),
)
async def cancel_bill(
    db: DbSession, principal: CurrentPrincipal, bill_id: FromPath[int], data: JSONBody[schemas.BillCancel]
) -> schemas.BillDetail:
    bill = await bills.cancel_bill(db, principal, bill_id, on=data.on)
    return await _bill_detail(db, bill.id)


# --- payments to suppliers ---------------------------------------------------------------------


async def _payments_out(db: AsyncSession, rows: list[Payment]) -> list[schemas.SupplierPayment]:
    by_id: dict[Any, Supplier] = {
        s.id: s
        for s in (
            await db.execute(select(Supplier).where(Supplier.id.in_({p.supplier_id for p in rows})))
        ).scalars()
    }
    codes = dict(
        (
            await db.execute(
                select(Account.id, Account.code).where(Account.id.in_({p.bank_account_id for p in rows}))
            )
        ).all()
    )
    return [schemas.payment_of(p, by_id[p.supplier_id], codes[p.bank_account_id]) for p in rows]


@get(
    "/supplier-payments",
    summary="List payments to suppliers",
    description="Newest first. `unallocated=true`: those with an advance left to allocate.",
    tags=TAGS,
    **operation(FIN_PAYABLE_READ),
)
async def list_supplier_payments(
    db: DbSession,
    supplier_id: SupplierFilter = None,
    unallocated: Annotated[bool | None, QueryParameter()] = None,
    q: Q = None,
    date_from: From = None,
    date_to: To = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> schemas.SupplierPaymentPage:
    stmt = supplier_payments.filter_payments(
        select(Payment).where(Payment.direction == "out"),
        supplier_id=supplier_id,
        q=q,
        unallocated=unallocated,
        date_from=date_from,
        date_to=date_to,
    )
    page = await fetch_page(db, stmt, PAYMENTS, limit=limit, cursor=cursor)
    return schemas.SupplierPaymentPage(await _payments_out(db, list(page.rows)), page.next_cursor)


@get(
    "/supplier-payments/{payment_id:int}",
    summary="Get a payment to a supplier",
    description="With its allocations to bills.",
    tags=TAGS,
    **operation(FIN_PAYABLE_READ, resource="fin_supplier_payments", problems=[404]),
)
async def get_supplier_payment(db: DbSession, payment_id: FromPath[int]) -> schemas.SupplierPaymentDetail:
    return schemas.payment_detail_of(await supplier_payments.payment_detail(db, payment_id))


def _allocations(items: list[schemas.AllocationCreate]) -> list[AllocationInput]:
    return [AllocationInput(a.bill_id, a.amount) for a in items]


@post(
    "/supplier-payments",
    summary="Pay a supplier",
    description="Honours `Idempotency-Key`. Posted at once (journal payments, source `finance.payment`): "
    "Dr payable naming the supplier, Cr the bank account. Allocations settle that supplier's open "
    "bills; what is not allocated is an advance.",
    tags=TAGS,
    dto=StrictBody[schemas.SupplierPaymentCreate],
    return_dto=None,
    **operation(FIN_PAYABLE_WRITE, problems=[409, 413, 422]),
)
async def create_supplier_payment(
    request: Request[Any, Any, Any],
    db: DbSession,
    principal: CurrentPrincipal,
    data: JSONBody[schemas.SupplierPaymentCreate],
    idempotency_key: IdempotencyKey = None,
) -> Response[schemas.SupplierPaymentDetail]:
    async def create() -> schemas.SupplierPaymentDetail:
        payment = await supplier_payments.pay_supplier(
            db,
            principal,
            SupplierPaymentInput(
                supplier_id=data.supplier_id,
                payment_date=data.payment_date,
                amount=data.amount,
                currency=data.currency,
                method=data.method,
                reference=data.reference,
                bank_account=data.bank_account,
                memo=data.memo,
                allocations=_allocations(data.allocations),
            ),
        )
        return schemas.payment_detail_of(await supplier_payments.payment_detail(db, payment.id))

    return await create_once(
        request,
        db,
        actor=principal.key,
        key=idempotency_key,
        data=data,
        out=schemas.SupplierPaymentDetail,
        create=create,
    )


@post(
    "/supplier-payments/{payment_id:int}/allocations",
    summary="Allocate a payment's advance to bills",
    description="What is still unallocated of the payment settles the supplier's open bills, dated `on` "
    "(default today). Allocations post nothing: the payment already debited the payable.",
    tags=TAGS,
    status_code=200,
    dto=StrictBody[schemas.AllocationsCreate],
    return_dto=None,
    **operation(FIN_PAYABLE_WRITE, resource="fin_supplier_payments", problems=[404, 409, 413, 422]),
)
async def allocate_supplier_payment(
    db: DbSession,
    principal: CurrentPrincipal,
    payment_id: FromPath[int],
    data: JSONBody[schemas.AllocationsCreate],
) -> schemas.SupplierPaymentDetail:
    payment = await supplier_payments.allocate_payment(
        db, principal, payment_id, _allocations(data.allocations), on=data.on
    )
    return schemas.payment_detail_of(await supplier_payments.payment_detail(db, payment.id))


@get(
    "/payables/ageing",
    summary="Ageing of payables",
    description="Per supplier, what was open on `as_of` (default today) by days past due — not yet due, "
    "1-30, 31-60, 61-90, over 90 — less the advances not yet allocated on that day.",
    tags=TAGS,
    **operation(FIN_PAYABLE_READ),
)
async def get_ageing(
    db: DbSession, as_of: Annotated[date | None, QueryParameter(description="Default: today.")] = None
) -> schemas.Ageing:
    return schemas.ageing_of(await payables_reports.ageing(db, as_of or tenant_today()))


ROUTES: list[HTTPRouteHandler] = [
    list_suppliers,
    get_supplier,
    create_supplier,
    update_supplier,
    supplier_statement,
    list_bills,
    get_bill,
    create_bill,
    cancel_bill,
    list_supplier_payments,
    get_supplier_payment,
    create_supplier_payment,
    allocate_supplier_payment,
    get_ageing,
]
