"""Idempotency-Key on creates (app/kernel/api.py create_once, app/kernel/idempotency.py)."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import text

from app.security.permissions import ADMIN_TEAMS_MANAGE
from tests.api.conftest import bearer, marker, new_client, problem_of, row_counts, token_for


async def _teams_named(tenant, name: str) -> int:
    from app.kernel.db import get_database

    async with get_database().engine.connect() as conn:
        return (
            await conn.execute(
                text(f'SELECT count(*) FROM "{tenant.schema}".teams WHERE name = :n'), {"n": name}
            )
        ).scalar_one()


async def test_a_retry_with_the_same_key_replays_the_first_answer(api, acme):
    name, key = f"Team {marker()}", marker()
    first = await api.post("/api/v1/teams", json={"name": name}, headers={"Idempotency-Key": key})
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    assert first.headers["location"] == f"/api/v1/teams/{first.json()['id']}"
    counts = await row_counts(acme)
    # The same request, differently spelled: key order and whitespace do not make it another request.
    again = await api.post(
        "/api/v1/teams",
        content=json.dumps({"manager_id": None, "name": name}, indent=2),
        headers={"Idempotency-Key": key, "Content-Type": "application/json"},
    )
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert await row_counts(acme) == counts
    assert await _teams_named(acme, name) == 1


async def test_the_same_key_with_another_body_is_a_422(api, acme):
    key = marker()
    assert (
        await api.post("/api/v1/teams", json={"name": f"Team {marker()}"}, headers={"Idempotency-Key": key})
    ).status_code == 201
    counts = await row_counts(acme)
    r = await api.post("/api/v1/teams", json={"name": f"Team {marker()}"}, headers={"Idempotency-Key": key})
    assert r.status_code == 422
    problem = problem_of(r)
    assert (problem["code"], problem["title"], problem["detail"]) == (
        "idempotency_key_reused",
        "Idempotency key reused",
        "This Idempotency-Key was already used with a different request.",
    )
    assert await row_counts(acme) == counts


async def test_the_same_key_on_another_route_is_another_request(api, acme):
    key = marker()
    assert (
        await api.post("/api/v1/teams", json={"name": f"Team {marker()}"}, headers={"Idempotency-Key": key})
    ).status_code == 201
    r = await api.post(
        "/api/v1/invitations",
        json={"email": f"{marker()}@x.example", "roles": ["employee"]},
        headers={"Idempotency-Key": key},
    )
    assert r.status_code == 422
    assert problem_of(r)["code"] == "idempotency_key_reused"


async def test_keys_belong_to_one_api_client(app, api, acme):
    key = marker()
    mine = await api.post(
        "/api/v1/teams", json={"name": f"Team {marker()}"}, headers={"Idempotency-Key": key}
    )
    other = await new_client(acme, [ADMIN_TEAMS_MANAGE], name="Another integration")
    async with bearer(app, acme.host, await token_for(app, acme, other)) as c:
        theirs = await c.post(
            "/api/v1/teams", json={"name": f"Team {marker()}"}, headers={"Idempotency-Key": key}
        )
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["id"] != mine.json()["id"]


async def test_concurrent_identical_requests_create_exactly_one_record(app, acme, acme_admin):
    name, key = f"Team {marker()}", marker()
    token = await token_for(app, acme, acme_admin)
    async with bearer(app, acme.host, token) as a, bearer(app, acme.host, token) as b:
        first, second = await asyncio.gather(
            a.post("/api/v1/teams", json={"name": name}, headers={"Idempotency-Key": key}),
            b.post("/api/v1/teams", json={"name": name}, headers={"Idempotency-Key": key}),
        )
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.content == second.content
    assert sorted(r.headers.get("idempotent-replayed", "-") for r in (first, second)) == ["-", "true"]
    assert await _teams_named(acme, name) == 1


async def test_a_failed_create_leaves_the_key_free_for_a_corrected_retry(api, acme):
    key = marker()
    failed = await api.post("/api/v1/teams", json={"name": "East"}, headers={"Idempotency-Key": key})
    assert failed.status_code == 422
    fixed = await api.post(
        "/api/v1/teams", json={"name": f"Team {marker()}"}, headers={"Idempotency-Key": key}
    )
    assert fixed.status_code == 201
    assert "idempotent-replayed" not in fixed.headers


async def test_an_invitation_is_created_and_mailed_once(api, acme):
    body, key = {"email": f"{marker()}@invited.example", "roles": ["employee"]}, marker()
    first = await api.post("/api/v1/invitations", json=body, headers={"Idempotency-Key": key})
    counts = await row_counts(acme)
    again = await api.post("/api/v1/invitations", json=body, headers={"Idempotency-Key": key})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert await row_counts(acme) == counts  # no second invitation, no second mail in the outbox


async def test_an_empty_or_overlong_key_is_a_400(api, acme):
    counts = await row_counts(acme)
    for key in ("", "k" * 201):
        r = await api.post(
            "/api/v1/teams", json={"name": f"Team {marker()}"}, headers={"Idempotency-Key": key}
        )
        assert r.status_code == 400
        assert problem_of(r)["code"] == "idempotency_key_invalid"
        assert r.json()["detail"] == "The Idempotency-Key header must be 1 to 200 characters."
    assert await row_counts(acme) == counts


async def _until_a_request_waits_on_a_lock() -> None:
    from app.kernel.db import get_database

    waiting = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    for _ in range(500):
        async with get_database().engine.connect() as conn:  # a fresh snapshot of pg_stat_activity
            if await conn.scalar(waiting):
                return
        await asyncio.sleep(0.01)
    raise AssertionError("the request never waited on the unique index")


async def test_without_a_key_a_concurrent_duplicate_is_a_409_not_a_crash(api, acme):
    """Another transaction inserts the same team name but has not committed: the request's own
    name check passes, its insert waits on the unique index, and then loses the race."""
    from app.kernel.db import get_database

    name = f"Team {marker()}"
    async with get_database().engine.connect() as rival:
        tx = await rival.begin()
        await rival.execute(text(f'INSERT INTO "{acme.schema}".teams (name) VALUES (:n)'), {"n": name})
        request = asyncio.create_task(api.post("/api/v1/teams", json={"name": name}))
        await _until_a_request_waits_on_a_lock()
        await tx.commit()
        r = await request
    assert r.status_code == 409
    assert (problem_of(r)["code"], r.json()["detail"]) == (
        "conflict",
        "Another request saved a conflicting record at the same moment. Reload and try again.",
    )
    assert await _teams_named(acme, name) == 1


async def test_a_duplicate_arriving_while_the_first_runs_waits_then_replays(api, acme, acme_admin):
    """The first request's reservation is not committed yet: the duplicate blocks on the key's
    unique index instead of creating a second record, then answers with the first's response."""
    import msgspec

    from app.kernel.db import get_database
    from app.kernel.idempotency import request_fingerprint
    from app.security.schemas import TeamCreate

    name, key = f"Team {marker()}", marker()
    first_answer = {
        "id": 424242,
        "name": name,
        "manager_id": None,
        "created_at": "2026-01-02T03:04:05Z",
        "updated_at": "2026-01-02T03:04:05Z",
    }
    fingerprint = request_fingerprint("POST /api/v1/teams", msgspec.json.encode(TeamCreate(name=name)))
    async with get_database().engine.connect() as first:
        tx = await first.begin()
        await first.execute(
            text(
                f'INSERT INTO "{acme.schema}".idempotency_keys (principal, key, route, request_hash, '
                "status_code, response, resource_id, created_at) "
                "VALUES (:p, :k, 'POST /api/v1/teams', :h, 201, CAST(:r AS jsonb), 424242, now())"
            ),
            {
                "p": f"api_client:{acme_admin.client.id}",
                "k": key,
                "h": fingerprint,
                "r": json.dumps(first_answer),
            },
        )
        duplicate = asyncio.create_task(
            api.post("/api/v1/teams", json={"name": name}, headers={"Idempotency-Key": key})
        )
        await _until_a_request_waits_on_a_lock()
        await tx.commit()
        r = await duplicate
    assert (r.status_code, r.headers["idempotent-replayed"], r.headers["location"]) == (
        201,
        "true",
        "/api/v1/teams/424242",
    )
    assert r.json() == first_answer
    assert await _teams_named(acme, name) == 0  # the duplicate created nothing
