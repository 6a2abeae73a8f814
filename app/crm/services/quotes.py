"""Quotes (CRM-4): priced offers to an account. draft → sent → accepted / rejected / expired;
an accepted (or sent) quote becomes a sales order (app/crm/services/orders.py) and is "ordered".

quote = await create_quote(session, principal, {"account_id": 7, "price_list_id": 2,
                                               "lines": [{"product_id": 3, "quantity": "10"}]})
await add_quote_line(session, principal, quote.id, {"product_id": 4, "quantity": "2", "discount_percent": 5})
await send_quote(session, principal, quote.id)

Lines change only while the quote is a draft; a sent quote can be taken back to draft.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.errors import InvalidState
from app.crm.models import Contact, Opportunity, Product, Quote, QuoteLine
from app.crm.services.accounts import get_account
from app.crm.services.calendar import tenant_today
from app.crm.services.fields import (
    clean_currency,
    clean_date,
    clean_long_text,
    clean_optional_id,
)
from app.crm.services.lines import (
    LineKind,
    Pricing,
    apply_totals,
    check_price_list,
    clean_line,
)
from app.crm.services.numbering import next_number
from app.crm.services.opportunities import base_currency, get_opportunity
from app.crm.services.ownership import assignment_for
from app.crm.services.price_lists import default_price_list
from app.kernel.audit import audited
from app.kernel.db import utcnow
from app.kernel.errors import FieldError, Forbidden, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.security.permissions import CRM_ORDER_READ, CRM_ORDER_WRITE
from app.security.principal import Principal
from app.security.record_rules import can_write, get_visible, restrict

STATUS_LABELS = {
    "draft": lazy("Draft"),
    "sent": lazy("Sent"),
    "accepted": lazy("Accepted"),
    "rejected": lazy("Rejected"),
    "expired": lazy("Expired"),
    "ordered": lazy("Ordered"),
}
VALIDITY_DAYS = 30
MAX_LINES = 200


class QuoteNotDraft(InvalidState):
    def __init__(self) -> None:
        super().__init__(
            "quote_not_draft", lazy("Only draft quotes can be changed. Take it back to draft first.")
        )


def visible_quotes(principal: Principal) -> Select[Any]:
    return restrict(select(Quote), Quote, principal, CRM_ORDER_READ)


async def get_quote(session: AsyncSession, principal: Principal, quote_id: int) -> Quote:
    return await get_visible(session, Quote, quote_id, principal, CRM_ORDER_READ, lazy("quote"))


async def get_writable_quote(
    session: AsyncSession, principal: Principal, quote_id: int, *, lock: bool = False
) -> Quote:
    """Visible (else 404), inside the write scope (else 403); ``lock`` takes the row lock."""
    stmt = visible_quotes(principal).where(Quote.id == quote_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    quote = (await session.execute(stmt)).scalar_one_or_none()
    if quote is None:
        raise NotFound(lazy("quote"))
    if not can_write(quote, principal, CRM_ORDER_WRITE):
        raise Forbidden(lazy("You may view this quote but not change it."))
    return quote


async def quote_lines(session: AsyncSession, quote_id: int) -> list[QuoteLine]:
    return cast(list[QuoteLine], await QUOTE_LINES.of(session, quote_id))


async def clean_parties(
    session: AsyncSession, principal: Principal, data: Mapping[str, Any], errors: list[FieldError]
) -> dict[str, Any]:
    """Account, contact and opportunity of a new quote or order, each checked against the others.
    Without an account, the opportunity's account is used."""
    account_id = clean_optional_id(data.get("account_id"), "account_id", errors)
    contact_id = clean_optional_id(data.get("contact_id"), "contact_id", errors)
    opportunity_id = clean_optional_id(data.get("opportunity_id"), "opportunity_id", errors)
    opportunity: Opportunity | None = None
    if opportunity_id is not None:
        try:
            opportunity = await get_opportunity(session, principal, opportunity_id)
        except NotFound:
            errors.append(FieldError("opportunity_id", "Choose an existing opportunity."))
        else:
            if account_id is None:
                account_id = opportunity.account_id
            elif opportunity.account_id != account_id:
                errors.append(FieldError("opportunity_id", "Choose an opportunity of this account."))
    account = None
    if account_id is None:
        if not any(e.field == "account_id" for e in errors):
            errors.append(FieldError("account_id", "Choose the account."))
    else:
        try:
            account = await get_account(session, principal, account_id)
        except NotFound:
            errors.append(FieldError("account_id", "Choose an existing account."))
    if contact_id is not None:
        contact = await session.get(Contact, contact_id)
        if contact is None or contact.account_id != account_id:
            errors.append(FieldError("contact_id", "Choose a contact of this account."))
    return {"account": account, "contact_id": contact_id, "opportunity": opportunity}


async def clean_pricing(
    session: AsyncSession,
    data: Mapping[str, Any],
    errors: list[FieldError],
    day: Any,
    fallback_currency: str | None,
) -> tuple[str, int | None]:
    """The document's currency and price list: a given list sets the currency (and a different
    given currency is an error); without one, the default list of the currency applies."""
    price_list_id = clean_optional_id(data.get("price_list_id"), "price_list_id", errors)
    given_currency = (
        clean_currency(data.get("currency"), "currency", errors, "")
        if str(data.get("currency") or "").strip()
        else None
    )
    plist = await check_price_list(session, price_list_id, given_currency, day, errors)
    if plist is not None:
        return plist.currency, plist.id
    currency = given_currency or fallback_currency or base_currency()
    if price_list_id is None and "price_list_id" not in data:
        default = await default_price_list(session, currency, day)
        return currency, default.id if default else None
    return currency, None


async def clean_lines(
    session: AsyncSession, raw: Any, errors: list[FieldError], pricing: Pricing
) -> list[dict[str, Any]]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list | tuple):
        errors.append(FieldError("lines", "Lines are a list."))
        return []
    if len(raw) > MAX_LINES:
        errors.append(FieldError("lines", "Use at most {n} lines.", {"n": MAX_LINES}))
        return []
    products = await _load_products(session, raw)  # held while the lines are checked
    cleaned = [
        await clean_line(session, item, errors, pricing, prefix=f"lines[{i}].")
        for i, item in enumerate(raw)
        if isinstance(item, Mapping)
    ]
    del products
    return cleaned


async def _load_products(session: AsyncSession, raw: Any) -> list[Product]:
    """The lines' products in one statement, so each line's check finds its product in the
    session instead of reading it alone (what is not a plain id is left to the line's check).
    The caller holds the list: the session's identity map keeps only what is referenced."""
    ids = {
        product_id
        for item in raw
        if isinstance(item, Mapping)
        and (product_id := clean_optional_id(item.get("product_id"), "product_id", [])) is not None
        and product_id > 0
    }
    if not ids:
        return []
    return list((await session.execute(_PRODUCTS, {"ids": sorted(ids)})).scalars())


_PRODUCTS = select(Product).where(Product.id.in_(bindparam("ids", expanding=True)))  # built once


async def create_quote(session: AsyncSession, principal: Principal, data: Mapping[str, Any]) -> Quote:
    errors: list[FieldError] = []
    today = tenant_today()
    parties = await clean_parties(session, principal, data, errors)
    opportunity = parties["opportunity"]
    currency, price_list_id = await clean_pricing(
        session, data, errors, today, opportunity.currency if opportunity else None
    )
    valid_until = clean_date(data.get("valid_until"), "valid_until", errors) or today + timedelta(
        days=VALIDITY_DAYS
    )
    if valid_until < today:
        errors.append(FieldError("valid_until", "A quote cannot be valid until a past date."))
    notes = clean_long_text(data.get("notes"), "notes", errors, max_len=5000)
    owner = await assignment_for(
        session,
        principal,
        CRM_ORDER_WRITE,
        clean_optional_id(data.get("owner_id"), "owner_id", errors),
        errors,
    )
    lines = await clean_lines(session, data.get("lines"), errors, Pricing(currency, price_list_id))
    if errors or parties["account"] is None:
        raise ValidationFailed(errors)
    async with audited(session, "crm.quote_created"):
        quote = Quote(
            number=await next_number(session, "quote", today.year),
            account_id=parties["account"].id,
            contact_id=parties["contact_id"],
            opportunity_id=opportunity.id if opportunity else None,
            price_list_id=price_list_id,
            currency=currency,
            valid_until=valid_until,
            notes=notes,
            status="draft",
            owner_id=owner.owner_id,
            team_id=owner.team_id,
        )
        session.add(quote)
        await session.flush()
        rows = [QuoteLine(quote_id=quote.id, position=i, **v) for i, v in enumerate(lines, start=1)]
        session.add_all(rows)
        apply_totals(quote, rows)
    return quote


async def update_quote(
    session: AsyncSession, principal: Principal, quote_id: int, data: Mapping[str, Any]
) -> Quote:
    """A draft's validity, contact and notes (the currency and price list stay: lines depend on them)."""
    quote = await get_writable_quote(session, principal, quote_id, lock=True)
    if quote.status != "draft":
        raise QuoteNotDraft()
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    if "valid_until" in data:
        valid_until = clean_date(data.get("valid_until"), "valid_until", errors)
        if valid_until is not None and valid_until < tenant_today():
            errors.append(FieldError("valid_until", "A quote cannot be valid until a past date."))
        values["valid_until"] = valid_until
    if "contact_id" in data:
        contact_id = clean_optional_id(data.get("contact_id"), "contact_id", errors)
        if contact_id is not None:
            contact = await session.get(Contact, contact_id)
            if contact is None or contact.account_id != quote.account_id:
                errors.append(FieldError("contact_id", "Choose a contact of this account."))
        values["contact_id"] = contact_id
    if "notes" in data:
        values["notes"] = clean_long_text(data.get("notes"), "notes", errors, max_len=5000)
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.quote_updated"):
        for key, value in values.items():
            setattr(quote, key, value)
    return quote


async def _draft(session: AsyncSession, principal: Principal, quote_id: int) -> Quote:
    quote = await get_writable_quote(session, principal, quote_id, lock=True)
    if quote.status != "draft":
        raise QuoteNotDraft()
    return quote


QUOTE_LINES = LineKind(QuoteLine, QuoteLine.quote_id, lazy("quote line"), "crm.quote_line")


async def add_quote_line(
    session: AsyncSession, principal: Principal, quote_id: int, data: Mapping[str, Any]
) -> QuoteLine:
    quote = await _draft(session, principal, quote_id)
    return cast(QuoteLine, await QUOTE_LINES.add(session, quote, data))


async def get_quote_line(
    session: AsyncSession, principal: Principal, line_id: int
) -> tuple[Quote, QuoteLine]:
    """A line and its quote, for a reader who may see the quote (a hidden quote is a 404)."""
    line = cast(QuoteLine, await QUOTE_LINES.find(session, line_id))
    return await get_quote(session, principal, line.quote_id), line


async def update_quote_line(
    session: AsyncSession, principal: Principal, quote_id: int, line_id: int, data: Mapping[str, Any]
) -> QuoteLine:
    quote = await _draft(session, principal, quote_id)
    line = await QUOTE_LINES.get(session, quote, line_id)
    return cast(QuoteLine, await QUOTE_LINES.change(session, quote, line, data))


async def remove_quote_line(session: AsyncSession, principal: Principal, quote_id: int, line_id: int) -> None:
    quote = await _draft(session, principal, quote_id)
    await QUOTE_LINES.remove(session, quote, await QUOTE_LINES.get(session, quote, line_id))


# --- status ----------------------------------------------------------------------------------

# action → (statuses it starts from, status it leads to, audit event)
TRANSITIONS = {
    "send": (("draft",), "sent", "crm.quote_sent"),
    "accept": (("sent",), "accepted", "crm.quote_accepted"),
    "reject": (("sent",), "rejected", "crm.quote_rejected"),
    "expire": (("draft", "sent"), "expired", "crm.quote_expired"),
    "reopen": (("sent", "rejected", "expired"), "draft", "crm.quote_reopened"),
}
_REFUSALS = {
    "send": lazy("Only draft quotes can be sent."),
    "accept": lazy("Only sent quotes can be accepted."),
    "reject": lazy("Only sent quotes can be rejected."),
    "expire": lazy("Only draft or sent quotes can expire."),
    "reopen": lazy("Only sent, rejected or expired quotes can go back to draft."),
}


async def change_quote_status(
    session: AsyncSession, principal: Principal, quote_id: int, action: str
) -> Quote:
    """Move a quote along (``send``, ``accept``, ``reject``, ``expire``, ``reopen``)."""
    if action not in TRANSITIONS:
        raise NotFound(lazy("action"))
    sources, target, event = TRANSITIONS[action]
    quote = await get_writable_quote(session, principal, quote_id, lock=True)
    if quote.status not in sources:
        raise InvalidState(f"quote_cannot_{action}", _REFUSALS[action])
    if action == "send":
        if not await quote_lines(session, quote.id):
            raise InvalidState("quote_empty", lazy("Add at least one line before sending the quote."))
        if quote.valid_until is not None and quote.valid_until < tenant_today():
            raise InvalidState(
                "quote_validity_past", lazy("Set a validity date in the future before sending.")
            )
    async with audited(session, event):
        quote.status = target
        if action == "send":
            quote.sent_at = utcnow()
    return quote


async def send_quote(session: AsyncSession, principal: Principal, quote_id: int) -> Quote:
    return await change_quote_status(session, principal, quote_id, "send")
