"""Receivables under /api/v1/finance (FIN-2): invoices and credit notes, payments received and
their allocations, the ageing and a customer's statement of account.

Reads need ``fin.receivable.read``, writes ``fin.receivable.write`` (not scoped: the whole
organisation's receivables). Creates honour ``Idempotency-Key``; so does allocating, which
creates nothing but must not allocate twice when a client retries.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody, QueryParameter

from app.finance import receivable_schemas as s
from app.finance.models import Invoice, Payment
from app.finance.services import ar_reports, credit_notes, invoices, payments_in, receivables
from app.finance.services.setup import ensure_finance
from app.kernel import idempotency
from app.kernel.api import Cursor, IdempotencyKey, Limit, StrictBody, create_once, operation
from app.kernel.pagination import DEFAULT_LIMIT, Key, Ordering, fetch_page
from app.kernel.web import DbSession
from app.security.permissions import FIN_RECEIVABLE_READ, FIN_RECEIVABLE_WRITE
from app.security.principal import Principal

CurrentPrincipal = NamedDependency[Principal]
Out = TypeVar("Out", bound=msgspec.Struct)

INVOICES = Ordering("fin_invoices", (Key(Invoice.issue_date, date), Key(Invoice.id, int)), descending=True)
PAYMENTS = Ordering("fin_payments", (Key(Payment.payment_date, date), Key(Payment.id, int)), descending=True)
DateFrom = Annotated[date | None, QueryParameter(name="from", description="On or after (ISO date).")]
DateTo = Annotated[date | None, QueryParameter(name="to", description="On or before (ISO date).")]


async def _invoice_detail(db: Any, invoice: Invoice) -> s.InvoiceDetail:
    return s.invoice_detail_of(
        invoice,
        receivables.tenant_today(),
        await invoices.invoice_lines(db, invoice.id),
        await invoices.credit_notes_of(db, invoice.id),
        await invoices.allocations_to(db, invoice.id),
    )


async def _payment_detail(db: Any, payment: Payment) -> s.PaymentDetail:
    return s.payment_detail_of(payment, await payments_in.allocations_of(db, payment.id))


@get(
    "/invoices",
    summary="List invoices and credit notes",
    description="Newest issue date first. `status` (open, overdue, paid) implies invoices; "
    "`from`/`to` bound the issue date.",
    tags=["finance"],
    **operation(FIN_RECEIVABLE_READ),
)
async def list_invoices(
    db: DbSession,
    account_id: Annotated[int | None, QueryParameter(ge=1, description="The customer.")] = None,
    kind: Annotated[s.InvoiceKind | None, QueryParameter()] = None,
    status: Annotated[s.StatusFilter | None, QueryParameter()] = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> s.InvoicePage:
    await ensure_finance(db)
    today = receivables.tenant_today()
    stmt = invoices.invoices_stmt(
        kind=kind, account_id=account_id, status=status, date_from=date_from, date_to=date_to, today=today
    )
    page = await fetch_page(db, stmt, INVOICES, limit=limit, cursor=cursor)
    return s.InvoicePage([s.invoice_of(i, today) for i in page.rows], page.next_cursor)


@get(
    "/invoices/{invoice_id:int}",
    summary="Get an invoice or credit note",
    description="With its lines, its credit notes and the payments allocated to it.",
    tags=["finance"],
    **operation(FIN_RECEIVABLE_READ, resource="fin_invoices", problems=[404]),
)
async def get_invoice(db: DbSession, invoice_id: FromPath[int]) -> s.InvoiceDetail:
    return await _invoice_detail(db, await invoices.get_invoice(db, invoice_id))


@post(
    "/invoices",
    summary="Invoice a sales order",
    description="Issues the invoice of a confirmed or fulfilled order and posts its entry (Dr "
    "receivable, Cr revenue, Cr output VAT). An order already invoiced answers its invoice. "
    "Honours `Idempotency-Key`. 404 for an unknown order; 409 `order_not_invoiceable` (a draft, "
    "a cancelled order), `period_closed`; 422 `currency_mismatch`, `unknown_tax_rate`.",
    tags=["finance"],
    dto=StrictBody[s.InvoiceCreate],
    return_dto=None,
    **operation(FIN_RECEIVABLE_WRITE, problems=[404, 409, 413, 422]),
)
async def create_invoice(
    request: Request[Any, Any, Any],
    db: DbSession,
    principal: CurrentPrincipal,
    data: JSONBody[s.InvoiceCreate],
    idempotency_key: IdempotencyKey = None,
) -> Response[s.InvoiceDetail]:
    async def create() -> s.InvoiceDetail:
        invoice = await receivables.invoice_order(db, principal, data.sales_order_id, on=data.issue_date)
        return await _invoice_detail(db, invoice)

    return await create_once(
        request, db, actor=principal.key, key=idempotency_key, data=data, out=s.InvoiceDetail, create=create
    )


@post(
    "/invoices/{invoice_id:int}/credit-notes",
    summary="Issue a credit note against an invoice",
    description="The listed lines' net amounts (VAT at each line's rate), or everything not yet "
    "credited. Honours `Idempotency-Key`. 422 `credit_note_exceeds_invoice` above the open amount, "
    "`credit_exceeds_line`, `nothing_to_credit`, `not_an_invoice`; 409 `period_closed`.",
    tags=["finance"],
    dto=StrictBody[s.CreditNoteCreate],
    return_dto=None,
    **operation(FIN_RECEIVABLE_WRITE, resource="fin_invoices", problems=[404, 409, 413, 422]),
)
async def create_credit_note(
    request: Request[Any, Any, Any],
    db: DbSession,
    principal: CurrentPrincipal,
    invoice_id: FromPath[int],
    data: JSONBody[s.CreditNoteCreate],
    idempotency_key: IdempotencyKey = None,
) -> Response[s.InvoiceDetail]:
    await invoices.get_invoice(db, invoice_id)  # 404 before anything else

    async def create() -> s.InvoiceDetail:
        lines = None if data.lines is None else [msgspec.to_builtins(line) for line in data.lines]
        note = await credit_notes.issue_credit_note(
            db, principal, invoice_id, lines=lines, on=data.issue_date, memo=data.memo
        )
        return await _invoice_detail(db, note)

    return await create_once(
        request, db, actor=principal.key, key=idempotency_key, data=data, out=s.InvoiceDetail, create=create
    )


@get(
    "/payments",
    summary="List payments received",
    description="Newest payment date first. `unallocated=true`: only those with a prepayment left.",
    tags=["finance"],
    **operation(FIN_RECEIVABLE_READ),
)
async def list_payments(
    db: DbSession,
    account_id: Annotated[int | None, QueryParameter(ge=1, description="The customer.")] = None,
    unallocated: Annotated[bool, QueryParameter()] = False,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> s.PaymentPage:
    stmt = payments_in.payments_stmt(
        account_id=account_id, date_from=date_from, date_to=date_to, unallocated=unallocated
    )
    page = await fetch_page(db, stmt, PAYMENTS, limit=limit, cursor=cursor)
    return s.PaymentPage([s.payment_of(p) for p in page.rows], page.next_cursor)


@get(
    "/payments/{payment_id:int}",
    summary="Get a payment received",
    description="With its allocations to invoices.",
    tags=["finance"],
    **operation(FIN_RECEIVABLE_READ, resource="fin_payments", problems=[404]),
)
async def get_payment(db: DbSession, payment_id: FromPath[int]) -> s.PaymentDetail:
    return await _payment_detail(db, await payments_in.get_payment(db, payment_id))


@post(
    "/payments",
    summary="Record a payment received",
    description="Posted in the receipts journal (Dr bank, Cr receivable) and allocated to the listed "
    "invoices; the rest stays as the customer's prepayment. Honours `Idempotency-Key`. 422 "
    "`payment_exceeds_open_amount`, `allocations_exceed_payment`, `invoice_of_another_customer`, "
    "`unknown_invoice`, `unknown_customer`, `currency_mismatch`, `not_a_bank_account`; 409 `period_closed`.",
    tags=["finance"],
    dto=StrictBody[s.PaymentCreate],
    return_dto=None,
    **operation(FIN_RECEIVABLE_WRITE, problems=[409, 413, 422]),
)
async def create_payment(
    request: Request[Any, Any, Any],
    db: DbSession,
    principal: CurrentPrincipal,
    data: JSONBody[s.PaymentCreate],
    idempotency_key: IdempotencyKey = None,
) -> Response[s.PaymentDetail]:
    async def create() -> s.PaymentDetail:
        payment = await payments_in.receive_payment(db, principal, msgspec.to_builtins(data))
        return await _payment_detail(db, payment)

    return await create_once(
        request, db, actor=principal.key, key=idempotency_key, data=data, out=s.PaymentDetail, create=create
    )


async def _once(
    request: Request[Any, Any, Any],
    db: Any,
    actor: str,
    key: str | None,
    data: msgspec.Struct,
    out: type[Out],
    act: Callable[[], Awaitable[Out]],
) -> Response[Out]:
    """Run ``act`` at most once per ``Idempotency-Key`` (a change that creates no record: 200)."""
    route = f"{request.method} {request.url.path}"
    if key is not None:
        earlier = await idempotency.reserve(
            db, principal=actor, key=key, route=route, body=msgspec.json.encode(data)
        )
        if earlier is not None and earlier.status_code is not None:
            body = msgspec.convert(earlier.response, out, strict=False)
            return Response(body, status_code=earlier.status_code, headers={"Idempotent-Replayed": "true"})
    result = await act()
    if key is not None:
        await idempotency.remember(
            db, principal=actor, key=key, status_code=200, response=msgspec.to_builtins(result)
        )
    return Response(result, status_code=200)


@post(
    "/payments/{payment_id:int}/allocations",
    summary="Allocate a payment's prepayment to invoices",
    description="No new entry: the money is already on the receivable. Honours `Idempotency-Key`. "
    "422 `allocations_exceed_payment`, `payment_exceeds_open_amount`, `invoice_of_another_customer`, "
    "`unknown_invoice`.",
    tags=["finance"],
    dto=StrictBody[s.AllocationsCreate],
    return_dto=None,
    **operation(FIN_RECEIVABLE_WRITE, resource="fin_payments", problems=[404, 413, 422]),
)
async def create_allocations(
    request: Request[Any, Any, Any],
    db: DbSession,
    principal: CurrentPrincipal,
    payment_id: FromPath[int],
    data: JSONBody[s.AllocationsCreate],
    idempotency_key: IdempotencyKey = None,
) -> Response[s.PaymentDetail]:
    await payments_in.get_payment(db, payment_id)

    async def act() -> s.PaymentDetail:
        payment = await payments_in.allocate(
            db,
            principal,
            payment_id,
            [msgspec.to_builtins(a) for a in data.allocations],
            on=data.allocated_on,
        )
        return await _payment_detail(db, payment)

    return await _once(request, db, principal.key, idempotency_key, data, s.PaymentDetail, act)


@get(
    "/receivables/ageing",
    summary="Ageing of receivables",
    description="Open invoices as of a date (today by default) per customer, in buckets of days past due, "
    "with the prepayments not yet allocated.",
    tags=["finance"],
    **operation(FIN_RECEIVABLE_READ),
)
async def get_ageing(
    db: DbSession, as_of: Annotated[date | None, QueryParameter(description="ISO date.")] = None
) -> s.Ageing:
    return s.ageing_of(await ar_reports.ageing(db, as_of or receivables.tenant_today()))


@get(
    "/customers/{account_id:int}/statement",
    summary="Statement of account of a customer",
    description="Opening balance, invoices, credit notes and payments between `from` and `to` "
    "(the current year to today by default) with the running balance, closing balance. "
    "422 `validation_failed` when `to` is before `from`.",
    tags=["finance"],
    **operation(FIN_RECEIVABLE_READ, resource="crm_accounts", problems=[404, 422]),
)
async def get_statement(
    db: DbSession, account_id: FromPath[int], date_from: DateFrom = None, date_to: DateTo = None
) -> s.Statement:
    today = receivables.tenant_today()
    st = await ar_reports.statement(
        db, account_id, date_from or today.replace(month=1, day=1), date_to or today
    )
    return s.statement_of(st)


ROUTES: list[HTTPRouteHandler] = [
    list_invoices,
    get_invoice,
    create_invoice,
    create_credit_note,
    list_payments,
    get_payment,
    create_payment,
    create_allocations,
    get_ageing,
    get_statement,
]
