"""Maintaining VAT rates and the rate each product category uses (the rates themselves and their
installation with the chart: app/finance/services/taxes.py).

    rate = await create_tax_rate(session, principal, {"code": "VAT5", "name": "增值税 5%",
        "rate": "5", "output_account": "222101", "input_account": "222102"})
    await set_category_rate(session, principal, "Printers", rate.id)

Rules:
* a rate is 0–100 % with at most two decimals; its output tax posts to a postable, active
  liability account, its input tax to a postable, active asset or liability account (CAS keeps
  进项税额 under 应交税费, a liability; the IFRS-style chart has an asset "VAT receivable");
* a rate used on an invoice or bill line keeps its percentage (``tax_rate_in_use``: add a new
  rate); its name and accounts may change — documents already issued keep what they posted;
* a rate that product categories default to stays active until they get another rate.

CRM pre-fills a new product's VAT rate from its category through the hook this module registers
(``app.crm.interface.register_category_tax_rate``), so CRM never imports finance.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm import interface as crm
from app.finance import errors
from app.finance.models import Account, BillLine, CategoryTaxRate, InvoiceLine, TaxRate
from app.finance.services.cost_centres import CODE_RE, clean_code, clean_name, truthy
from app.finance.services.setup import ensure_finance
from app.kernel.audit import audited
from app.kernel.errors import FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.security.principal import Principal

CENT = Decimal("0.01")
# Which account types each side of a rate may post to (see the module docstring).
SIDE_TYPES = {"output_account": ("liability",), "input_account": ("asset", "liability")}


async def list_tax_rates(session: AsyncSession) -> list[tuple[TaxRate, str, str]]:
    """Every rate (active first, then by percentage) with its output and input account codes."""
    await ensure_finance(session)
    out_acc, in_acc = Account.__table__.alias("out_acc"), Account.__table__.alias("in_acc")
    rows = await session.execute(
        select(TaxRate, out_acc.c.code, in_acc.c.code)
        .join(out_acc, out_acc.c.id == TaxRate.output_account_id)
        .join(in_acc, in_acc.c.id == TaxRate.input_account_id)
        .order_by(TaxRate.active.desc(), TaxRate.rate.desc(), TaxRate.code)
    )
    return [(rate, out_code, in_code) for rate, out_code, in_code in rows.all()]


async def get_tax_rate(session: AsyncSession, rate_id: int) -> TaxRate:
    rate = await session.get(TaxRate, rate_id)
    if rate is None:
        raise NotFound(lazy("tax rate"))
    return rate


async def account_codes(session: AsyncSession, rate: TaxRate) -> tuple[str, str]:
    codes = dict(
        (
            await session.execute(
                select(Account.id, Account.code).where(
                    Account.id.in_([rate.output_account_id, rate.input_account_id])
                )
            )
        ).all()
    )
    return codes[rate.output_account_id], codes[rate.input_account_id]


async def rate_used(session: AsyncSession, rate_id: int) -> bool:
    """Whether an invoice, credit note or bill line carries the rate."""
    used = select(
        exists(select(InvoiceLine.id).where(InvoiceLine.tax_rate_id == rate_id))
        | exists(select(BillLine.id).where(BillLine.tax_rate_id == rate_id))
    )
    return bool((await session.execute(used)).scalar_one())


def _percent(value: object, errs: list[FieldError]) -> Decimal | None:
    text = str(value if value is not None else "").strip()
    try:
        if isinstance(value, float | bool) or not text:
            raise InvalidOperation
        rate = Decimal(text)
    except (InvalidOperation, ValueError):
        errs.append(FieldError("rate", lazy("Enter a percentage, e.g. 13 or 9.5.")))
        return None
    if not rate.is_finite() or not 0 <= rate <= 100:
        errs.append(FieldError("rate", lazy("Enter a percentage from 0 to 100.")))
        return None
    if rate != rate.quantize(CENT):
        errs.append(FieldError("rate", lazy("Use at most two decimals.")))
        return None
    return rate.quantize(CENT)


async def _account(session: AsyncSession, value: object, field: str, errs: list[FieldError]) -> int | None:
    code = str(value or "").strip()
    account = (
        (await session.execute(select(Account).where(Account.code == code))).scalar_one_or_none()
        if code
        else None
    )
    types = SIDE_TYPES[field]
    if account is None or not account.postable or not account.active or account.type not in types:
        message = (
            lazy("Choose a postable, active liability account.")
            if types == ("liability",)
            else lazy("Choose a postable, active asset or liability account.")
        )
        errs.append(FieldError(field, message))
        return None
    return account.id


def _code_error(code: str) -> FieldError:
    return FieldError("code", lazy("Another tax rate already has the code {code}."), {"code": code})


async def _save(session: AsyncSession, rate: TaxRate) -> None:
    code = rate.code  # (a rolled-back savepoint expires the object)
    try:
        async with session.begin_nested():
            session.add(rate)
            await session.flush()
    except IntegrityError:
        raise ValidationFailed([_code_error(code)]) from None


async def create_tax_rate(session: AsyncSession, principal: Principal, data: Mapping[str, Any]) -> TaxRate:
    await ensure_finance(session)
    errs: list[FieldError] = []
    code = clean_code(data.get("code"), "code", errs)
    if len(code) > 20:
        errs.append(FieldError("code", lazy("Use at most {max} characters."), {"max": 20}))
    name = clean_name(data.get("name"), "name", errs, max_len=80)
    percent = _percent(data.get("rate"), errs)
    output_id = await _account(session, data.get("output_account"), "output_account", errs)
    input_id = await _account(session, data.get("input_account"), "input_account", errs)
    taken = select(TaxRate.id).where(func.lower(TaxRate.code) == code.lower())
    if CODE_RE.match(code) and (await session.execute(taken)).first() is not None:
        errs.append(_code_error(code))
    if errs:
        raise ValidationFailed(errs)
    rate = TaxRate(
        code=code,
        name=name,
        rate=percent,
        output_account_id=output_id,
        input_account_id=input_id,
        active=truthy(data.get("active", True)),
    )
    async with audited(session, "finance.tax_rate_created"):
        await _save(session, rate)
    return rate


async def update_tax_rate(
    session: AsyncSession, principal: Principal, rate_id: int, data: Mapping[str, Any]
) -> TaxRate:
    """Change the fields present in ``data``: ``name``, ``rate`` (only while no document line
    carries it), ``output_account``, ``input_account``, ``active``. The code stays."""
    rate = (
        await session.execute(select(TaxRate).where(TaxRate.id == rate_id).with_for_update())
    ).scalar_one_or_none()
    if rate is None:
        raise NotFound(lazy("tax rate"))
    errs: list[FieldError] = []
    values: dict[str, Any] = {}
    if "name" in data:
        values["name"] = clean_name(data["name"], "name", errs, max_len=80)
    if "rate" in data:
        values["rate"] = _percent(data["rate"], errs)
    for side, column in (("output_account", "output_account_id"), ("input_account", "input_account_id")):
        if side in data:
            values[column] = await _account(session, data[side], side, errs)
    if "active" in data:
        values["active"] = truthy(data["active"])
    if errs:
        raise ValidationFailed(errs)
    if "rate" in values and values["rate"] != rate.rate and await rate_used(session, rate.id):
        raise errors.TaxRateInUse(rate.code)
    if rate.active and values.get("active") is False:
        categories = await categories_of(session, rate.id)
        if categories:
            raise errors.TaxRateHasCategories(rate.code, ", ".join(categories))
    async with audited(session, "finance.tax_rate_changed"):
        for key, value in values.items():
            setattr(rate, key, value)
        await _save(session, rate)
    return rate


# --- category rates ------------------------------------------------------------------------------


async def categories_of(session: AsyncSession, rate_id: int) -> list[str]:
    stmt = select(CategoryTaxRate.category).where(CategoryTaxRate.tax_rate_id == rate_id)
    return sorted((await session.execute(stmt.order_by(CategoryTaxRate.category))).scalars())


async def category_rates(session: AsyncSession) -> list[tuple[str, TaxRate]]:
    rows = await session.execute(
        select(CategoryTaxRate.category, TaxRate)
        .join(TaxRate, TaxRate.id == CategoryTaxRate.tax_rate_id)
        .order_by(CategoryTaxRate.category)
    )
    return [(category, rate) for category, rate in rows.all()]


async def set_category_rate(
    session: AsyncSession, principal: Principal, category: object, rate_id: object
) -> None:
    """Products of ``category`` default to the active rate ``rate_id`` (replacing any before)."""
    errs: list[FieldError] = []
    name = clean_name(category, "category", errs, max_len=80)
    rate = None
    if isinstance(rate_id, int | str) and str(rate_id).strip().isdigit():
        rate = await session.get(TaxRate, int(str(rate_id).strip()))
    if rate is None or not rate.active:
        errs.append(FieldError("tax_rate_id", lazy("Choose an active tax rate.")))
    if errs:
        raise ValidationFailed(errs)
    assert rate is not None
    async with audited(session, "finance.category_tax_rate_set"):
        row = await session.get(CategoryTaxRate, name, with_for_update=True)
        if row is None:
            session.add(CategoryTaxRate(category=name, tax_rate_id=rate.id))
        else:
            row.tax_rate_id = rate.id
        try:
            async with session.begin_nested():
                await session.flush()
        except IntegrityError:  # the same category set at the same moment by someone else
            raise ValidationFailed(
                [FieldError("category", lazy("This category was just given a rate: reload and try again."))]
            ) from None


async def remove_category_rate(session: AsyncSession, principal: Principal, category: object) -> None:
    row = await session.get(CategoryTaxRate, " ".join(str(category or "").split()))
    if row is None:
        raise NotFound(lazy("category rate"))
    async with audited(session, "finance.category_tax_rate_removed"):
        await session.delete(row)
        await session.flush()


async def category_tax_percent(session: AsyncSession, category: str) -> Decimal | None:
    """The percentage of the active rate ``category`` defaults to (CRM's product form hook)."""
    stmt = (
        select(TaxRate.rate)
        .join(CategoryTaxRate, CategoryTaxRate.tax_rate_id == TaxRate.id)
        .where(CategoryTaxRate.category == category, TaxRate.active.is_(True))
    )
    return (await session.execute(stmt)).scalar_one_or_none()


crm.register_category_tax_rate(category_tax_percent)
