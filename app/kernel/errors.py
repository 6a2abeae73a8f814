"""Domain errors with stable codes, rendered as RFC 9457 problem details on the API and as
translated messages on the portals (STYLE.md: "each context has its error codes").

Raise ``DomainError`` subclasses from services; never return error flags. The message is an
English msgid with ``{named}`` placeholders: the API and logs show it in English, portals show it
translated through the same catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any, ClassVar

from app.kernel.i18n import lazy

PROBLEM_BASE = "https://tessera.dev/problems/"


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str
    params: dict[str, Any] = dc_field(default_factory=dict)


class DomainError(Exception):
    """A business rule said no. ``code`` is stable and documented; ``status`` is the HTTP status."""

    status: ClassVar[int] = 422
    title: ClassVar[str] = lazy("Request cannot be processed")

    def __init__(
        self,
        code: str,
        message: str,
        *,
        params: dict[str, Any] | None = None,
        errors: list[FieldError] | None = None,
        status: int | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.params = params or {}
        self.errors = errors or []
        if status is not None:
            self.status = status  # type: ignore[misc]
        super().__init__(self.english)

    @property
    def english(self) -> str:
        try:
            return self.message.format(**self.params)
        except (KeyError, IndexError):
            return self.message


class NotFound(DomainError):
    """The record does not exist *or* the caller may not know it exists (other tenant, record rule)."""

    status = 404
    title = lazy("Not found")

    def __init__(self, what: str = lazy("record"), code: str = "not_found") -> None:
        super().__init__(code, lazy("The {what} was not found."), params={"what": what})


class Forbidden(DomainError):
    status = 403
    title = lazy("Forbidden")

    def __init__(
        self, message: str = lazy("You do not have permission to do this."), code: str = "forbidden"
    ) -> None:
        super().__init__(code, message)


class Conflict(DomainError):
    status = 409
    title = lazy("Conflict")


class ValidationFailed(DomainError):
    """Input that fails validation, with per-field errors (forms re-render with them)."""

    status = 422
    title = lazy("Validation failed")

    def __init__(self, errors: list[FieldError], message: str = lazy("Some fields are not valid.")) -> None:
        super().__init__("validation_failed", message, errors=errors)


class TooManyRequests(DomainError):
    status = 429
    title = lazy("Too many requests")


def problem(
    status: int,
    title: str,
    *,
    code: str,
    detail: str | None = None,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An RFC 9457 problem details body with Tessera's stable ``code`` extension member."""
    body: dict[str, Any] = {"type": PROBLEM_BASE + code, "title": title, "status": status, "code": code}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body
