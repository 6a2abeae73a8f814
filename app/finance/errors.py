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
