"""Lead assignment rules (CRM-2): who gets a lead nobody chose an owner for.

Rules are tried in ``position`` order; the first active rule whose sources and regions match
(empty = any) names the owner — its one person (``fixed``) or the next of its people in turn
(``round_robin``). The round-robin pointer is advanced under the rule's row lock
(``SELECT ... FOR UPDATE``), so two leads captured at the same moment go to two different people.

    routed = await owner_by_rules(session, source="web_form", region="华东")
    routed.owner_id, routed.team_id, routed.rule_id        # all None when no rule matched
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import AssignmentRule, Lead
from app.crm.models.leads import LEAD_SOURCES, SOURCE_LABELS
from app.crm.notifications import LEAD_ASSIGNED
from app.crm.services.fields import clean_choice, clean_tags, clean_text
from app.kernel import context, i18n
from app.kernel.audit import audited
from app.kernel.errors import FieldError, NotFound, ValidationFailed
from app.kernel.i18n import lazy
from app.notifications.interface import notify
from app.security.models import Role, User, UserRole
from app.security.permissions import CRM_LEAD_READ
from app.security.principal import grants_for_roles

STRATEGIES = ("round_robin", "fixed")
STRATEGY_LABELS = {"round_robin": lazy("Round-robin"), "fixed": lazy("One person")}


@dataclass(frozen=True, slots=True)
class Routed:
    owner_id: int | None
    team_id: int | None
    rule_id: int | None


async def lead_staff(
    session: AsyncSession, *, ids: Collection[int] | None = None, team_ids: Collection[int] | None = None
) -> list[User]:
    """Active staff whose roles let them work on leads (``crm.lead.read``), by name: the people
    rules and owner choices may name. One statement for the users and their roles."""
    stmt = (
        select(User, Role)
        .join(UserRole, UserRole.user_id == User.id)
        .join(Role, Role.id == UserRole.role_id)
        .where(User.is_active.is_(True), User.is_external.is_(False))
        .order_by(User.full_name, User.id)
    )
    if ids is not None:
        stmt = stmt.where(User.id.in_(sorted(ids)))
    if team_ids is not None:
        stmt = stmt.where(User.team_id.in_(sorted(team_ids)))
    roles: dict[int, tuple[User, list[Role]]] = {}
    for user, role in (await session.execute(stmt)).all():
        roles.setdefault(user.id, (user, []))[1].append(role)
    return [user for user, held in roles.values() if CRM_LEAD_READ in grants_for_roles(held)]


def _norm(region: str | None) -> str:
    return " ".join((region or "").split()).casefold()


def rule_matches(rule: AssignmentRule, source: str, region: str | None) -> bool:
    if rule.match_sources and source not in rule.match_sources:
        return False
    return not rule.match_regions or _norm(region) in {_norm(r) for r in rule.match_regions}


async def owner_by_rules(session: AsyncSession, *, source: str, region: str | None) -> Routed:
    """The owner the first matching rule gives one new lead; the pointer moves in this transaction."""
    router = Router(session)
    routed = await router.route(source=source, region=region)
    await router.save()
    return routed


class Router:
    """Routes many leads in one transaction (CSV import) with one lock and one read per rule.

    A rule is locked the first time it matches and stays locked until the transaction ends, so
    the in-memory pointer cannot be overtaken by a concurrent capture; ``save()`` writes it back.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._rules: list[AssignmentRule] | None = None
        self._locked: dict[int, tuple[AssignmentRule, dict[int, User]]] = {}
        self._moved: dict[int, int] = {}

    async def route(self, *, source: str, region: str | None) -> Routed:
        if self._rules is None:
            result = await self.session.execute(
                select(AssignmentRule)
                .where(AssignmentRule.applies_to == "lead", AssignmentRule.active.is_(True))
                .order_by(AssignmentRule.position, AssignmentRule.id)
            )
            self._rules = list(result.scalars())
        for candidate in self._rules:
            if not rule_matches(candidate, source, region):
                continue
            rule, available = await self._lock(candidate.id)
            if rule is None or not rule.active or not rule_matches(rule, source, region):
                continue
            user = self._next_user(rule, available)
            if user is not None:
                return Routed(user.id, user.team_id, rule.id)
        return Routed(None, None, None)

    async def _lock(self, rule_id: int) -> tuple[AssignmentRule | None, dict[int, User]]:
        if rule_id not in self._locked:
            # Re-read under the row lock: a concurrent capture may have moved the pointer meanwhile.
            locked = await self.session.execute(
                select(AssignmentRule)
                .where(AssignmentRule.id == rule_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            rule = locked.scalar_one_or_none()
            if rule is None:
                return None, {}
            users = await lead_staff(self.session, ids=list(rule.user_ids or []))
            self._locked[rule_id] = (rule, {u.id: u for u in users})
        return self._locked[rule_id]

    def _next_user(self, rule: AssignmentRule, available: dict[int, User]) -> User | None:
        ids = list(rule.user_ids or [])
        if rule.strategy == "fixed":
            return next((available[i] for i in ids if i in available), None)
        last = self._moved.get(rule.id, rule.last_index)
        for step in range(1, len(ids) + 1):
            index = (last + step) % len(ids)
            if ids[index] in available:
                self._moved[rule.id] = index
                return available[ids[index]]
        return None

    async def save(self) -> None:
        """Write the moved pointers (plain UPDATEs: bookkeeping, not a change worth an audit row)."""
        for rule_id, index in self._moved.items():
            await self.session.execute(
                update(AssignmentRule).where(AssignmentRule.id == rule_id).values(last_index=index)
            )
        self._moved.clear()


async def notify_owner(session: AsyncSession, lead: Lead) -> None:
    """Tell the lead's owner, in their language, in the caller's transaction (in-app + e-mail)."""
    if lead.owner_id is None:
        return
    owner = await session.get(User, lead.owner_id)
    if owner is None:
        return
    tenant = context.current_tenant()
    with i18n.use_locale(owner.locale or (tenant.locale if tenant else None)):
        who = f"{lead.full_name} ({lead.company})" if lead.company else lead.full_name
        title = i18n.gettext("New lead for you: {who}", who=who)
        source = i18n.gettext(SOURCE_LABELS.get(lead.source, lead.source))
        body = i18n.gettext("Source: {source}", source=source)
        if lead.message:
            body += "\n\n" + lead.message[:500]
    await notify(session, owner.id, LEAD_ASSIGNED, title=title, body=body, link=f"/sales/leads/{lead.id}")


# --- managing the rules ----------------------------------------------------------------------


async def list_rules(session: AsyncSession) -> list[AssignmentRule]:
    stmt = (
        select(AssignmentRule)
        .where(AssignmentRule.applies_to == "lead")
        .order_by(AssignmentRule.position, AssignmentRule.id)
    )
    return list((await session.execute(stmt)).scalars())


async def get_rule(session: AsyncSession, rule_id: int) -> AssignmentRule:
    rule = await session.get(AssignmentRule, rule_id)
    if rule is None or rule.applies_to != "lead":
        raise NotFound(lazy("assignment rule"))
    return rule


def _ids(value: object) -> list[Any]:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


async def _clean(session: AsyncSession, data: Mapping[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": clean_text(data.get("name"), "name", errors, required=True, max_len=120),
        "strategy": clean_choice(data.get("strategy"), "strategy", errors, STRATEGIES, default="round_robin"),
        "active": str(data.get("active") or "").lower() in ("1", "on", "true", "yes"),
    }
    sources = [str(s).strip() for s in _ids(data.get("match_sources")) if str(s).strip()]
    unknown = [s for s in sources if s not in LEAD_SOURCES]
    if unknown:
        errors.append(FieldError("match_sources", "Unknown lead source: {x}.", {"x": ", ".join(unknown)}))
    out["match_sources"] = list(dict.fromkeys(s for s in sources if s in LEAD_SOURCES))
    regions = clean_tags(data.get("match_regions"), "match_regions", errors)
    if any(len(r) > 80 for r in regions):
        errors.append(FieldError("match_regions", "Use at most {n} characters.", {"n": 80}))
    out["match_regions"] = regions
    out["user_ids"] = await _clean_users(session, _ids(data.get("user_ids")), out["strategy"], errors)
    return out


async def _clean_users(
    session: AsyncSession, raw: Sequence[Any], strategy: str, errors: list[FieldError]
) -> list[int]:
    ids: list[int] = []
    for value in raw:
        text = str(value).strip()
        if not text.isdigit() or len(text) > 18:
            errors.append(FieldError("user_ids", "Choose active staff members who work on leads."))
            return []
        if int(text) not in ids:
            ids.append(int(text))
    if not ids:
        errors.append(FieldError("user_ids", "Choose who receives the leads."))
        return []
    found = {u.id for u in await lead_staff(session, ids=ids)}
    if len(found) != len(ids):
        errors.append(FieldError("user_ids", "Choose active staff members who work on leads."))
    elif strategy == "fixed" and len(ids) > 1:
        errors.append(FieldError("user_ids", "A rule for one person names exactly one person."))
    return ids


async def create_rule(session: AsyncSession, data: Mapping[str, Any]) -> AssignmentRule:
    errors: list[FieldError] = []
    values = await _clean(session, data, errors)
    if errors:
        raise ValidationFailed(errors)
    last = await session.scalar(
        select(func.max(AssignmentRule.position)).where(AssignmentRule.applies_to == "lead")
    )
    async with audited(session, "crm.assignment_rule_created"):
        rule = AssignmentRule(**values, applies_to="lead", position=(last or 0) + 10, last_index=-1)
        session.add(rule)
        await session.flush()
    return rule


async def update_rule(session: AsyncSession, rule_id: int, data: Mapping[str, Any]) -> AssignmentRule:
    rule = await get_rule(session, rule_id)
    errors: list[FieldError] = []
    values = await _clean(session, data, errors)
    if errors:
        raise ValidationFailed(errors)
    async with audited(session, "crm.assignment_rule_updated"):
        if values["user_ids"] != list(rule.user_ids or []):
            rule.last_index = -1  # a new rotation starts with the first person
        for key, value in values.items():
            setattr(rule, key, value)
    return rule


async def delete_rule(session: AsyncSession, rule_id: int) -> str:
    rule = await get_rule(session, rule_id)
    name = rule.name
    async with audited(session, "crm.assignment_rule_deleted"):
        await session.delete(rule)
    return name


async def move_rule(session: AsyncSession, rule_id: int, direction: str) -> None:
    """Swap the rule with its neighbour above (``up``) or below (``down``); positions renumbered."""
    rule = await get_rule(session, rule_id)
    rules = await list_rules(session)
    index = next(i for i, r in enumerate(rules) if r.id == rule.id)
    target = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= target < len(rules):
        return
    rules[index], rules[target] = rules[target], rules[index]
    async with audited(session, "crm.assignment_rules_reordered"):
        for position, r in enumerate(rules, start=1):
            if r.position != position * 10:
                r.position = position * 10
