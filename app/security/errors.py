"""Error codes of the security context (stable; documented in docs/api.md)."""

from __future__ import annotations

from app.kernel.errors import Conflict, DomainError, Forbidden, TooManyRequests
from app.kernel.i18n import lazy


class InvalidCredentials(DomainError):
    status = 401
    title = lazy("Invalid credentials")

    def __init__(self) -> None:
        super().__init__("invalid_credentials", lazy("The e-mail address or password is not correct."))


class LoginThrottled(TooManyRequests):
    def __init__(self, retry_after: int) -> None:
        minutes = max(1, (retry_after + 59) // 60)
        super().__init__(
            "login_throttled",
            lazy("Too many failed sign-in attempts. Try again in {minutes} minutes."),
            params={"minutes": minutes},
        )
        self.retry_after = retry_after


class LinkInvalid(DomainError):
    status = 400
    title = lazy("Link not valid")

    def __init__(self) -> None:
        super().__init__(
            "link_invalid",
            lazy("This link is not valid any more: it was used already, has expired or was replaced."),
        )


class EmailTaken(Conflict):
    def __init__(self, email: str) -> None:
        super().__init__(
            "email_taken", lazy("A user with the e-mail {email} already exists."), params={"email": email}
        )


class PasswordLoginDisabled(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            lazy("Your organisation signs in with single sign-on only."), code="password_login_disabled"
        )


class OrganisationSuspended(Forbidden):
    """Same code as the platform's suspended-host page (tenants.routing.TenantSuspended)."""

    def __init__(self) -> None:
        super().__init__(
            lazy(
                "This organisation's access is suspended. "
                "Please contact your administrator or Tessera support."
            ),
            code="tenant_suspended",
        )
