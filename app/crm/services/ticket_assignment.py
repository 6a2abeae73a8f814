"""Who gets a new ticket (CRM-10): the tenant's ticket rules first, else round-robin in the team.

1. ``crm_assignment_rules`` with ``applies_to = 'ticket'``, in ``position`` order: a rule matches
   on the ticket's channel (``match_sources``) and the account's region (``match_regions``), empty
   meaning any. ``fixed`` gives the ticket to the rule's first active user, ``round_robin`` to the
   next active one after ``last_index`` — the rule row is locked (``FOR UPDATE``) while the
   pointer moves, so two tickets opened at the same moment never go to the same person by accident.
2. Otherwise round-robin among the active service agents of the ticket's team (all service agents
   when it has none). The pointer is a counter row in ``crm_number_sequences`` (key
   ``ticket_rr:<team>``), advanced with an upsert that holds the row lock until commit.

Service agents are active staff holding a role that grants ``crm.ticket.write`` (the built-in
service agent, or a tenant's own role); administrators are not in the rotation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, any_, literal, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.models import AssignmentRule, NumberSequence
from app.security.models import Role, User, UserRole
from app.security.permissions import CRM_TICKET_WRITE
from app.security.roles import BUILTIN_ROLES

# Built-in roles whose holders work tickets (the administrator can, but is not in the rotation).
AGENT_ROLE_KEYS = sorted(
    k for k, r in BUILTIN_ROLES.items() if CRM_TICKET_WRITE in r.grants and k != "tenant_admin"
)
_CUSTOM_GRANTS = [CRM_TICKET_WRITE, *(f"{CRM_TICKET_WRITE}:{s}" for s in ("own", "team", "all"))]
_GRANTS_WORK = or_(*(literal(g) == any_(Role.grants) for g in _CUSTOM_GRANTS))


@dataclass(frozen=True, slots=True)
class Pick:
    owner_id: int | None
    team_id: int | None


def agents_query(team_id: int | None = None) -> Select[Any]:
    """Active service agents (optionally of one team), by id so the rotation order is stable."""
    holds = (
        select(UserRole.user_id)
        .join(Role, Role.id == UserRole.role_id)
        .where(
            or_(
                and_(Role.is_builtin.is_(True), Role.key.in_(AGENT_ROLE_KEYS)),
                and_(Role.is_builtin.is_(False), _GRANTS_WORK),
            )
        )
    )
    stmt = select(User).where(User.is_active.is_(True), User.is_external.is_(False), User.id.in_(holds))
    if team_id is not None:
        stmt = stmt.where(User.team_id == team_id)
    return stmt.order_by(User.id)


async def service_agents(session: AsyncSession, team_id: int | None = None) -> list[User]:
    return list((await session.execute(agents_query(team_id))).scalars())


async def _active_users(session: AsyncSession, ids: list[int]) -> dict[int, User]:
    if not ids:
        return {}
    rows = await session.execute(
        select(User).where(User.id.in_(ids), User.is_active.is_(True), User.is_external.is_(False))
    )
    return {u.id: u for u in rows.scalars()}


def _matches(rule: AssignmentRule, channel: str, region: str | None) -> bool:
    if rule.match_sources and channel not in rule.match_sources:
        return False
    if rule.match_regions:
        wanted = {r.casefold() for r in rule.match_regions}
        if (region or "").casefold() not in wanted:
            return False
    return True


async def _by_rule(session: AsyncSession, channel: str, region: str | None) -> Pick | None:
    rules = await session.execute(
        select(AssignmentRule)
        .where(AssignmentRule.applies_to == "ticket", AssignmentRule.active.is_(True))
        .order_by(AssignmentRule.position, AssignmentRule.id)
    )
    for candidate in rules.scalars():
        if not _matches(candidate, channel, region):
            continue
        # Lock the rule before reading its pointer: concurrent openings queue here.
        rule = (
            await session.execute(
                select(AssignmentRule)
                .where(AssignmentRule.id == candidate.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).scalar_one()
        users = await _active_users(session, list(rule.user_ids))
        order = [uid for uid in rule.user_ids if uid in users]
        if not order:
            continue  # everyone in the rule is away: the next rule (or the team) takes it
        if rule.strategy == "fixed":
            chosen = order[0]
        else:
            start = rule.last_index + 1
            positions = list(range(len(rule.user_ids)))
            index = next(i for i in positions[start:] + positions[:start] if rule.user_ids[i] in users)
            rule.last_index = index
            chosen = rule.user_ids[index]
        return Pick(chosen, rule.team_id or users[chosen].team_id)
    return None


async def _next_turn(session: AsyncSession, key: str) -> int:
    stmt = (
        insert(NumberSequence)
        .values(key=key, next_value=1)
        .on_conflict_do_update(
            index_elements=[NumberSequence.key], set_={"next_value": NumberSequence.next_value + 1}
        )
        .returning(NumberSequence.next_value)
    )
    return int((await session.execute(stmt)).scalar_one()) - 1


async def _by_team(session: AsyncSession, team_id: int | None) -> Pick:
    agents = await service_agents(session, team_id)
    if not agents:
        return Pick(None, team_id)
    turn = await _next_turn(session, f"ticket_rr:{team_id if team_id is not None else 'all'}")
    chosen = agents[turn % len(agents)]
    return Pick(chosen.id, team_id if team_id is not None else chosen.team_id)


async def pick_assignee(
    session: AsyncSession, *, channel: str, region: str | None, team_id: int | None
) -> Pick:
    """The owner and team for a new ticket that nobody chose an assignee for."""
    return await _by_rule(session, channel, region) or await _by_team(session, team_id)
