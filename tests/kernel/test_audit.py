"""The audit trail (PLAT-8): every change through a session is recorded in the same transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.kernel import context
from app.kernel.audit import AuditEntry, PlatformAuditEntry
from app.kernel.context import Actor
from app.kernel.db import get_database
from app.security.models import Team, User
from app.security.services.teams import create_team, update_team
from app.security.services.users import create_user
from tenants.service import in_tenant, resume_tenant, suspend_tenant
from tests.helpers import signed_in


async def _entries(acme, entity_type: str, entity_id: int) -> list[AuditEntry]:
    async with get_database().tenant_session(acme.schema) as s:
        stmt = (
            select(AuditEntry)
            .where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == str(entity_id))
            .order_by(AuditEntry.id)
        )
        return list((await s.execute(stmt)).scalars())


async def test_create_and_update_are_recorded_with_before_and_after(acme):
    actor = Actor(kind="user", id=acme.users["ada"], label="ada@acme.example")
    async with in_tenant("acme", actor) as (session, _):
        with context.bound(ip="198.51.100.4", request_id="req-audit-1"):
            team = await create_team(session, name="Audit Team", manager_id=None)
    async with in_tenant("acme", actor) as (session, _):
        await update_team(session, team.id, name="Audit Team Renamed", manager_id=acme.users["sam"])
    created, updated = await _entries(acme, "teams", team.id)
    assert (created.action, created.event, created.actor_kind, created.actor_id) == (
        "teams.create",
        "team.created",
        "user",
        acme.users["ada"],
    )
    assert (created.ip, created.request_id) == ("198.51.100.4", "req-audit-1")
    assert created.before is None
    assert created.after["name"] == "Audit Team"
    assert updated.action == "teams.update"
    assert updated.before == {"name": "Audit Team", "manager_id": None}
    assert updated.after == {"name": "Audit Team Renamed", "manager_id": acme.users["sam"]}


async def test_secrets_are_redacted(acme):
    async with in_tenant("acme") as (session, _):
        user = await create_user(
            session,
            email="audited@acme.example",
            full_name="Audited",
            password="a fine passphrase",
            role_keys=["employee"],
        )
    (entry,) = [e for e in await _entries(acme, "users", user.id) if e.action == "users.create"]
    assert entry.after["password_hash"] == "[redacted]"
    assert entry.after["email"] == "audited@acme.example"


async def test_a_rolled_back_change_leaves_no_audit_row(acme):
    async def change_then_fail() -> None:
        async with in_tenant("acme") as (session, _):
            await create_team(session, name="Never Saved", manager_id=None)
            await session.flush()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await change_then_fail()
    async with get_database().tenant_session(acme.schema) as s:
        assert (await s.execute(select(Team).where(Team.name == "Never Saved"))).first() is None
        rows = await s.execute(select(AuditEntry).where(AuditEntry.after["name"].astext == "Never Saved"))
        assert rows.first() is None


async def test_portal_changes_carry_the_user_and_address(app, acme):
    async with signed_in(app, acme, "nora") as b:
        r = await b.post("/profile", {"full_name": "Nora Renamed", "locale": "en", "timezone": ""})
        assert r.status_code == 303
    entries = [
        e for e in await _entries(acme, "users", acme.users["nora"]) if e.event == "user.profile_updated"
    ]
    assert entries[-1].actor_id == acme.users["nora"]
    assert entries[-1].ip == "203.0.113.7"
    assert entries[-1].after["full_name"] == "Nora Renamed"
    async with in_tenant("acme") as (session, _):
        user = await session.get(User, acme.users["nora"])
        user.full_name = "Nora Noroles"


async def test_platform_changes_go_to_the_platform_audit_log(acme, globex):
    await suspend_tenant("globex", reason="audit test", actor=Actor(kind="operator", id=7, label="ops"))
    await resume_tenant("globex", actor=Actor(kind="operator", id=7, label="ops"))
    async with get_database().shared_session() as s:
        rows = (
            (
                await s.execute(
                    select(PlatformAuditEntry)
                    .where(
                        PlatformAuditEntry.entity_type == "tenants",
                        PlatformAuditEntry.entity_id == str(globex.id),
                    )
                    .order_by(PlatformAuditEntry.id)
                )
            )
            .scalars()
            .all()
        )
    events = [r.event for r in rows]
    assert events[-2:] == ["tenant.suspended", "tenant.resumed"]
    assert rows[-2].after["status"] == "suspended"
    assert rows[-2].actor_kind == "operator"


async def test_sign_in_is_recorded_as_the_user_who_signed_in(app, acme):
    from tests.helpers import browser, login

    async with browser(app, acme) as b:
        await login(b, acme.email("bob"))
    entries = [e for e in await _entries(acme, "users", acme.users["bob"]) if e.event == "user.signed_in"]
    assert (entries[-1].actor_kind, entries[-1].actor_id, entries[-1].actor_label) == (
        "user",
        acme.users["bob"],
        acme.email("bob"),
    )
