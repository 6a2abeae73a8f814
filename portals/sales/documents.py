"""What the quote, order and contract pages share: the pickers' choices, owner choices within
the reader's scope, number formatting for prices and rates, and the context for line tables.

Every choice list starts from the record rules (``visible_accounts``, ``staff_in_scope``), so a
form never offers an account or a person the reader could not pick anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from babel import numbers
from litestar import Request, Response
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import Account, Contact, Opportunity
from app.crm.services import price_lists, products, reps
from app.crm.services.visibility import account_choices, visible_accounts
from app.kernel import i18n
from app.kernel.csvfile import csv_bytes
from app.kernel.db import utcnow
from app.security.models import User
from app.security.permissions import CRM_OPPORTUNITY_READ
from app.security.principal import Principal
from app.security.record_rules import restrict
from portals.exports import ExportColumn, csv_download, export_rows, order_for
from portals.tables import TableSpec, apply_query, parse_query

ACCOUNT_CHOICES = 50
TONES = {
    # quotes
    "sent": "tag-info",
    "accepted": "tag-ok",
    "rejected": "tag-err",
    "expired": "tag-warn",
    "ordered": "tag-ok",
    # orders
    "confirmed": "tag-info",
    "fulfilled": "tag-ok",
    "invoiced": "tag-ok",
    "cancelled": "tag-err",
    # contracts and instalments
    "active": "tag-ok",
    "completed": "tag-info",
    "terminated": "tag-err",
    "paid": "tag-ok",
    "partially_paid": "tag-info",
    "overdue": "tag-err",
    "pending": "",
    "draft": "",
}


def unit_price(value: Decimal, currency: str) -> str:
    """A unit price with 2 to 4 decimals (¥0.0125 stays ¥0.0125; ¥70 shows ¥70.00)."""
    return numbers.format_currency(
        Decimal(value), currency, format="¤#,##0.00##", currency_digits=False, locale=i18n.babel_locale()
    )


def rate(value: Decimal) -> str:
    """13.00 → "13%", 12.50 → "12.5%" in the reader's language."""
    value = Decimal(value)
    digits = (
        0
        if value == value.to_integral_value()
        else (1 if (value * 10) == (value * 10).to_integral_value() else 2)
    )
    return i18n.format_percent(value / 100, digits)


def plain(value: Decimal, min_places: int = 2) -> str:
    """A stored number as a form shows it: 4999.0000 → "4999.00", 0.0125 → "0.0125", 13.00 → "13"."""
    value = Decimal(value).normalize()
    exponent = int(value.as_tuple().exponent)
    return str(value.quantize(Decimal(1).scaleb(-min_places))) if -exponent < min_places else f"{value:f}"


def quantity(value: Decimal) -> str:
    return i18n.format_number(Decimal(value).normalize())


def vat_by_rate(lines: Sequence[Any]) -> list[tuple[Decimal, Decimal, Decimal]]:
    """(rate, net, VAT) per VAT rate, highest rate first: the breakdown an invoice shows."""
    groups: dict[Decimal, tuple[Decimal, Decimal]] = {}
    for line in lines:
        net, tax = groups.get(Decimal(line.tax_rate), (Decimal("0.00"), Decimal("0.00")))
        groups[Decimal(line.tax_rate)] = (net + line.net_amount, tax + line.tax_amount)
    return [(r, net, tax) for r, (net, tax) in sorted(groups.items(), reverse=True)]


def formatters() -> dict[str, Any]:
    """Template helpers for money-like values that format_money would round to the cent."""
    return {
        "unit_price": unit_price,
        "rate": rate,
        "quantity": quantity,
        "plain": plain,
        "tones": TONES,
        "vat_by_rate": vat_by_rate,
    }


async def account_options(
    db: AsyncSession, p: Principal, q: str = "", selected: int | None = None
) -> list[tuple[int, str]]:
    found = await account_choices(db, p, q=q, selected=selected, limit=ACCOUNT_CHOICES)
    return [(a.id, a.name) for a in found]


async def contact_options(db: AsyncSession, p: Principal, account_id: int | None) -> list[tuple[int, str]]:
    if account_id is None:
        return []
    stmt = (
        select(Contact.id, Contact.full_name)
        .where(Contact.account_id == account_id, Contact.archived_at.is_(None))
        .where(Contact.account_id.in_(visible_accounts(p).with_only_columns(Account.id)))
        .order_by(Contact.full_name)
    )
    return [(i, n) for i, n in (await db.execute(stmt.limit(200))).all()]


async def opportunity_options(
    db: AsyncSession, p: Principal, account_id: int | None
) -> list[tuple[int, str]]:
    if account_id is None or not p.can(CRM_OPPORTUNITY_READ):
        return []
    base: Any = select(Opportunity.id, Opportunity.name).where(Opportunity.account_id == account_id)
    stmt = restrict(
        base,
        Opportunity,
        p,
        CRM_OPPORTUNITY_READ,
    ).order_by(Opportunity.created_at.desc())
    return [(i, n) for i, n in (await db.execute(stmt.limit(100))).all()]


async def owner_options(
    db: AsyncSession, p: Principal, permission: str, current: int | None = None
) -> list[tuple[int, str]]:
    people = await reps.staff_in_scope(db, p, permission)
    if current is not None and all(u.id != current for u in people):
        owner = await db.get(User, current)
        if owner is not None:
            people.insert(0, owner)  # keep today's owner choosable
    return [(u.id, u.full_name) for u in people]


async def price_list_options(db: AsyncSession, day: date) -> list[tuple[int, str]]:
    return [(pl.id, f"{pl.name} · {pl.currency}") for pl in await price_lists.usable_price_lists(db, day)]


async def product_options(db: AsyncSession) -> list[tuple[int, str]]:
    return [(pr.id, f"{pr.sku} · {pr.name}") for pr in await products.active_products(db)]


async def csv_of_rows(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    stmt: Select[Any],
    spec: TableSpec,
    columns: Sequence[ExportColumn],
    name: str,
) -> Response[bytes]:
    """Like portals.exports.csv_export, for list statements that select a record *with* the names
    shown beside it (account, owner): each column's ``value`` receives the whole row."""
    query = parse_query(request.query_params, spec)
    stmt = apply_query(stmt, spec, query).order_by(*order_for(spec, request.query_params))
    rows = await export_rows(db, stmt, scalars=False)
    body = csv_bytes([i18n.gettext(c.header) for c in columns], ([c.value(r) for c in columns] for r in rows))
    filename = f"{name}-{utcnow().date().isoformat()}.csv"
    return csv_download(body, f"{filename}")
