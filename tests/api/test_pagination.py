"""Cursor pagination (app/kernel/pagination.py), through the lists that use it (PLAT-9)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from sqlalchemy import column

from app.kernel.pagination import InvalidCursor, Key, Ordering, decode_cursor, encode_cursor
from tests.api.conftest import create_user, marker, problem_of


async def _page(api, path, **params):
    r = await api.get(path, params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"items", "next_cursor"}
    return body


async def test_pages_follow_each_other_until_the_last_has_no_cursor(api, acme):
    m = marker()
    ids = [await create_user(acme, f"{m}-{i}@example.com", f"Pager {i}", ["employee"]) for i in range(1, 6)]
    first = await _page(api, "/api/v1/users", q=m, limit=2)
    second = await _page(api, "/api/v1/users", q=m, limit=2, cursor=first["next_cursor"])
    third = await _page(api, "/api/v1/users", q=m, limit=2, cursor=second["next_cursor"])
    assert [[u["id"] for u in p["items"]] for p in (first, second, third)] == [ids[:2], ids[2:4], ids[4:]]
    assert isinstance(first["next_cursor"], str)
    assert third["next_cursor"] is None
    exact = await _page(api, "/api/v1/users", q=m, limit=5)
    assert ([u["id"] for u in exact["items"]], exact["next_cursor"]) == (ids, None)


async def test_rows_inserted_meanwhile_neither_repeat_nor_hide_rows(api, acme):
    m = marker()
    ids = [await create_user(acme, f"{m}-{i}@example.com", f"Stable {i}", ["employee"]) for i in (2, 4, 6)]
    first = await _page(api, "/api/v1/users", q=m, limit=2)
    assert [u["id"] for u in first["items"]] == ids[:2]
    before = await create_user(
        acme, f"{m}-1@example.com", "Stable 1", ["employee"]
    )  # sorts before the cursor
    after = await create_user(acme, f"{m}-5@example.com", "Stable 5", ["employee"])  # sorts after it
    rest = await _page(api, "/api/v1/users", q=m, limit=10, cursor=first["next_cursor"])
    assert [u["id"] for u in rest["items"]] == [after, ids[2]]
    assert before not in [u["id"] for u in rest["items"]]


async def test_newest_first_lists_page_backwards_in_time(api):
    m = marker()
    created = []
    for i in range(3):
        r = await api.post(
            "/api/v1/invitations", json={"email": f"{m}-{i}@invited.example", "roles": ["employee"]}
        )
        assert r.status_code == 201, r.text
        created.append(r.json()["id"])
    first = await _page(api, "/api/v1/invitations", limit=2)
    second = await _page(api, "/api/v1/invitations", limit=1, cursor=first["next_cursor"])
    assert [i["id"] for i in first["items"] + second["items"]] == created[::-1]


@pytest.mark.parametrize("limit", ["0", "201", "ten", "-1"])
async def test_a_limit_outside_1_to_200_is_a_400_problem(api, limit):
    r = await api.get("/api/v1/users", params={"limit": limit})
    assert r.status_code == 400
    assert problem_of(r)["code"] == "invalid_request"
    assert [e["field"] for e in r.json()["errors"]] == ["limit"]


async def test_the_largest_limit_is_accepted(api):
    assert (await api.get("/api/v1/users", params={"limit": 200})).status_code == 200


async def test_bad_cursors_are_400_problems(api, acme):
    await create_user(acme, f"{marker()}@example.com", "Cursor", ["employee"])
    await create_user(acme, f"{marker()}@example.com", "Cursor", ["employee"])
    good = (await _page(api, "/api/v1/users", limit=1))["next_cursor"]
    teams_cursor = encode_cursor(
        Ordering("teams", (Key(column("name"), str), Key(column("id"), int))), ("x", 1)
    )
    raw = base64.urlsafe_b64decode(good + "=" * (-len(good) % 4))
    tampered = base64.urlsafe_b64encode(raw[:-2] + b"9]").rstrip(b"=").decode()  # another id, same tag
    for cursor in ("not a cursor", "AAAA", good[:-3], tampered, teams_cursor, "x" * 1001):
        r = await api.get("/api/v1/users", params={"cursor": cursor})
        assert r.status_code == 400, cursor
        assert problem_of(r)["code"] == "invalid_cursor"
        assert r.json()["errors"] == [
            {"field": "cursor", "message": "Use the next_cursor value of a previous page, unchanged."}
        ]


def test_a_cursor_round_trips_its_typed_key_and_is_bound_to_its_ordering():
    events = Ordering("events", (Key(column("at"), datetime), Key(column("id"), int)), descending=True)
    moment = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
    cursor = encode_cursor(events, (moment, 42))
    assert "=" not in cursor
    assert decode_cursor(events, cursor) == (moment, 42)
    other = Ordering("events_v2", events.keys, descending=True)
    with pytest.raises(InvalidCursor):
        decode_cursor(other, cursor)
