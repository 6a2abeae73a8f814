"""Credit notes (红字发票) against one customer invoice (FIN-2).

    note = await issue_credit_note(session, principal, invoice_id)                  # all that is left
    note = await issue_credit_note(session, principal, invoice_id,
                                   lines=[{"line_no": 2, "amount": "100.00"}])      # part of line 2

Amounts are *net* (before VAT) per invoice line; the VAT is the line's rate on it, half-up to
the cent — except when a line's whole remaining net is credited, which takes its remaining VAT
exactly, so crediting everything brings the invoice's revenue and VAT back to zero without a
rounding cent left over. A credit note's lines carry the numbers of the invoice lines they
credit (``line_no``), which is how what is left of each line is known.

The invoice's row is locked ``FOR UPDATE`` before its open amount is read: a credit note is never
more than the invoice's open amount (``credit_note_exceeds_invoice``) — not even with a payment
being allocated to it at the same moment. The entry mirrors the invoice's:

    Dr revenue (per account)   Dr output VAT (per rate)   Cr receivable (partner = the customer)

``source_type = "finance.credit_note"``, number ``CN-YYYY-NNNNN``. The note is applied to its
invoice in full when issued (``invoice.credited``; on the note itself ``credited = total``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance import errors, events
from app.finance.models import Account, Invoice, InvoiceLine, TaxRate
from app.finance.services.invoices import credit_notes_of, invoice_lines, lock_invoice, open_amount
from app.finance.services.numbering import next_number
from app.finance.services.posting import PostingRequest, post
from app.finance.services.receivables import (
    CREDIT_NOTE_SOURCE,
    ZERO,
    clean_amount,
    clean_day,
    document_lines,
    raise_problems,
    tenant_today,
)
from app.finance.services.splits import tax_of
from app.kernel.audit import audited
from app.kernel.errors import FieldError, NotFound
from app.kernel.i18n import lazy
from app.kernel.outbox import publish
from app.security.principal import Principal


@dataclass(frozen=True)
class LineLeft:
    """What is left to credit of one invoice line."""

    line: InvoiceLine
    net: Decimal
    tax: Decimal


async def left_to_credit(session: AsyncSession, invoice_id: int) -> list[LineLeft]:
    """Each line of the invoice with the net and VAT its credit notes have not taken yet."""
    lines = await invoice_lines(session, invoice_id)
    rows = await session.execute(
        select(InvoiceLine.line_no, func.sum(InvoiceLine.net_amount), func.sum(InvoiceLine.tax_amount))
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.kind == "credit_note", Invoice.credited_invoice_id == invoice_id)
        .group_by(InvoiceLine.line_no)
    )
    credited = {no: (Decimal(net), Decimal(tax)) for no, net, tax in rows.all()}
    return [
        LineLeft(
            line,
            Decimal(line.net_amount) - credited.get(line.line_no, (ZERO, ZERO))[0],
            Decimal(line.tax_amount) - credited.get(line.line_no, (ZERO, ZERO))[1],
        )
        for line in lines
    ]


def _parse_lines(
    raw: Sequence[Mapping[str, Any]], left: list[LineLeft], problems: list[FieldError]
) -> list[tuple[int, LineLeft, Decimal]]:
    """(index, line, net) of each requested line; what is not acceptable goes to ``problems``."""
    by_no = {item.line.line_no: item for item in left}
    out: list[tuple[int, LineLeft, Decimal]] = []
    seen: set[int] = set()
    for i, values in enumerate(raw):
        no = values.get("line_no")
        item = by_no.get(no) if isinstance(no, int) and not isinstance(no, bool) else None
        net = clean_amount(values.get("amount"), f"lines.{i}.amount", problems)
        if item is None:
            problems.append(FieldError(f"lines.{i}.line_no", lazy("The invoice has no such line.")))
        elif item.line.line_no in seen:
            problems.append(FieldError(f"lines.{i}.line_no", lazy("Each line only once.")))
        else:
            seen.add(item.line.line_no)
            out.append((i, item, net))
    return out


def _credits(requested: list[tuple[int, LineLeft, Decimal]]) -> list[tuple[LineLeft, Decimal, Decimal]]:
    """(line, net, VAT) of each requested line, none above what is left of its line."""
    out = []
    for i, item, net in requested:
        if net > item.net:
            raise errors.CreditExceedsLine(f"lines.{i}.amount", max(item.net, ZERO))
        tax = item.tax if net == item.net else min(tax_of(net, item.line.tax_rate), item.tax)
        out.append((item, net, tax))
    return out


async def issue_credit_note(
    session: AsyncSession,
    principal: Principal | None,
    invoice_id: int,
    *,
    lines: Sequence[Mapping[str, Any]] | None = None,
    on: date | str | None = None,
    memo: str = "",
) -> Invoice:
    """Credit ``lines`` (``[{"line_no": 2, "amount": "100.00"}]``, net amounts) of an invoice, or
    everything still uncredited when ``lines`` is None; dated ``on`` (today by default)."""
    invoice = await lock_invoice(session, invoice_id)
    if invoice is None:
        raise NotFound(lazy("invoice"))
    if invoice.kind != "invoice":
        raise errors.NotAnInvoice(invoice.number)
    problems: list[FieldError] = []
    issued = clean_day(on, "issue_date", problems, default=tenant_today())
    if not problems and issued < invoice.issue_date:
        problems.append(FieldError("issue_date", lazy("A credit note cannot be dated before its invoice.")))
    text = " ".join(str(memo or "").split())
    if len(text) > 1000:
        problems.append(FieldError("memo", lazy("Use at most {n} characters."), {"n": 1000}))
    left = await left_to_credit(session, invoice.id)
    requested = _parse_lines(lines, left, problems) if lines is not None else []
    raise_problems(problems)
    if lines is None:
        credits = [(item, item.net, item.tax) for item in left if item.net > 0 or item.tax > 0]
    else:
        credits = _credits(requested)
    subtotal = sum((net for _, net, _ in credits), ZERO)
    tax_total = sum((tax for _, _, tax in credits), ZERO)
    total = subtotal + tax_total
    if total <= 0:
        raise errors.ReceivableRefused(
            "nothing_to_credit", lazy("Nothing is left to credit on this invoice."), field="lines"
        )
    available = open_amount(invoice)
    if total > available:
        raise errors.CreditNoteExceedsInvoice(total, available)

    rates = {
        r.id: r
        for r in (
            await session.execute(
                select(TaxRate).where(TaxRate.id.in_({item.line.tax_rate_id for item, _, _ in credits}))
            )
        ).scalars()
    }
    codes = dict(
        (
            await session.execute(
                select(Account.id, Account.code).where(
                    Account.id.in_({item.line.account_id for item, _, _ in credits})
                )
            )
        ).all()
    )
    number = await next_number(session, "CN", issued.year)
    async with audited(session, "finance.credit_note_issued"):
        note = Invoice(
            kind="credit_note",
            number=number,
            account_id=invoice.account_id,
            sales_order_id=invoice.sales_order_id,
            credited_invoice_id=invoice.id,
            issue_date=issued,
            due_date=issued,
            currency=invoice.currency,
            subtotal=subtotal,
            tax_total=tax_total,
            total=total,
            paid=ZERO,
            credited=total,  # applied to its invoice in full
            memo=text,
            created_by=principal.id if principal is not None and principal.kind == "user" else None,
        )
        session.add(note)
        await session.flush()
        session.add_all(
            InvoiceLine(
                invoice_id=note.id,
                line_no=item.line.line_no,
                description=item.line.description,
                product_id=item.line.product_id,
                sku=item.line.sku,
                quantity=item.line.quantity if net == item.line.net_amount else Decimal("1"),
                unit=item.line.unit if net == item.line.net_amount else None,
                unit_price=item.line.unit_price if net == item.line.net_amount else net,
                tax_rate=item.line.tax_rate,
                tax_rate_id=item.line.tax_rate_id,
                net_amount=net,
                tax_amount=tax,
                total_amount=net + tax,
                account_id=item.line.account_id,
                cost_centre=item.line.cost_centre,
            )
            for item, net, tax in credits
        )
        revenue: dict[str, Decimal] = {}
        for item, net, _ in credits:
            code = codes[item.line.account_id]
            revenue[code] = revenue.get(code, ZERO) + net
        vat = [
            (rates[item.line.tax_rate_id], tax) for item, _, tax in credits if item.line.tax_rate_id in rates
        ]
        entry = await post(
            session,
            principal,
            PostingRequest(
                date=issued,
                journal="general",
                memo=f"{number} → {invoice.number}" + (f" · {text[:100]}" if text else ""),
                source_type=CREDIT_NOTE_SOURCE,
                source_id=note.id,
                lines=await document_lines(
                    session,
                    account_id=invoice.account_id,
                    total=total,
                    revenue=revenue,
                    vat=vat,
                    memo=number,
                    side="credit_note",
                ),
            ),
        )
        note.entry_id = entry.id
        invoice.credited = Decimal(invoice.credited) + total
        await session.flush()
    await publish(
        session,
        events.CREDIT_NOTE_ISSUED,
        {
            "credit_note_id": note.id,
            "number": note.number,
            "invoice_id": invoice.id,
            "invoice_number": invoice.number,
            "account_id": note.account_id,
            "issue_date": note.issue_date.isoformat(),
            "currency": note.currency,
            "subtotal": str(subtotal),
            "tax_total": str(tax_total),
            "total": str(total),
            "entry_id": entry.id,
            "invoice_open_amount": str(open_amount(invoice)),
        },
    )
    return note


__all__ = ["LineLeft", "credit_notes_of", "issue_credit_note", "left_to_credit"]
