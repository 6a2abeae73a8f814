"""CRM's error codes (STYLE.md: each context has its codes). Raise these from services; the API
answers them as RFC 9457 problems with the same ``code``, the portals show the message translated.

Field-level input problems are ``ValidationFailed`` with ``FieldError``s (app/kernel/errors.py).
"""

from __future__ import annotations

from typing import Any

from app.kernel.errors import Conflict, DomainError
from app.kernel.i18n import lazy


class InvalidState(Conflict):
    """The record is not in a state that allows this (an order already confirmed, a lead converted)."""

    def __init__(self, code: str, message: str, **params: Any) -> None:
        super().__init__(code, message, params=params)


class AlreadyConverted(InvalidState):
    def __init__(self) -> None:
        super().__init__("lead_already_converted", lazy("This lead has already been converted."))


class MergeIntoSelf(DomainError):
    status = 422

    def __init__(self) -> None:
        super().__init__("merge_into_self", lazy("An account cannot be merged into itself."))


class SurveyAlreadyAnswered(InvalidState):
    def __init__(self) -> None:
        super().__init__("survey_already_answered", lazy("This survey has already been answered. Thank you!"))


class AlreadyMerged(InvalidState):
    """A merged-away account or contact lives on in the record it was merged into (CRM-1)."""

    def __init__(self, what: str, name: str) -> None:
        super().__init__(
            f"{what}_already_merged", lazy("{name} has already been merged into another record."), name=name
        )
