"""Admin › Audit log: search, filters (actor kind, record type, dates), newest first, htmx, detail."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.kernel.audit import AuditEntry
from app.kernel.db import utcnow
from app.security.models import Team
from tests.admin.support import is_fragment, many, marker, one, pager_text
from tests.helpers import signed_in


async def _entries(tenant, team_name_part: str) -> list[AuditEntry]:
    team_ids = await many(tenant, select(Team.id).where(Team.name.contains(team_name_part)))
    return await many(
        tenant,
        select(AuditEntry)
        .where(AuditEntry.entity_type == "teams", AuditEntry.entity_id.in_([str(i) for i in team_ids]))
        .order_by(AuditEntry.id),
    )


async def test_search_finds_a_change_with_who_and_before_after(app, acme):
    tag = marker("aud")
    async with signed_in(app, acme, "ada") as b:
        await b.post("/admin/teams", {"name": f"Audit {tag}", "manager_id": ""})
        team = await one(acme, select(Team).where(Team.name == f"Audit {tag}"))
        await b.post(f"/admin/teams/{team.id}", {"name": f"Audit {tag} renamed", "manager_id": ""})
        r = await b.get(f"/admin/audit?q={team.id}&f_entity=teams")
    created, renamed = await _entries(acme, tag)
    assert r.status_code == 200
    assert pager_text(r.text) == "1–2 of 2"
    rows = re.findall(r"<tr>\s*<td class=\"small nowrap\"><a href=\"/admin/audit/(\d+)\">", r.text)
    assert rows == [str(renamed.id), str(created.id)]  # newest first
    assert "<code>team.updated</code>" in r.text
    assert "<code>team.created</code>" in r.text
    assert "ada@acme.example" in r.text
    # the update row expands to before → after of the one changed field
    diff = r.text[r.text.index("<code>team.updated</code>") : r.text.index("<code>team.created</code>")]
    assert "<summary>1 field</summary>" in diff
    assert re.search(
        rf'<th scope="row">name</th><td class="before">Audit {tag}</td>.*'
        rf'<td class="after">Audit {tag} renamed</td>',
        diff,
    )


async def test_free_text_matches_event_entity_and_actor(app, acme):
    tag = marker("ft")
    async with signed_in(app, acme, "ada") as b:
        await b.post("/admin/teams", {"name": f"Free {tag}", "manager_id": ""})
        (created,) = await _entries(acme, tag)
        by_id = await b.get(f"/admin/audit?q={created.entity_id}&f_entity=teams")
        by_event = await b.get("/admin/audit?q=TEAM.CREATED&f_entity=teams&per_page=100")
        by_actor = await b.get("/admin/audit?q=ada@acme&f_entity=teams&per_page=100")
        nothing = await b.get(f"/admin/audit?q=zz{tag}")
    assert f"/admin/audit/{created.id}" in by_id.text
    assert f"/admin/audit/{created.id}" in by_event.text
    assert f"/admin/audit/{created.id}" in by_actor.text
    assert pager_text(nothing.text) == "0–0 of 0"
    assert "No recorded changes." in nothing.text


async def test_filters_by_actor_kind_and_dates(app, acme):
    from app.security.services.teams import create_team
    from tenants.service import in_tenant

    tag = marker("ak")
    async with in_tenant(acme.slug) as (session, _ref):  # acts as the command line (system)
        team = await create_team(session, name=f"System {tag}", manager_id=None)
        await session.flush()
        team_id = team.id
    today = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()  # acme's time zone
    base = f"/admin/audit?q={team_id}&f_entity=teams"
    async with signed_in(app, acme, "ada") as b:
        system = await b.get(f"{base}&f_actor=system")
        people = await b.get(f"{base}&f_actor=user")
        since_today = await b.get(f"{base}&f_from={today.isoformat()}&f_to={today.isoformat()}")
        from_tomorrow = await b.get(f"{base}&f_from={(today + timedelta(days=1)).isoformat()}")
        to_yesterday = await b.get(f"{base}&f_to={(today - timedelta(days=1)).isoformat()}")
        not_a_date = await b.get(f"{base}&f_from=yesterday")
    assert pager_text(system.text) == "1–1 of 1"
    assert "System" in system.text
    assert pager_text(people.text) == "0–0 of 0"
    assert pager_text(since_today.text) == "1–1 of 1"
    assert pager_text(from_tomorrow.text) == "0–0 of 0"
    assert pager_text(to_yesterday.text) == "0–0 of 0"
    assert pager_text(not_a_date.text) == "1–1 of 1"  # ignored, not an error
    assert "Dates are days in the time zone Asia/Shanghai." in system.text


async def test_htmx_request_gets_only_the_table(app, acme):
    async with signed_in(app, acme, "ada") as b:
        r = await b.htmx("GET", "/admin/audit?f_entity=users")
    assert r.status_code == 200
    assert is_fragment(r.text)
    assert r.text.lstrip().startswith('<div id="audit-table">')
    assert "users" in r.text


async def test_detail_shows_every_value_and_links_the_record(app, acme):
    tag = marker("dt")
    async with signed_in(app, acme, "ada") as b:
        await b.post("/admin/teams", {"name": f"Detail {tag}", "manager_id": str(acme.users["sam"])})
        (created,) = await _entries(acme, tag)
        r = await b.get(f"/admin/audit/{created.id}")
    assert r.status_code == 200
    assert "<h1><code>team.created</code></h1>" in r.text
    assert f'<a href="/admin/teams/{created.entity_id}">open</a>' in r.text
    assert '<dd class="mono">203.0.113.7</dd>' in r.text
    assert re.search(
        rf'<th scope="row">name</th><td class="before"><span class="muted">—</span></td>'
        rf'<td class="after">Detail {tag}</td>',
        r.text,
    )
    assert re.search(
        rf'<th scope="row">manager_id</th>.*?<td class="after"><code>{acme.users["sam"]}</code></td>',
        r.text,
        re.S,
    )


async def test_entity_types_lists_each_type_once(acme):
    from app.security.services.audit_log import entity_types
    from tenants.service import in_tenant

    async with in_tenant(acme.slug) as (session, _ref):
        types = await entity_types(session)
        distinct = sorted(set((await session.execute(select(AuditEntry.entity_type))).scalars()))
    assert types == distinct
    assert {"teams", "users", "user_roles"} <= set(types)


async def test_people_without_the_permission_get_403(app, acme):
    entry_id = await one(acme, select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    async with signed_in(app, acme, "bob") as b:
        assert (await b.get("/admin/audit")).status_code == 403
        assert (await b.get(f"/admin/audit/{entry_id}")).status_code == 403
