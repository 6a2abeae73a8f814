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


class EntryOfDocument(Conflict):
    def __init__(self, number: str) -> None:
        super().__init__(
            "entry_of_a_document",
            lazy(
                "The entry {number} was posted by a document (an invoice, credit note, bill or payment): "
                "correct the document instead, so the document and the books stay in step."
            ),
            params={"number": number},
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


# --- settings: chart maintenance, tax rates, cost centres, posting rules (docs/finance-settings.md)


class UnknownCostCentre(PostingRefused):
    def __init__(self, field: str, code: str) -> None:
        super().__init__(
            "unknown_cost_centre",
            lazy("There is no active cost centre {cost_centre}."),
            field=field,
            cost_centre=code,
        )


class CurrencyMismatch(PostingRefused):
    def __init__(self, currency: str, base: str) -> None:
        super().__init__(
            "currency_mismatch",
            lazy("The ledger is kept in {base}: an entry in {currency} cannot be posted."),
            field="currency",
            currency=currency,
            base=base,
        )


class AccountInUse(Conflict):
    """``reason`` says what holds the account (``postings``, ``documents``, ``tax_rates``,
    ``posting_rules``, ``sub_accounts``); ``names`` which of them, where that helps."""

    MESSAGES = {
        "postings": lazy("The account {account} has postings: it cannot be deleted. Deactivate it instead."),
        "documents": lazy(
            "The account {account} is used on invoices, bills or payments: it cannot be deleted."
        ),
        "tax_rates": lazy(
            "The tax rates {names} post to the account {account}: give them other accounts first."
        ),
        "posting_rules": lazy(
            "The posting rules {names} post to the account {account}: choose other accounts for them first."
        ),
        "sub_accounts": lazy("The account {account} has sub-accounts: delete or deactivate them first."),
        "other": lazy("The account {account} is used elsewhere: it cannot be deleted."),
    }

    def __init__(self, code: str, reason: str, names: str = "") -> None:
        super().__init__(
            "account_in_use",
            self.MESSAGES[reason],
            params={"account": code, "reason": reason, "names": names},
        )


class ChartAlreadyChosen(Conflict):
    def __init__(self, template: str) -> None:
        super().__init__(
            "chart_already_chosen",
            lazy(
                "The books are kept on the {template} chart since finance was first used; it cannot change."
            ),
            params={"template": template},
        )


class BaseCurrencyLocked(Conflict):
    def __init__(self, base: str) -> None:
        super().__init__(
            "base_currency_locked",
            lazy("The base currency {base} cannot change once anything has been posted."),
            params={"base": base},
        )


class SharesMustTotal100(DomainError):
    status = 422

    def __init__(self, total: Any) -> None:
        message = lazy("The shares add up to {total} %: they must add up to exactly 100 %.")
        super().__init__(
            "shares_must_total_100",
            message,
            params={"total": str(total)},
            errors=[FieldError("shares", message, {"total": str(total)})],
        )


class TaxRateInUse(Conflict):
    def __init__(self, code: str) -> None:
        super().__init__(
            "tax_rate_in_use",
            lazy("The rate {code} is used on documents: its percentage stays. Add a new rate instead."),
            params={"code": code},
        )


class TaxRateHasCategories(Conflict):
    def __init__(self, code: str, categories: str) -> None:
        super().__init__(
            "tax_rate_has_categories",
            lazy(
                "The rate {code} is the default of the categories {categories}: "
                "choose another rate for them first."
            ),
            params={"code": code, "categories": categories},
        )


class CostCentreInUse(Conflict):
    MESSAGES = {
        "postings": lazy("The cost centre {code} has postings or document lines: its code cannot change."),
        "split_rules": lazy(
            "The active split rules {names} share amounts to the cost centre {code}: change them first."
        ),
    }

    def __init__(self, code: str, reason: str, names: str = "") -> None:
        super().__init__(
            "cost_centre_in_use",
            self.MESSAGES[reason],
            params={"code": code, "reason": reason, "names": names},
        )


# --- Payables (FIN-3): suppliers, bills, payments to suppliers (docs/finance-payables.md) -------


class UnknownSupplier(PostingRefused):
    """The posting door: a line names a supplier that does not exist."""

    def __init__(self, field: str) -> None:
        super().__init__("unknown_supplier", lazy("There is no such supplier."), field=field)


class PayableRefused(DomainError):
    """A supplier, bill or supplier payment that cannot be recorded, raised before anything is
    written. ``code`` is the first problem's; ``errors`` lists every field at fault, so a form
    shows them all at once (``lines.2.account``, ``allocations.0.amount``)."""

    status = 422
    title = lazy("The document cannot be recorded")

    def __init__(
        self,
        code: str,
        message: str,
        /,
        *,
        field: str | None = None,
        errors: list[FieldError] | None = None,
        status: int | None = None,
        **params: Any,
    ) -> None:
        if errors is None and field:
            errors = [FieldError(field, message, params)]
        super().__init__(code, message, params=params, errors=errors, status=status)


class SupplierInUse(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(
            "supplier_in_use",
            lazy("{name} has bills or payments and cannot be deleted: deactivate the supplier instead."),
            params={"name": name},
        )


# --- statements (FIN-5: docs/finance-statements.md) ---------------------------------------------


class InvalidStatementDate(DomainError):
    status = 422

    def __init__(self, field: str, value: str) -> None:
        message = lazy("Enter a date as YYYY-MM-DD.")
        super().__init__(
            "invalid_date", message, params={"value": value}, errors=[FieldError(field, message)]
        )


class InvalidDateRange(DomainError):
    status = 422

    def __init__(self, field: str = "to") -> None:
        message = lazy("The end date must not be before the start date.")
        super().__init__("invalid_date_range", message, errors=[FieldError(field, message)])


class InvalidComparison(DomainError):
    status = 422

    def __init__(self, value: str) -> None:
        message = lazy("Choose a comparison from the list, or give its dates.")
        super().__init__(
            "invalid_comparison", message, params={"value": value}, errors=[FieldError("compare", message)]
        )


class InvalidExportFormat(DomainError):
    status = 422

    def __init__(self, value: str) -> None:
        message = lazy("Export as csv, xlsx or pdf.")
        super().__init__(
            "invalid_export_format", message, params={"value": value}, errors=[FieldError("format", message)]
        )


class ExportTooLarge(DomainError):
    status = 422

    def __init__(self, limit: int) -> None:
        super().__init__(
            "export_too_large",
            lazy("The ledger has more than {limit} lines in this range. Choose a shorter range."),
            params={"limit": limit},
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


class DocumentCurrencyMismatch(ReceivableRefused):
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
