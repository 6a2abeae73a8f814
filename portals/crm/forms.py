"""What the customer-master pages share: labels, the account/contact form values, small parsers,
and the answer for an htmx card that re-renders itself (success or 422 with its errors)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from litestar import Request, Response

from app.crm.models import Account, Contact
from app.crm.services.contacts import full_name_of
from app.kernel.i18n import lazy
from portals.forms import as_list, wants_fragment
from portals.web import render

NAV_SECTION = lazy("Customers")

STAGE_LABELS = {
    "prospect": lazy("Prospect"),
    "customer": lazy("Customer"),
    "partner": lazy("Partner"),
    "churned": lazy("Churned"),
}
STAGE_TONES = {"prospect": "tag-info", "customer": "tag-ok", "partner": "", "churned": "tag-warn"}
KIND_LABELS = {"company": lazy("Company"), "person": lazy("Individual")}

ACCOUNT_FIELDS = (
    "name", "kind", "legal_name", "lifecycle_stage", "email", "phone", "website", "industry", "region",
    "country", "city", "address", "source", "needs",
)  # fmt: skip
CONTACT_FIELDS = ("first_name", "last_name", "full_name", "title", "email", "phone", "mobile", "notes")


def account_values(account: Account) -> dict[str, Any]:
    """The edit form filled with what is stored."""
    values: dict[str, Any] = {k: getattr(account, k) or "" for k in ACCOUNT_FIELDS}
    values["tags"] = ", ".join(account.tags or [])
    values["owner_id"] = account.owner_id or ""
    return values


def contact_values(contact: Contact) -> dict[str, Any]:
    values: dict[str, Any] = {k: getattr(contact, k) or "" for k in CONTACT_FIELDS}
    if contact.full_name == full_name_of(contact.first_name, contact.last_name):
        values["full_name"] = ""  # built from the names: stays so when they change
    values["account_id"] = contact.account_id
    values["is_primary"] = "1" if contact.is_primary else ""
    return values


def account_input(form: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """What an account form posted, as the service takes it (every field unless ``partial``)."""
    keys = [*ACCOUNT_FIELDS, "tags", "owner_id"]
    return {k: form.get(k) for k in keys if not partial or k in form}


def contact_input(form: Mapping[str, Any]) -> dict[str, Any]:
    data = {k: form.get(k) for k in CONTACT_FIELDS}
    data["is_primary"] = form.get("is_primary") or ""
    if "account_id" in form:
        data["account_id"] = form.get("account_id")
    return data


def preference_pairs(form: Mapping[str, Any]) -> dict[str, str]:
    """Name/value rows (``pref_name[]``/``pref_value[]``) as a dict; blank names are dropped."""
    names = as_list(form.get("pref_name[]"))
    values = as_list(form.get("pref_value[]"))
    values += [""] * (len(names) - len(values))
    return {n: v for n, v in zip(names, values, strict=False) if n.strip()}


async def card(
    request: Request[Any, Any, Any],
    template: str,
    target: str,
    *,
    full_page: Callable[[], Awaitable[Response[Any]]],
    status: int = 200,
    **ctx: Any,
) -> Response[Any]:
    """An inline-edit card's answer: htmx gets the card alone (a 422 names itself with
    ``HX-Retarget`` so app.js swaps it in); a plain form post gets the whole page."""
    if not wants_fragment(request):
        return await full_page()
    response = render(request, template, status=status, **ctx)
    if status == 422:
        response.headers["HX-Retarget"] = f"#{target}"
        response.headers["HX-Reswap"] = "outerHTML"
    return response
