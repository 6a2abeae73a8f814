"""Split rules (FIN-4): how one amount is shared across cost centres.

    rule = await create_split_rule(session, principal, {"code": "SHARED", "name": "Shared office",
        "shares": [{"cost_centre": "SALES", "percent": "33.3333"},
                   {"cost_centre": "OPS", "percent": "33.3333"},
                   {"cost_centre": "ADMIN", "percent": "33.3334"}]})
    await split_by_rule(session, rule.id, Decimal("100.00"))
    → [("SALES", Decimal("33.33")), ("OPS", Decimal("33.33")), ("ADMIN", Decimal("33.34"))]

Shares are percentages with at most four decimals that add up to exactly 100
(``shares_must_total_100``), each on a different active cost centre. Their order (``position``)
is the order given, and it matters: every part but the last is rounded half-up to the cent and
the last share takes the rounding residual (app/finance/services/splits.py), so the parts always
add up to the amount.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.finance import errors
from app.finance.models import CostCentre, SplitRule, SplitRuleShare
from app.finance.services.cost_centres import CODE_RE, clean_code, clean_name, truthy
from app.finance.services.splits import split
from app.kernel.audit import audited
from app.kernel.errors import FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.security.principal import Principal

HUNDRED = Decimal("100")
SHARE_PLACES = Decimal("0.0001")
MAX_SHARES = 50
EXAMPLE_AMOUNT = Decimal("100.00")


async def list_split_rules(session: AsyncSession) -> list[SplitRule]:
    return list((await session.execute(select(SplitRule).order_by(SplitRule.code))).scalars())


async def get_split_rule(session: AsyncSession, rule_id: int) -> SplitRule:
    rule = await session.get(SplitRule, rule_id)
    if rule is None:
        raise NotFound(lazy("split rule"))
    return rule


async def rule_shares(session: AsyncSession, rule_ids: list[int]) -> dict[int, list[tuple[str, Decimal]]]:
    """Each rule's shares in order: (cost centre code, percent)."""
    out: dict[int, list[tuple[str, Decimal]]] = {rule_id: [] for rule_id in rule_ids}
    if not rule_ids:
        return out
    rows = await session.execute(
        select(SplitRuleShare.rule_id, CostCentre.code, SplitRuleShare.percent)
        .join(CostCentre, CostCentre.id == SplitRuleShare.cost_centre_id)
        .where(SplitRuleShare.rule_id.in_(rule_ids))
        .order_by(SplitRuleShare.rule_id, SplitRuleShare.position, SplitRuleShare.id)  # as bills split
    )
    for rule_id, code, percent in rows.all():
        out[rule_id].append((code, percent))
    return out


def example_split(
    shares: list[tuple[str, Decimal]], amount: Decimal = EXAMPLE_AMOUNT
) -> list[tuple[str, Decimal]]:
    return split(amount, shares) if shares else []


async def split_by_rule(session: AsyncSession, rule_id: int, amount: Decimal) -> list[tuple[str, Decimal]]:
    """``amount`` shared by the active rule ``rule_id``: (cost centre code, part), the residual on
    the last share. For documents that charge one line to several cost centres (bills)."""
    rule = await get_split_rule(session, rule_id)
    if not rule.active:
        raise NotFound(lazy("split rule"))
    return split(amount, (await rule_shares(session, [rule.id]))[rule.id])


def _percent(value: object, field: str, errs: list[FieldError]) -> Decimal | None:
    text = str(value if value is not None else "").strip()
    try:
        if isinstance(value, float | bool) or not text:
            raise InvalidOperation
        percent = Decimal(text)
    except (InvalidOperation, ValueError):
        errs.append(FieldError(field, lazy("Enter a percentage, e.g. 33.3333.")))
        return None
    if not percent.is_finite() or percent <= 0 or percent > HUNDRED:
        errs.append(FieldError(field, lazy("Enter a percentage above 0 and at most 100.")))
        return None
    if percent != percent.quantize(SHARE_PLACES):
        errs.append(FieldError(field, lazy("Use at most four decimals.")))
        return None
    return percent


async def _clean_shares(
    session: AsyncSession, raw: object, errs: list[FieldError]
) -> list[tuple[int, Decimal]]:
    """``raw`` as [(cost centre id, percent)] in order; field errors name ``shares.N.<field>``."""
    if not isinstance(raw, list) or not raw:
        errs.append(FieldError("shares", lazy("Give at least one cost centre a share.")))
        return []
    if len(raw) > MAX_SHARES:
        errs.append(FieldError("shares", lazy("A rule has at most {max} shares."), {"max": MAX_SHARES}))
        return []
    centres = {
        c.code: c
        for c in (await session.execute(select(CostCentre).where(CostCentre.active.is_(True)))).scalars()
    }
    out: list[tuple[int, Decimal]] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        item = item if isinstance(item, Mapping) else {}
        code = str(item.get("cost_centre") or "").strip()
        percent = _percent(item.get("percent"), f"shares.{i}.percent", errs)
        centre = centres.get(code)
        if centre is None:
            errs.append(FieldError(f"shares.{i}.cost_centre", lazy("Choose an active cost centre.")))
        elif code in seen:
            errs.append(FieldError(f"shares.{i}.cost_centre", lazy("Each cost centre takes one share.")))
        seen.add(code)
        if centre is not None and percent is not None:
            out.append((centre.id, percent))
    return out


async def _code_taken(session: AsyncSession, code: str, exclude: int | None) -> bool:
    stmt = select(SplitRule.id).where(func.lower(SplitRule.code) == code.lower())
    if exclude is not None:
        stmt = stmt.where(SplitRule.id != exclude)
    return (await session.execute(stmt)).first() is not None


def _code_error(code: str) -> FieldError:
    return FieldError("code", lazy("Another split rule already has the code {code}."), {"code": code})


async def _write(session: AsyncSession, rule: SplitRule, shares: list[tuple[int, Decimal]] | None) -> None:
    code = rule.code  # (a rolled-back savepoint expires the object)
    try:
        async with session.begin_nested():
            session.add(rule)
            await session.flush()
            if shares is not None:
                for old in (
                    await session.execute(select(SplitRuleShare).where(SplitRuleShare.rule_id == rule.id))
                ).scalars():
                    await session.delete(old)
                await session.flush()
                session.add_all(
                    SplitRuleShare(rule_id=rule.id, cost_centre_id=centre_id, percent=percent, position=k)
                    for k, (centre_id, percent) in enumerate(shares)
                )
                await session.flush()
    except IntegrityError:
        raise ValidationFailed([_code_error(code)]) from None


def _check_total(shares: list[tuple[int, Decimal]]) -> None:
    total = sum((p for _, p in shares), Decimal(0))
    if total != HUNDRED:
        raise errors.SharesMustTotal100(total)


async def create_split_rule(
    session: AsyncSession, principal: Principal, data: Mapping[str, Any]
) -> SplitRule:
    errs: list[FieldError] = []
    code = clean_code(data.get("code"), "code", errs)
    name = clean_name(data.get("name"), "name", errs)
    shares = await _clean_shares(session, data.get("shares"), errs)
    if CODE_RE.match(code) and await _code_taken(session, code, None):
        errs.append(_code_error(code))
    if errs:
        raise ValidationFailed(errs)
    _check_total(shares)
    rule = SplitRule(code=code, name=name, active=truthy(data.get("active", True)))
    async with audited(session, "finance.split_rule_created"):
        await _write(session, rule, shares)
    return rule


async def update_split_rule(
    session: AsyncSession, principal: Principal, rule_id: int, data: Mapping[str, Any]
) -> SplitRule:
    """Change the fields present in ``data``; ``shares`` replaces all shares. A rule can only be
    (or stay) active while each of its cost centres is."""
    rule = (
        await session.execute(select(SplitRule).where(SplitRule.id == rule_id).with_for_update())
    ).scalar_one_or_none()
    if rule is None:
        raise NotFound(lazy("split rule"))
    errs: list[FieldError] = []
    values: dict[str, Any] = {}
    if "code" in data:
        values["code"] = clean_code(data["code"], "code", errs)
    if "name" in data:
        values["name"] = clean_name(data["name"], "name", errs)
    if "active" in data:
        values["active"] = truthy(data["active"])
    shares = await _clean_shares(session, data["shares"], errs) if "shares" in data else None
    code = values.get("code", rule.code)
    if code != rule.code and CODE_RE.match(code) and await _code_taken(session, code, rule.id):
        errs.append(_code_error(code))
    if values.get("active", rule.active) and shares is None and not errs:
        current = (await rule_shares(session, [rule.id]))[rule.id]
        raw = [{"cost_centre": c, "percent": str(p)} for c, p in current]
        await _clean_shares(session, raw, errs)  # an inactive cost centre blocks reactivation
    if errs:
        raise ValidationFailed(errs)
    if shares is not None:
        _check_total(shares)
    async with audited(session, "finance.split_rule_changed"):
        for key, value in values.items():
            setattr(rule, key, value)
        await _write(session, rule, shares)
    return rule
