"""Request bodies (app/kernel/api.py StrictBody): malformed or off-schema input is a 400 problem
naming the field, an oversize body a 413, a business rule a 422 — and none of them writes anything."""

from __future__ import annotations

import pytest

from app.settings import get_settings
from tests.api.conftest import create_user, marker, problem_of, row_counts

SCHEMA_ERRORS = [
    ({"name": 5}, [{"field": "name", "message": "Expected `str`, got `int`"}]),
    (
        {"name": "Ops", "manager_id": "3"},
        [{"field": "manager_id", "message": "Expected `int | null`, got `str`"}],
    ),
    (
        {"name": "Ops", "colour": "red"},
        [{"field": "colour", "message": "Object contains unknown field `colour`"}],
    ),
    ({"manager_id": None}, [{"field": "name", "message": "Object missing required field `name`"}]),
    ({"name": ""}, [{"field": "name", "message": "Expected `str` of length >= 1"}]),
    ({"name": "x" * 121}, [{"field": "name", "message": "Expected `str` of length <= 120"}]),
    (["Ops"], [{"field": "body", "message": "Expected `object`, got `array`"}]),
]


@pytest.mark.parametrize(("body", "errors"), SCHEMA_ERRORS)
async def test_a_body_off_the_schema_is_a_400_naming_the_field(api, acme, body, errors):
    counts = await row_counts(acme)
    r = await api.post("/api/v1/teams", json=body)
    assert r.status_code == 400
    problem = problem_of(r)
    assert (problem["code"], problem["title"], problem["detail"]) == (
        "invalid_request",
        "Invalid request",
        "The request body does not match the schema.",
    )
    assert problem["errors"] == errors
    assert await row_counts(acme) == counts


async def test_nested_field_errors_name_the_path(api, acme):
    counts = await row_counts(acme)
    r = await api.post("/api/v1/invitations", json={"email": "a@b.example", "roles": ["employee", 7]})
    assert r.status_code == 400
    assert problem_of(r)["errors"] == [{"field": "roles[1]", "message": "Expected `str`, got `int`"}]
    assert await row_counts(acme) == counts


async def test_an_invalid_email_is_refused_by_the_schema(api, acme):
    counts = await row_counts(acme)
    r = await api.post("/api/v1/invitations", json={"email": "not-an-address", "roles": ["employee"]})
    assert r.status_code == 400
    [error] = problem_of(r)["errors"]
    assert error["field"] == "email"
    assert error["message"].startswith("Expected `str` matching regex")
    assert await row_counts(acme) == counts


async def test_malformed_json_is_a_400_problem(api, acme):
    counts = await row_counts(acme)
    r = await api.post(
        "/api/v1/teams", content=b'{"name": "Ops",', headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400
    problem = problem_of(r)
    assert problem["code"] == "malformed_json"
    assert problem["detail"] == "The request body is not valid JSON: Input data was truncated"
    assert problem["errors"] == [{"field": "body", "message": "Input data was truncated"}]
    assert await row_counts(acme) == counts


async def test_a_missing_body_is_a_400_problem(api, acme):
    counts = await row_counts(acme)
    r = await api.post("/api/v1/teams")
    assert r.status_code == 400
    assert problem_of(r)["errors"] == [{"field": "body", "message": "A JSON request body is required."}]
    assert await row_counts(acme) == counts


async def test_an_oversize_body_is_a_413_problem(api, acme):
    counts = await row_counts(acme)
    limit = get_settings().max_request_body_bytes
    r = await api.post(
        "/api/v1/teams",
        content=b'{"name": "' + b"x" * limit + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert problem_of(r)["code"] == "body_too_large"
    assert await row_counts(acme) == counts


async def test_business_rules_answer_422_with_field_errors(api, acme):
    counts = await row_counts(acme)
    clash = await api.post("/api/v1/teams", json={"name": "east"})  # the world's team "East"
    no_manager = await api.post("/api/v1/teams", json={"name": f"Team {marker()}", "manager_id": 987654321})
    unknown_role = await api.post(
        "/api/v1/invitations", json={"email": f"{marker()}@x.example", "roles": ["wizard"]}
    )
    assert [
        (r.status_code, problem_of(r)["code"], r.json()["errors"]) for r in (clash, no_manager, unknown_role)
    ] == [
        (422, "validation_failed", [{"field": "name", "message": "A team with this name already exists."}]),
        (422, "validation_failed", [{"field": "manager_id", "message": "Choose an active staff member."}]),
        (422, "validation_failed", [{"field": "roles", "message": "Unknown role: wizard."}]),
    ]
    assert await row_counts(acme) == counts


async def test_inviting_an_existing_user_is_a_409_conflict(api, acme):
    m = marker()
    await create_user(acme, f"{m}@example.com", "Already Here", ["employee"])
    counts = await row_counts(acme)
    r = await api.post(
        "/api/v1/invitations", json={"email": f"{m.upper()}@EXAMPLE.com", "roles": ["employee"]}
    )
    assert r.status_code == 409
    problem = problem_of(r)
    assert (problem["code"], problem["detail"]) == (
        "email_taken",
        f"A user with the e-mail {m}@example.com already exists.",
    )
    assert await row_counts(acme) == counts
