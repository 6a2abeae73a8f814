"""Suppliers (FIN-3): the people the tenant buys from, their terms and how to pay them.

    supplier = await create_supplier(session, principal, {"code": "S-001", "name": "上海明辉贸易"})
    await update_supplier(session, principal, supplier.id, {"payment_terms_days": 45})
    await set_supplier_active(session, principal, supplier.id, False)   # no new bills
    await delete_supplier(session, principal, supplier.id)   # only one without bills or payments

``code`` is unique (``duplicate_supplier_code``, 409); ``payment_terms_days`` is 0-365 and sets a
new bill's default due date; ``currency`` defaults to the tenant's base currency (bills must be
in it). A deactivated supplier gets no new bills but can still be paid what is owed to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance.errors import PayableRefused, SupplierInUse
from app.finance.models import Bill, FinanceSettings, Payment, Supplier
from app.finance.services.payables_input import Problems
from app.finance.services.setup import ensure_finance
from app.kernel.audit import audited
from app.kernel.errors import NotFound
from app.kernel.i18n import lazy
from app.security.principal import Principal

# What a form or API body may set, with the longest text each column holds.
_TEXT = {"tax_id": 40, "phone": 40, "bank_account": 80}
FIELDS = ("code", "name", "tax_id", "email", "phone", "address", "currency", "payment_terms_days",
          "bank_account")  # fmt: skip


async def base_currency(session: AsyncSession) -> str:
    await ensure_finance(session)
    return (await session.execute(select(FinanceSettings.base_currency))).scalar_one()


async def default_terms(session: AsyncSession) -> int:
    await ensure_finance(session)
    return (await session.execute(select(FinanceSettings.payment_terms_days))).scalar_one()


def _clean(data: Mapping[str, Any], problems: Problems, *, partial: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def present(key: str) -> bool:
        return not partial or key in data

    if present("code"):
        out["code"] = problems.text(data.get("code"), "code", max_len=40, required=True)
    if present("name"):
        out["name"] = problems.text(data.get("name"), "name", max_len=200, required=True)
    if present("email"):
        out["email"] = problems.email(data.get("email"), "email")
    if present("address"):
        out["address"] = problems.optional_text(data.get("address"), "address", max_len=1000)
    for key, max_len in _TEXT.items():
        if present(key):
            out[key] = problems.optional_text(data.get(key), key, max_len=max_len)
    if present("currency"):
        out["currency"] = problems.currency(data.get("currency"), "currency")
    if present("payment_terms_days"):
        out["payment_terms_days"] = problems.integer(
            data.get("payment_terms_days"), "payment_terms_days", low=0, high=365
        )
    return out


def _duplicate_code(code: str) -> PayableRefused:
    return PayableRefused(
        "duplicate_supplier_code",
        lazy("Another supplier already has the code {code}."),
        field="code",
        status=409,
        code=code,
    )


async def _check_code_free(session: AsyncSession, code: str, *, other_than: int | None = None) -> None:
    """Codes are compared ignoring case, so S-001 and s-001 are not two suppliers."""
    stmt = select(Supplier.id).where(func.upper(Supplier.code) == code.upper())
    if other_than is not None:
        stmt = stmt.where(Supplier.id != other_than)
    if (await session.execute(stmt.limit(1))).first() is not None:
        raise _duplicate_code(code)


async def _flush_unique(session: AsyncSession, code: str) -> None:
    """Flush in a savepoint: a concurrent insert of the same code is the same clear error."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        if "uq_fin_suppliers_code" in str(exc.orig):
            raise _duplicate_code(code) from None
        raise


async def create_supplier(
    session: AsyncSession, principal: Principal | None, data: Mapping[str, Any]
) -> Supplier:
    problems = Problems()
    values = _clean(data, problems, partial=False)
    problems.raise_if_any()
    await _check_code_free(session, values["code"])
    values["currency"] = values["currency"] or await base_currency(session)
    if values["payment_terms_days"] is None:
        values["payment_terms_days"] = await default_terms(session)
    supplier = Supplier(**values, active=True)
    async with audited(session, "finance.supplier_created"):
        session.add(supplier)
        await _flush_unique(session, supplier.code)
    return supplier


async def get_supplier(session: AsyncSession, supplier_id: int, *, lock: bool = False) -> Supplier:
    stmt = select(Supplier).where(Supplier.id == supplier_id)
    if lock:
        stmt = stmt.with_for_update()
    supplier = (await session.execute(stmt)).scalar_one_or_none()
    if supplier is None:
        raise NotFound(lazy("supplier"))
    return supplier


async def update_supplier(
    session: AsyncSession, principal: Principal | None, supplier_id: int, data: Mapping[str, Any]
) -> Supplier:
    """Change the fields present in ``data`` (``active`` too: see ``set_supplier_active``)."""
    supplier = await get_supplier(session, supplier_id, lock=True)
    problems = Problems()
    values = _clean(data, problems, partial=True)
    active = data.get("active")
    if "active" in data and not isinstance(active, bool):
        problems.add("invalid_choice", "active", lazy("Choose yes or no."))
    problems.raise_if_any()
    if "code" in values:
        await _check_code_free(session, values["code"], other_than=supplier.id)
    if "currency" in values and values["currency"] is None:
        values["currency"] = await base_currency(session)
    if "payment_terms_days" in values and values["payment_terms_days"] is None:
        values["payment_terms_days"] = await default_terms(session)
    if isinstance(active, bool):
        values["active"] = active
    async with audited(session, "finance.supplier_updated"):
        for key, value in values.items():
            setattr(supplier, key, value)
        await _flush_unique(session, supplier.code)
    return supplier


async def set_supplier_active(
    session: AsyncSession, principal: Principal | None, supplier_id: int, active: bool
) -> Supplier:
    """Deactivate (no new bills; open bills can still be paid) or reactivate a supplier."""
    supplier = await get_supplier(session, supplier_id, lock=True)
    event = "finance.supplier_activated" if active else "finance.supplier_deactivated"
    async with audited(session, event):
        supplier.active = active
    return supplier


async def has_documents(session: AsyncSession, supplier_id: int) -> bool:
    stmt = select(
        or_(
            exists().where(Bill.supplier_id == supplier_id),
            exists().where(Payment.supplier_id == supplier_id),
        )
    )
    return bool((await session.execute(stmt)).scalar())


async def delete_supplier(session: AsyncSession, principal: Principal | None, supplier_id: int) -> None:
    """Only a supplier nothing refers to: one with bills or payments is deactivated instead
    (``supplier_in_use``). The row is locked first, so a bill entered meanwhile waits for this
    transaction and then fails on the missing supplier — or this one sees its bill."""
    supplier = await get_supplier(session, supplier_id, lock=True)
    if await has_documents(session, supplier.id):
        raise SupplierInUse(supplier.name)
    async with audited(session, "finance.supplier_deleted"):
        await session.delete(supplier)


def search_suppliers(stmt: Select[Any], q: str) -> Select[Any]:
    """Suppliers whose code, name or tax id contains ``q`` (ignoring case)."""
    like = f"%{q.strip()}%"
    return stmt.where(or_(Supplier.code.ilike(like), Supplier.name.ilike(like), Supplier.tax_id.ilike(like)))


def suppliers_stmt(*, q: str | None = None, active: bool | None = None) -> Select[Any]:
    stmt = select(Supplier)
    if q:
        stmt = search_suppliers(stmt, q)
    if active is not None:
        stmt = stmt.where(Supplier.active.is_(active))
    return stmt


async def supplier_choices(session: AsyncSession, *, active_only: bool = True) -> list[Supplier]:
    stmt = select(Supplier).order_by(Supplier.name, Supplier.id)
    if active_only:
        stmt = stmt.where(Supplier.active.is_(True))
    return list((await session.execute(stmt)).scalars())
