"""Finance's error codes. Every refusal of the posting door is a ``PostingRefused`` (422) with a
stable ``code`` and, where one line is at fault, a field error naming it (``lines.2.account``);
it is raised before anything is written."""

from __future__ import annotations

from typing import Any

from app.kernel.errors import Conflict, DomainError, FieldError
from app.kernel.i18n import lazy


class PostingRefused(DomainError):
    status = 422
    title = lazy("The entry cannot be posted")

    def __init__(self, code: str, message: str, *, field: str | None = None, **params: Any) -> None:
        errors = [FieldError(field, message, params)] if field else None
        super().__init__(code, message, params=params, errors=errors)


class Unbalanced(PostingRefused):
    def __init__(self, debit: Any, credit: Any) -> None:
        super().__init__(
            "unbalanced_entry",
            lazy("Debits ({debit}) and credits ({credit}) must be equal and more than zero."),
            field="lines",
            debit=str(debit),
            credit=str(credit),
        )


class PeriodClosed(Conflict):
    def __init__(self, period: str) -> None:
        super().__init__(
            "period_closed",
            lazy("The period {period} is closed: nothing can be posted into it."),
            params={"period": period},
        )


class UnknownAccount(PostingRefused):
    def __init__(self, field: str, code: str) -> None:
        super().__init__("unknown_account", lazy("There is no account {account}."), field=field, account=code)


class AccountNotPostable(PostingRefused):
    def __init__(self, field: str, code: str) -> None:
        super().__init__(
            "account_not_postable",
            lazy("The account {account} is a group account: post to one of its sub-accounts."),
            field=field,
            account=code,
        )


class AccountInactive(PostingRefused):
    def __init__(self, field: str, code: str) -> None:
        super().__init__(
            "account_inactive", lazy("The account {account} is no longer in use."), field=field, account=code
        )


class NegativeAmount(PostingRefused):
    def __init__(self, field: str) -> None:
        super().__init__("negative_amount", lazy("Amounts cannot be negative."), field=field)


class InvalidAmount(PostingRefused):
    def __init__(self, field: str) -> None:
        super().__init__(
            "invalid_amount",
            lazy("Enter either a debit or a credit, with at most two decimals."),
            field=field,
        )


class UnknownJournal(PostingRefused):
    def __init__(self, journal: str) -> None:
        super().__init__(
            "unknown_journal", lazy("There is no journal {journal}."), field="journal", journal=journal
        )


class UnknownPartner(PostingRefused):
    def __init__(self, field: str) -> None:
        super().__init__("unknown_partner", lazy("There is no such customer account."), field=field)


class TooFewLines(PostingRefused):
    def __init__(self) -> None:
        super().__init__(
            "too_few_lines", lazy("An entry needs at least one debit and one credit line."), field="lines"
        )


class AlreadyReversed(Conflict):
    def __init__(self, number: str) -> None:
        super().__init__(
            "entry_already_reversed",
            lazy("The entry {number} has already been reversed."),
            params={"number": number},
        )


class InvalidPeriod(DomainError):
    status = 422

    def __init__(self, value: str) -> None:
        super().__init__(
            "invalid_period",
            lazy("Enter a period as YYYY-MM."),
            params={"value": value},
            errors=[FieldError("period", lazy("Enter a period as YYYY-MM."))],
        )


class YearAlreadyClosed(Conflict):
    def __init__(self, year: int, number: str) -> None:
        super().__init__(
            "year_already_closed",
            lazy("The year {year} is already closed by entry {number}."),
            params={"year": year, "number": number},
        )


# --- receivables (FIN-2): invoices, credit notes, payments received -----------------------------


class ReceivableRefused(DomainError):
    """A receivables document cannot be issued, credited or allocated as asked (422). Raised
    before anything is written; ``field`` names the input at fault (``allocations.1.amount``)."""

    status = 422
    title = lazy("The document cannot be issued")

    def __init__(self, code: str, message: str, *, field: str | None = None, **params: Any) -> None:
        errors = [FieldError(field, message, params)] if field else None
        super().__init__(code, message, params=params, errors=errors)


class CurrencyMismatch(ReceivableRefused):
    def __init__(self, currency: str, base: str, *, field: str = "currency") -> None:
        super().__init__(
            "currency_mismatch",
            lazy("The amount is in {currency}, but the books are kept in {base}."),
            field=field,
            currency=currency,
            base=base,
        )


class UnknownTaxRate(ReceivableRefused):
    def __init__(self, field: str, rate: str) -> None:
        super().__init__(
            "unknown_tax_rate",
            lazy("There is no active VAT rate of {rate} %: add it on the tax rates page first."),
            field=field,
            rate=rate,
        )


class OrderNotInvoiceable(Conflict):
    def __init__(self, number: str, status: str) -> None:
        super().__init__(
            "order_not_invoiceable",
            lazy("The order {number} is {status}: only confirmed or fulfilled orders are invoiced."),
            params={"number": number, "status": status},
        )


class CreditNoteExceedsInvoice(ReceivableRefused):
    def __init__(self, amount: Any, open_amount: Any, *, field: str = "lines") -> None:
        super().__init__(
            "credit_note_exceeds_invoice",
            lazy("The credit note ({amount}) is more than the invoice's open amount ({open})."),
            field=field,
            amount=str(amount),
            open=str(open_amount),
        )


class CreditExceedsLine(ReceivableRefused):
    def __init__(self, field: str, left: Any) -> None:
        super().__init__(
            "credit_exceeds_line",
            lazy("At most {left} of this line's net amount is left to credit."),
            field=field,
            left=str(left),
        )


class NotAnInvoice(ReceivableRefused):
    def __init__(self, number: str) -> None:
        super().__init__(
            "not_an_invoice",
            lazy("{number} is a credit note: credit notes are issued against invoices only."),
            number=number,
        )


class PaymentExceedsOpenAmount(ReceivableRefused):
    def __init__(self, field: str, number: str, open_amount: Any) -> None:
        super().__init__(
            "payment_exceeds_open_amount",
            lazy("More than the open amount of {number} ({open})."),
            field=field,
            number=number,
            open=str(open_amount),
        )


class AllocationsExceedPayment(ReceivableRefused):
    def __init__(self, allocated: Any, available: Any) -> None:
        super().__init__(
            "allocations_exceed_payment",
            lazy(
                "The allocations ({allocated}) are more than the payment has left to allocate ({available})."
            ),
            field="allocations",
            allocated=str(allocated),
            available=str(available),
        )


class InvoiceOfAnotherCustomer(ReceivableRefused):
    def __init__(self, field: str, number: str) -> None:
        super().__init__(
            "invoice_of_another_customer",
            lazy("{number} is another customer's invoice."),
            field=field,
            number=number,
        )


class UnknownInvoice(ReceivableRefused):
    def __init__(self, field: str) -> None:
        super().__init__("unknown_invoice", lazy("There is no such invoice."), field=field)


class UnknownCustomer(ReceivableRefused):
    def __init__(self, field: str = "account_id") -> None:
        super().__init__("unknown_customer", lazy("There is no such customer account."), field=field)


class NotABankAccount(ReceivableRefused):
    def __init__(self, field: str = "bank_account_id") -> None:
        super().__init__(
            "not_a_bank_account",
            lazy("Choose one of the bank or cash accounts."),
            field=field,
        )
