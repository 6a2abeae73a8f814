"""Cost centres (FIN-4): the departments expense and income lines are charged to.

    centre = await create_cost_centre(session, principal, {"code": "SALES-E", "name": "Sales East"})
    await update_cost_centre(session, principal, centre.id, {"active": False})

Ledger and document lines name a cost centre by its ``code`` (``fin_entry_lines.cost_centre``),
so a code never changes once a line uses it; names may. The posting door accepts only active
cost centres (``check_cost_centres``, ``unknown_cost_centre``); a reversal, which mirrors an entry
already accepted, needs its cost centres only to still exist. A cost centre that an active split
rule shares amounts to cannot be deactivated (the rule would split into it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance import errors
from app.finance.models import BillLine, CostCentre, EntryLine, InvoiceLine, SplitRule, SplitRuleShare
from app.kernel.audit import audited
from app.kernel.errors import FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.security.principal import Principal

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$")
CODE_HINT = lazy("Use up to 40 letters, digits and . _ / -, starting with a letter or digit.")


def clean_code(value: object, field: str, errs: list[FieldError]) -> str:
    code = str(value or "").strip()
    if not code:
        errs.append(FieldError(field, lazy("This field is required.")))
    elif not CODE_RE.match(code):
        errs.append(FieldError(field, CODE_HINT))
    return code


def clean_name(value: object, field: str, errs: list[FieldError], max_len: int = 120) -> str:
    name = " ".join(str(value or "").split())
    if not name:
        errs.append(FieldError(field, lazy("This field is required.")))
    elif len(name) > max_len:
        errs.append(FieldError(field, lazy("Use at most {max} characters."), {"max": max_len}))
    return name


def truthy(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "on", "true", "yes")


async def list_cost_centres(session: AsyncSession, *, active_only: bool = False) -> list[CostCentre]:
    stmt = select(CostCentre).order_by(CostCentre.code)
    if active_only:
        stmt = stmt.where(CostCentre.active.is_(True))
    return list((await session.execute(stmt)).scalars())


async def get_cost_centre(session: AsyncSession, centre_id: int) -> CostCentre:
    centre = await session.get(CostCentre, centre_id)
    if centre is None:
        raise NotFound(lazy("cost centre"))
    return centre


async def _code_taken(session: AsyncSession, code: str, exclude: int | None) -> bool:
    stmt = select(CostCentre.id).where(func.lower(CostCentre.code) == code.lower())
    if exclude is not None:
        stmt = stmt.where(CostCentre.id != exclude)
    return (await session.execute(stmt)).first() is not None


async def cost_centre_used(session: AsyncSession, code: str) -> bool:
    """Whether any ledger, invoice or bill line names ``code``."""
    used = select(
        exists(select(EntryLine.id).where(EntryLine.cost_centre == code))
        | exists(select(InvoiceLine.id).where(InvoiceLine.cost_centre == code))
        | exists(select(BillLine.id).where(BillLine.cost_centre == code))
    )
    return bool((await session.execute(used)).scalar_one())


async def _active_rules_using(session: AsyncSession, centre_id: int) -> list[str]:
    stmt = (
        select(SplitRule.code)
        .join(SplitRuleShare, SplitRuleShare.rule_id == SplitRule.id)
        .where(SplitRuleShare.cost_centre_id == centre_id, SplitRule.active.is_(True))
        .order_by(SplitRule.code)
    )
    return list((await session.execute(stmt)).scalars())


async def _save(session: AsyncSession, centre: CostCentre) -> None:
    """Flush, turning a lost race for a code into the same field error as the check before it."""
    code = centre.code  # (a rolled-back savepoint expires the object)
    try:
        async with session.begin_nested():
            session.add(centre)
            await session.flush()
    except IntegrityError:
        raise ValidationFailed(
            [FieldError("code", lazy("Another cost centre already has the code {code}."), {"code": code})]
        ) from None


async def create_cost_centre(
    session: AsyncSession, principal: Principal, data: Mapping[str, Any]
) -> CostCentre:
    errs: list[FieldError] = []
    code = clean_code(data.get("code"), "code", errs)
    name = clean_name(data.get("name"), "name", errs)
    if CODE_RE.match(code) and await _code_taken(session, code, None):
        errs.append(
            FieldError("code", lazy("Another cost centre already has the code {code}."), {"code": code})
        )
    if errs:
        raise ValidationFailed(errs)
    centre = CostCentre(code=code, name=name, active=truthy(data.get("active", True)))
    async with audited(session, "finance.cost_centre_created"):
        await _save(session, centre)
    return centre


async def update_cost_centre(
    session: AsyncSession, principal: Principal, centre_id: int, data: Mapping[str, Any]
) -> CostCentre:
    """Change the fields present in ``data``: ``code`` (only while no line uses it), ``name``,
    ``active`` (not off while an active split rule uses it)."""
    centre = (
        await session.execute(select(CostCentre).where(CostCentre.id == centre_id).with_for_update())
    ).scalar_one_or_none()
    if centre is None:
        raise NotFound(lazy("cost centre"))
    errs: list[FieldError] = []
    values: dict[str, Any] = {}
    if "code" in data:
        values["code"] = clean_code(data["code"], "code", errs)
    if "name" in data:
        values["name"] = clean_name(data["name"], "name", errs)
    if "active" in data:
        values["active"] = truthy(data["active"])
    code = values.get("code", centre.code)
    if code != centre.code and CODE_RE.match(code) and await _code_taken(session, code, centre.id):
        errs.append(
            FieldError("code", lazy("Another cost centre already has the code {code}."), {"code": code})
        )
    if errs:
        raise ValidationFailed(errs)
    if code != centre.code and await cost_centre_used(session, centre.code):
        raise errors.CostCentreInUse(centre.code, "postings")
    if centre.active and values.get("active") is False:
        rules = await _active_rules_using(session, centre.id)
        if rules:
            raise errors.CostCentreInUse(centre.code, "split_rules", ", ".join(rules))
    async with audited(session, "finance.cost_centre_changed"):
        for key, value in values.items():
            setattr(centre, key, value)
        await _save(session, centre)
    return centre


async def check_cost_centres(session: AsyncSession, lines: Sequence[Any], *, reversal: bool = False) -> None:
    """The posting door's check: each line's ``cost_centre`` (if any) is an active cost centre —
    or, for a reversal, one that still exists."""
    codes = {line.cost_centre for line in lines if line.cost_centre}
    if not codes:
        return
    known = dict(
        (
            await session.execute(
                select(CostCentre.code, CostCentre.active).where(CostCentre.code.in_(codes))
            )
        ).all()
    )
    for i, line in enumerate(lines):
        code = line.cost_centre
        if code and not (known.get(code) or (reversal and code in known)):
            raise errors.UnknownCostCentre(f"lines.{i}.cost_centre", code)


async def cost_centre_options(session: AsyncSession) -> list[tuple[str, str]]:
    """(code, "code name") of the active cost centres: what a form offers for a line."""
    return [(c.code, f"{c.code} {c.name}") for c in await list_cost_centres(session, active_only=True)]
