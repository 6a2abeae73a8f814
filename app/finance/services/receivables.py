"""Customer invoices from sales orders (FIN-2, INT-1).

    invoice = await invoice_order(session, principal, order_id)      # idempotent per order

The order is read through ``app.crm.interface.sales_order_for_finance`` with its row locked (the
lock CRM's status changes take), so two invoicings of one order run one after the other and the
second returns the first's invoice. Then, before anything is written: the order is confirmed or
fulfilled, its currency is the books' base currency (``currency_mismatch``), and every line's VAT
rate is an active tax rate (``unknown_tax_rate``, naming the line). The invoice and its lines are
inserted with the next ``INV-YYYY-NNNNN`` number of the issue year, and ONE entry is posted
through the posting door in the same transaction:

    Dr receivable (rule ``receivable``, partner = the customer)     total
        Cr revenue (rule ``revenue``), one line per account          net
        Cr output VAT, one line per tax rate on the rate's account   tax

with ``source_type = "finance.invoice"``. CRM is told (``mark_order_invoiced``), and
``finance.invoice_issued`` is published. A refusal anywhere rolls all of it back with the caller's
transaction — inside ``confirm_order`` it refuses the confirmation.

An order whose lines come to zero (free samples) is invoiced without an entry: there is nothing
to post, and its open amount is zero.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm import interface as crm
from app.finance import errors, events
from app.finance.models import FinanceSettings, Invoice, InvoiceLine, TaxRate
from app.finance.services import taxes
from app.finance.services.account_lookup import accounts_by_code, codes_of
from app.finance.services.numbering import next_number
from app.finance.services.periods import period_for
from app.finance.services.posting import PostingLine, PostingRequest, post_numbering
from app.finance.services.rules import account_code
from app.finance.services.setup import ensure_finance
from app.kernel import context
from app.kernel.audit import audited
from app.kernel.errors import FieldError, ValidationFailed
from app.kernel.i18n import lazy
from app.kernel.outbox import publish
from app.security.principal import Principal

INVOICE_SOURCE = "finance.invoice"
CREDIT_NOTE_SOURCE = "finance.credit_note"
PAYMENT_SOURCE = "finance.payment"
ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def tenant_today() -> date:
    """Today in the organisation's time zone: the day documents are issued on by default."""
    tenant = context.current_tenant()
    return datetime.now(ZoneInfo(tenant.timezone if tenant else "UTC")).date()


async def finance_settings(session: AsyncSession) -> FinanceSettings:
    """The tenant's finance settings (base currency, ``invoice_on``, payment terms): read once per
    transaction — the identity map keeps the row, so a second call in the same unit of work needs
    no statement (the settings page changes them in a transaction of its own)."""
    await ensure_finance(session)
    settings = await session.get(FinanceSettings, 1)
    assert settings is not None
    return settings


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


MAX_AMOUNT = Decimal("9999999999999999.99")  # NUMERIC(18, 2)


def clean_amount(value: object, field: str, problems: list[FieldError], *, required: bool = True) -> Decimal:
    """An amount typed by a person or sent by a client ("1,130.00", "1130", Decimal): more than
    zero, at most two decimals. A problem is appended to ``problems`` (returns zero then); blank
    is a problem only when ``required``."""
    text = str(value if value is not None else "").strip().replace(",", "")
    if not text:
        if required:
            problems.append(FieldError(field, lazy("Enter an amount.")))
        return ZERO
    try:
        amount = Decimal(text)
    except ArithmeticError:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount != amount.quantize(CENT) or amount > MAX_AMOUNT:
        problems.append(FieldError(field, lazy("Enter an amount with at most two decimals.")))
        return ZERO
    if amount <= 0:
        problems.append(FieldError(field, lazy("Enter an amount above zero.")))
        return ZERO
    return amount.quantize(CENT)


def clean_day(value: object, field: str, problems: list[FieldError], *, default: date | None = None) -> date:
    """A date (``date`` or ISO text, blank → ``default``), not in the future."""
    today = tenant_today()
    if isinstance(value, date):
        day = value
    else:
        text = str(value or "").strip()
        if not text and default is not None:
            return default
        try:
            day = date.fromisoformat(text)
        except ValueError:
            problems.append(FieldError(field, lazy("Enter a date.")))
            return default or today
    if day > today:
        problems.append(FieldError(field, lazy("The date cannot be in the future.")))
    return day


def raise_problems(problems: list[FieldError]) -> None:
    if problems:
        raise ValidationFailed(problems)


@dataclass(frozen=True)
class _Line:
    """An order line priced by CRM, with the tax rate finance posts its VAT under."""

    description: str
    product_id: int | None
    sku: str | None
    quantity: Decimal
    unit: str | None
    unit_price: Decimal
    rate: TaxRate
    net: Decimal
    tax: Decimal

    @property
    def total(self) -> Decimal:
        return self.net + self.tax


async def _priced_lines(session: AsyncSession, order: dict[str, Any]) -> list[_Line]:
    lines = []
    rates = await taxes.rates_for_percents(session, {Decimal(raw["tax_rate"]) for raw in order["lines"]})
    for i, raw in enumerate(order["lines"]):
        percent = Decimal(raw["tax_rate"])
        rate = rates.get(percent)
        if rate is None:
            raise errors.UnknownTaxRate(f"lines.{i}.tax_rate", f"{percent.normalize():f}")
        lines.append(
            _Line(
                description=str(raw["description"])[:300],
                product_id=raw.get("product_id"),
                sku=raw.get("sku"),
                quantity=Decimal(raw["quantity"]),
                unit=raw.get("unit"),
                unit_price=Decimal(raw["unit_price"]),
                rate=rate,
                net=_money(raw["net_amount"]),
                tax=_money(raw["tax_amount"]),
            )
        )
    return lines


_NEXT_INVOICE_ID = select(func.nextval(func.pg_get_serial_sequence(bindparam("table", type_=String), "id")))


async def _next_invoice_id(session: AsyncSession) -> int:
    """An id for an invoice not written yet, from the table's own identity sequence."""
    schema = session.info.get("tenant_schema")
    table = f'"{schema}".fin_invoices' if schema else "fin_invoices"
    return int((await session.execute(_NEXT_INVOICE_ID, {"table": table})).scalar_one())


async def invoice_of_order(session: AsyncSession, order_id: int) -> Invoice | None:
    return (
        await session.execute(
            select(Invoice).where(Invoice.sales_order_id == order_id, Invoice.kind == "invoice")
        )
    ).scalar_one_or_none()


async def invoice_order(
    session: AsyncSession, principal: Principal | None, order_id: int, *, on: date | str | None = None
) -> Invoice:
    """Issue the customer invoice of a confirmed or fulfilled order, dated ``on`` (the tenant's
    today by default), and post its entry. An order already invoiced returns its invoice."""
    invoice = await _issue(session, principal, order_id, on=on, at_step=False)
    assert invoice is not None
    return invoice


async def _issue(
    session: AsyncSession,
    principal: Principal | None,
    order_id: int,
    *,
    on: date | str | None,
    at_step: bool,
    just_confirmed: bool = False,
) -> Invoice | None:
    """``invoice_order``; ``at_step`` (called by an order step): an order CRM already records as
    invoiced outside the books is left alone (None). ``just_confirmed``: the order was a draft
    when this transaction locked it, so it has no invoice yet — nothing to look up (the unique
    index ``uq_fin_invoices_sales_order`` stands behind that)."""
    order = await crm.sales_order_for_finance(session, order_id, lock=True)
    existing = None if just_confirmed else await invoice_of_order(session, order_id)
    if existing is not None:
        return existing
    if at_step and order["status"] == "invoiced":
        return None
    if order["status"] not in ("confirmed", "fulfilled"):
        raise errors.OrderNotInvoiceable(order["number"], order["status"])
    settings = await finance_settings(session)
    if order["currency"] != settings.base_currency:
        raise errors.DocumentCurrencyMismatch(order["currency"], settings.base_currency)
    problems: list[FieldError] = []
    issued = clean_day(on, "issue_date", problems, default=tenant_today())
    raise_problems(problems)
    lines = await _priced_lines(session, order)
    subtotal = sum((line.net for line in lines), ZERO)
    tax_total = sum((line.tax for line in lines), ZERO)
    if (subtotal, tax_total, subtotal + tax_total) != tuple(
        _money(order[k]) for k in ("subtotal", "tax_total", "total")
    ):
        raise errors.ReceivableRefused(
            "order_totals_mismatch",
            lazy("The order's totals do not add up from its lines; ask sales to check it."),
        )
    revenue_code = await account_code(session, "revenue")
    # The accounts the entry will name, in one read the posting door then finds remembered.
    revenue = (await accounts_by_code(session, {revenue_code, await account_code(session, "receivable")}))[
        revenue_code
    ]
    total = subtotal + tax_total
    if total > 0:
        # The period is locked (and a closed month refused) before any number is taken: the
        # counter rows are then held for as few statements as can be.
        period = await period_for(session, issued, lock=True)
        if period.status != "open":
            raise errors.PeriodClosed(period.code)

    # Gapless numbers are locked counter rows held until commit, so every confirmation in the
    # tenant waits for the one before it from its first counter on: both are taken as late as
    # they can be. The invoice's id comes first (its entry names it as its source); the entry is
    # written, and the statement that posts it takes the voucher number AND the invoice number
    # (posting.post_numbering); then the invoice, its lines, the order marked invoiced and the
    # events go to the database in one flush. That statement also puts the invoice number in
    # front of the entry's memo ("INV-2026-00042 · SO-2026-00012 · 客户"); the lines leave their
    # memo empty, so the ledger shows the entry's on each (VAT lines name their rate).
    invoice_id = await _next_invoice_id(session)
    vat = [(line.rate, line.tax) for line in lines]
    entry_id = None
    if total > 0:
        entry, number = await post_numbering(
            session,
            principal,
            PostingRequest(
                date=issued,
                journal="general",
                memo=f"{order['number']} · {order.get('account_name') or ''}".strip(" ·"),
                source_type=INVOICE_SOURCE,
                source_id=invoice_id,
                lines=await document_lines(
                    session,
                    account_id=order["account_id"],
                    total=total,
                    revenue={revenue.code: subtotal},
                    vat=vat,
                    memo="",  # the lines show the entry's memo, which the invoice number leads
                    side="invoice",
                ),
            ),
            "INV",
            issued.year,
        )
        entry_id = entry.id
    else:
        number = await next_number(session, "INV", issued.year)
    invoice = Invoice(
        id=invoice_id,
        kind="invoice",
        number=number,
        account_id=order["account_id"],
        sales_order_id=order_id,
        issue_date=issued,
        due_date=issued + timedelta(days=settings.payment_terms_days),
        currency=order["currency"],
        subtotal=subtotal,
        tax_total=tax_total,
        total=total,
        paid=ZERO,
        credited=ZERO,
        entry_id=entry_id,
        customer_reference=(order.get("customer_reference") or None),
        memo=order["number"],
        created_by=principal.id if principal is not None and principal.kind == "user" else None,
    )
    async with audited(session, "finance.invoice_issued", flush=False):
        session.add(invoice)
        session.add_all(
            InvoiceLine(
                invoice_id=invoice_id,
                line_no=n,
                description=line.description,
                product_id=line.product_id,
                sku=line.sku,
                quantity=line.quantity,
                unit=line.unit,
                unit_price=line.unit_price,
                tax_rate=line.rate.rate,
                tax_rate_id=line.rate.id,
                net_amount=line.net,
                tax_amount=line.tax,
                total_amount=line.total,
                account_id=revenue.id,
            )
            for n, line in enumerate(lines, start=1)
        )
    await crm.mark_order_invoiced(session, order_id, number)
    await publish(session, events.INVOICE_ISSUED, invoice_payload(invoice))
    await session.flush()
    return invoice


async def document_lines(
    session: AsyncSession,
    *,
    account_id: int,
    total: Decimal,
    revenue: dict[str, Decimal],
    vat: list[tuple[TaxRate, Decimal]],
    memo: str,
    side: str,
) -> list[PostingLine]:
    """The lines of an invoice's entry (``side="invoice"``: receivable debited) or of a credit
    note's (``"credit_note"``: the mirror). Revenue merged per account, VAT per tax rate on its
    output account; zero amounts are left out."""
    receivable = await account_code(session, "receivable")
    per_rate: dict[int, tuple[TaxRate, Decimal]] = {}
    for rate, amount in vat:
        _, sofar = per_rate.get(rate.id, (rate, ZERO))
        per_rate[rate.id] = (rate, sofar + amount)
    output_codes = await codes_of(
        session, {r.output_account_id for r, _ in per_rate.values() if r.output_account_id}
    )
    merged: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for code, amount in revenue.items():
        merged[code] += amount
    debit_receivable = side == "invoice"

    def line(code: str, amount: Decimal, *, receivable_side: bool, **kw: Any) -> PostingLine:
        debit = receivable_side == debit_receivable
        return PostingLine(code, debit=amount if debit else ZERO, credit=ZERO if debit else amount, **kw)

    out = [line(receivable, total, receivable_side=True, partner_id=account_id, memo=memo)]
    out += [line(code, amount, receivable_side=False, memo=memo) for code, amount in merged.items() if amount]
    out += [
        line(
            output_codes[rate.output_account_id],
            amount,
            receivable_side=False,
            memo=f"{memo} {rate.code}".strip(),
        )
        for rate_id, (rate, amount) in sorted(per_rate.items())
        if amount
    ]
    return out


def invoice_payload(invoice: Invoice) -> dict[str, Any]:
    """The ``finance.invoice_issued`` payload (app/finance/events.py)."""
    return {
        "invoice_id": invoice.id,
        "number": invoice.number,
        "account_id": invoice.account_id,
        "sales_order_id": invoice.sales_order_id,
        "issue_date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "currency": invoice.currency,
        "subtotal": str(_money(invoice.subtotal)),
        "tax_total": str(_money(invoice.tax_total)),
        "total": str(_money(invoice.total)),
        "entry_id": invoice.entry_id,
    }


# --- invoicing when an order reaches the tenant's step (registered in app/finance/handlers.py) --


async def invoice_at_step(
    session: AsyncSession, principal: Principal | None, order_id: int, step: str
) -> None:
    """Invoice the order if the tenant invoices at ``step`` ("confirmed" or "fulfilled"). An
    order CRM already records as invoiced with an invoice issued outside Tessera (the sales order
    page's "Record invoice") is left alone, so its delivery can still be recorded."""
    settings = await finance_settings(session)
    if settings.invoice_on != step:
        return
    # Only confirm_order announces "confirmed", right after the order left draft in this
    # transaction; "fulfilled" comes to orders that may have been invoiced by hand since.
    await _issue(session, principal, order_id, on=None, at_step=True, just_confirmed=step == "confirmed")


async def invoice_on_confirmation(session: Any, principal: Any, order_id: int) -> None:
    await invoice_at_step(session, principal, order_id, "confirmed")


async def invoice_on_delivery(session: Any, principal: Any, order_id: int) -> None:
    await invoice_at_step(session, principal, order_id, "fulfilled")
