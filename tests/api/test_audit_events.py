"""The audit trail over the API: every change the API makes is there, attributed to the client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.api.conftest import marker, problem_of


async def _events(api, **params):
    r = await api.get("/api/v1/audit-events", params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_a_change_made_through_the_api_is_recorded_with_its_client_and_request(api, acme, acme_admin):
    name = f"Team {marker()}"
    created = await api.post("/api/v1/teams", json={"name": name}, headers={"X-Request-ID": "req-audit-1"})
    team = created.json()
    [event] = await _events(api, entity_type="teams", entity_id=str(team["id"]))
    assert {k: v for k, v in event.items() if k not in ("id", "at")} == {
        "actor_kind": "api_client",
        "actor_id": acme_admin.client.id,
        "actor_label": acme_admin.client.client_id,
        "action": "teams.create",
        "event": "team.created",
        "entity_type": "teams",
        "entity_id": str(team["id"]),
        "before": None,
        "after": {
            "id": team["id"],
            "name": name,
            "manager_id": None,
            "created_at": team["created_at"].replace("Z", "+00:00"),
            "updated_at": team["updated_at"].replace("Z", "+00:00"),
        },
        "ip": "203.0.113.7",
        "user_agent": f"python-httpx/{httpx.__version__}",
        "request_id": "req-audit-1",
    }
    assert (await api.get(f"/api/v1/audit-events/{event['id']}")).json() == event


async def test_filters_narrow_the_trail(api):
    m = marker()
    team = (await api.post("/api/v1/teams", json={"name": f"Team {m}"})).json()
    base = {"entity_type": "teams", "entity_id": str(team["id"])}
    assert len(await _events(api, **base, action="teams.create", actor_kind="api_client")) == 1
    assert await _events(api, **base, action="teams.update") == []
    assert await _events(api, **base, actor_kind="user") == []
    soon = datetime.now(UTC) + timedelta(minutes=5)
    assert len(await _events(api, **base, until=soon.isoformat())) == 1
    assert await _events(api, **base, since=soon.isoformat()) == []
    # A timestamp without an offset is UTC.
    assert len(await _events(api, **base, until=soon.replace(tzinfo=None).isoformat())) == 1


async def test_the_trail_is_newest_first(api):
    for _ in range(2):
        await api.post("/api/v1/teams", json={"name": f"Team {marker()}"})
    items = await _events(api, limit=20)
    assert [(e["at"], e["id"]) for e in items] == sorted(((e["at"], e["id"]) for e in items), reverse=True)


async def test_bad_filters_are_400_and_unknown_events_404(api):
    kind = await api.get("/api/v1/audit-events", params={"actor_kind": "robot"})
    since = await api.get("/api/v1/audit-events", params={"since": "yesterday"})
    missing = await api.get("/api/v1/audit-events/987654321")
    assert [(r.status_code, problem_of(r)["code"]) for r in (kind, since, missing)] == [
        (400, "invalid_request"),
        (400, "invalid_request"),
        (404, "not_found"),
    ]
    assert [e["field"] for e in kind.json()["errors"]] == ["actor_kind"]
    assert [e["field"] for e in since.json()["errors"]] == ["since"]
