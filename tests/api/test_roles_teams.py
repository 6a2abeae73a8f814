"""Roles and teams over the API (PLAT-9)."""

from __future__ import annotations

from app.security.roles import BUILTIN_ROLES, format_grants
from tests.api.conftest import marker, problem_of


async def _all(api, path):
    items, cursor = [], None
    while True:
        r = await api.get(path, params={"limit": 200, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items


async def test_roles_are_listed_by_key_with_their_effective_grants(api, acme):
    from app.security.services.roles import create_role
    from tenants.service import in_tenant

    m = marker()
    async with in_tenant(acme.slug) as (session, _ref):
        custom = await create_role(
            session,
            name=f"Auditor {m}",
            description="Reads the trail",
            grants=["admin.audit.read", "crm.lead.read:team"],
        )
        await session.flush()
        custom_id = custom.id
    roles = await _all(api, "/api/v1/roles")
    assert [r["key"] for r in roles] == sorted(r["key"] for r in roles)
    admin = next(r for r in roles if r["key"] == "tenant_admin")
    assert admin["builtin"] is True
    assert admin["grants"] == format_grants(BUILTIN_ROLES["tenant_admin"].grants)
    r = await api.get(f"/api/v1/roles/{custom_id}")
    assert r.status_code == 200
    assert r.json() == {
        "id": custom_id,
        "key": f"custom_auditor_{m}",
        "name": f"Auditor {m}",
        "description": "Reads the trail",
        "builtin": False,
        "grants": ["admin.audit.read", "crm.lead.read:team"],
    }


async def test_teams_are_created_listed_by_name_and_read(api):
    m = marker()
    r = await api.post("/api/v1/teams", json={"name": f"  Zeta   {m} "})
    assert r.status_code == 201
    team = r.json()
    assert (team["name"], team["manager_id"]) == (f"Zeta {m}", None)
    assert (await api.get(f"/api/v1/teams/{team['id']}")).json() == team
    teams = await _all(api, "/api/v1/teams")
    assert [t["name"] for t in teams] == sorted(t["name"] for t in teams)
    assert team in teams


async def test_a_team_with_a_manager(api, acme):
    r = await api.post("/api/v1/teams", json={"name": f"Team {marker()}", "manager_id": acme.users["sam"]})
    assert r.status_code == 201
    assert r.json()["manager_id"] == acme.users["sam"]


async def test_unknown_roles_and_teams_are_404(api):
    for path, what in (("/api/v1/roles/987654321", "role"), ("/api/v1/teams/987654321", "team")):
        r = await api.get(path)
        assert r.status_code == 404
        assert problem_of(r)["detail"] == f"The {what} was not found."
