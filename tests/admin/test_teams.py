"""Admin › Teams: create, rename, change the manager, delete (only when empty)."""

from __future__ import annotations

from sqlalchemy import select

from app.security.models import Team
from tests.admin.support import count, get, make_user, marker, one, row_with
from tests.helpers import signed_in


async def _team(tenant, name: str) -> Team | None:
    return await one(tenant, select(Team).where(Team.name == name))


async def test_list_shows_teams_with_manager_and_member_count(app, acme):
    name = f"Counted {marker()}"
    async with signed_in(app, acme, "ada") as b:
        await b.post("/admin/teams", {"name": name, "manager_id": str(acme.users["sam"])})
        team = await _team(acme, name)
        for _ in range(3):
            await make_user(acme, team_id=team.id)
        r = await b.get("/admin/teams")
    assert r.status_code == 200
    row = row_with(r.text, name)
    assert "Sam Manager" in row
    assert '<td class="num">3</td>' in row
    assert f'href="/admin/teams/{team.id}"' in row


async def test_create_a_team_with_a_manager(app, acme):
    name = f"West {marker()}"
    async with signed_in(app, acme, "ada") as b:
        r = await b.post("/admin/teams", {"name": f"  {name} ", "manager_id": str(acme.users["bob"])})
        assert r.status_code == 303
        page = await b.get(r.headers["location"])
    assert f"The team {name} is created." in page.text
    team = await _team(acme, name)
    assert team.manager_id == acme.users["bob"]


async def test_refused_team_rerenders_with_errors_and_creates_nothing(app, acme):
    before = await count(acme, Team)
    async with signed_in(app, acme, "ada") as b:
        blank = await b.post("/admin/teams", {"name": "", "manager_id": ""})
        clash = await b.post("/admin/teams", {"name": "east", "manager_id": ""})
        customer = await b.post("/admin/teams", {"name": "Fine name", "manager_id": str(acme.users["carol"])})
        junk = await b.post("/admin/teams", {"name": "Fine name", "manager_id": "12abc"})
    assert blank.status_code == 422
    assert "This field is required." in blank.text
    assert clash.status_code == 422
    assert "A team with this name already exists." in clash.text
    assert customer.status_code == 422
    assert "Choose an active staff member." in customer.text
    assert junk.status_code == 422
    assert "Choose an active staff member." in junk.text
    assert await count(acme, Team) == before


async def test_rename_and_change_manager(app, acme):
    name = f"North {marker()}"
    async with signed_in(app, acme, "ada") as b:
        await b.post("/admin/teams", {"name": name, "manager_id": ""})
        team = await _team(acme, name)
        form = await b.get(f"/admin/teams/{team.id}")
        assert form.status_code == 200
        assert f'value="{name}"' in form.text
        r = await b.post(
            f"/admin/teams/{team.id}", {"name": f"{name} 2", "manager_id": str(acme.users["sam"])}
        )
        assert r.status_code == 303
        bad = await b.post(f"/admin/teams/{team.id}", {"name": "East", "manager_id": ""})
    assert bad.status_code == 422
    assert "A team with this name already exists." in bad.text
    saved = await get(acme, Team, team.id)
    assert (saved.name, saved.manager_id) == (f"{name} 2", acme.users["sam"])


async def test_delete_only_an_empty_team(app, acme):
    name = f"South {marker()}"
    async with signed_in(app, acme, "ada") as b:
        await b.post("/admin/teams", {"name": name, "manager_id": ""})
        team = await _team(acme, name)
        member, _ = await make_user(acme, team_id=team.id)
        refused = await b.post(f"/admin/teams/{team.id}/delete")
        assert refused.status_code == 422
        assert "Move the team&#39;s members to another team first." in refused.text
        assert await get(acme, Team, team.id) is not None
        await b.post(f"/admin/users/{member}", {"full_name": "Moved", "roles": "employee", "team_id": ""})
        done = await b.post(f"/admin/teams/{team.id}/delete")
    assert done.status_code == 303
    assert await get(acme, Team, team.id) is None


async def test_people_without_the_permission_get_403(app, acme):
    async with signed_in(app, acme, "alice") as b:
        assert (await b.get("/admin/teams")).status_code == 403
        r = await b.post("/admin/teams", {"name": "Alice's own", "manager_id": ""})
    assert r.status_code == 403
    assert await _team(acme, "Alice's own") is None
