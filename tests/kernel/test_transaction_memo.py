"""``transaction_memo``: what a request remembers lives exactly as long as the transaction (or
savepoint) it was read in; and ``audited(..., flush=False)``: steps that reach the database in one
flush are still recorded each under its own business event."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.kernel.audit import AuditEntry, audited
from app.kernel.db import get_database, transaction_memo
from app.security.models import Team
from tenants.service import in_tenant


async def test_the_memo_lives_as_long_as_its_transaction(acme):
    async with in_tenant("acme") as (session, _):
        await session.execute(select(1))
        transaction_memo(session)["seen"] = 1
        assert transaction_memo(session) == {"seen": 1}
        await session.commit()
        await session.execute(select(1))
        assert transaction_memo(session) == {}  # a new transaction starts empty
        transaction_memo(session)["seen"] = 2
        await session.rollback()
        await session.execute(select(1))
        assert transaction_memo(session) == {}  # and so does the one after a rollback


async def test_a_savepoint_has_its_own_memo_and_takes_it_along(acme):
    async with in_tenant("acme") as (session, _):
        await session.execute(select(1))
        transaction_memo(session)["outer"] = True
        savepoint = await session.begin_nested()
        assert transaction_memo(session) == {}  # not the outer one: read again, never stale
        transaction_memo(session)["inner"] = True
        await savepoint.rollback()
        assert "inner" not in transaction_memo(session)  # gone with the savepoint
        await session.rollback()


async def test_no_memo_is_kept_before_a_transaction_begins(acme):
    async with in_tenant("acme") as (session, _):
        transaction_memo(session)["early"] = True  # no transaction yet: nothing to tie it to
        await session.execute(select(1))
        assert transaction_memo(session) == {}
        await session.rollback()


async def _events_of(acme, names: list[str]) -> dict[str, str | None]:
    async with get_database().tenant_session(acme.schema) as s:
        teams = dict((await s.execute(select(Team.id, Team.name).where(Team.name.in_(names)))).all())
        rows = await s.execute(
            select(AuditEntry.entity_id, AuditEntry.event).where(
                AuditEntry.entity_type == "teams", AuditEntry.entity_id.in_([str(i) for i in teams])
            )
        )
        return {teams[int(entity)]: event for entity, event in rows.all()}


async def test_steps_flushed_together_keep_their_own_events(acme):
    first, second, third = (f"Memo {uuid.uuid4().hex[:8]} {n}" for n in range(3))
    async with in_tenant("acme") as (session, _):
        async with audited(session, "test.first", flush=False):
            session.add(Team(name=first))
        async with audited(session, "test.second", flush=False):
            session.add(Team(name=second))
        assert len(session.new) == 2  # nothing flushed yet
        async with audited(session, "test.third"):  # an ordinary block flushes all three
            session.add(Team(name=third))
    assert await _events_of(acme, [first, second, third]) == {
        first: "test.first",
        second: "test.second",
        third: "test.third",
    }


async def test_a_label_is_used_once(acme):
    name = f"Memo {uuid.uuid4().hex[:8]}"
    async with in_tenant("acme") as (session, _):
        async with audited(session, "test.created", flush=False):
            team = Team(name=name)
            session.add(team)
        await session.flush()
        team.name = name + " renamed"  # changed later, outside any block
        await session.flush()
        team_id = team.id
    async with get_database().tenant_session(acme.schema) as s:
        rows = await s.execute(
            select(AuditEntry.action, AuditEntry.event)
            .where(AuditEntry.entity_type == "teams", AuditEntry.entity_id == str(team_id))
            .order_by(AuditEntry.id)
        )
        assert rows.all() == [("teams.create", "test.created"), ("teams.update", None)]


async def test_a_step_labels_only_what_it_changed_and_no_label_outlives_a_rollback(acme):
    earlier, mine, later = (f"Memo {uuid.uuid4().hex[:8]} {n}" for n in range(3))
    async with in_tenant("acme") as (session, _):
        async with audited(session, "test.earlier"):
            team = Team(name=earlier)
            session.add(team)
        team.name = earlier + " renamed"  # pending before the next block: not that block's change
        async with audited(session, "test.mine", flush=False):
            session.add(Team(name=mine))
        await session.commit()
        team_id = team.id
        doomed = Team(name=later)
        async with audited(session, "test.rolled_back", flush=False):
            session.add(doomed)
        await session.rollback()
        session.add(Team(name=later))  # the same change again, under no label
        await session.flush()
    async with get_database().tenant_session(acme.schema) as s:
        rows = await s.execute(
            select(AuditEntry.action, AuditEntry.event)
            .where(AuditEntry.entity_type == "teams", AuditEntry.entity_id == str(team_id))
            .order_by(AuditEntry.id)
        )
        assert rows.all() == [("teams.create", "test.earlier"), ("teams.update", None)]
    assert await _events_of(acme, [mine, later]) == {mine: "test.mine", later: None}
