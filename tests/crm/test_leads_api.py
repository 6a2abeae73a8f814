"""Leads API (CRM-2): /api/v1/crm/leads — capture with Idempotency-Key, cursor lists with filters,
item, PATCH, qualify, disqualify, convert; problems with codes and fields; nothing written on errors."""

from __future__ import annotations

import uuid

import pytest

from app.crm import events
from app.security.permissions import (
    CRM_ACCOUNT_READ,
    CRM_ACCOUNT_WRITE,
    CRM_LEAD_READ,
    CRM_LEAD_WRITE,
    CRM_OPPORTUNITY_READ,
    CRM_OPPORTUNITY_WRITE,
)
from tenants.service import in_tenant
from tests.crm.factories.leads import add_lead
from tests.crm.support import api_as, outbox_count, problem_of, table_counts

SCOPES = [
    CRM_LEAD_READ,
    CRM_LEAD_WRITE,
    CRM_ACCOUNT_READ,
    CRM_ACCOUNT_WRITE,
    CRM_OPPORTUNITY_READ,
    CRM_OPPORTUNITY_WRITE,
]


def marker() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
async def api(app, acme):
    async with api_as(app, acme, SCOPES) as client:
        yield client


async def test_capture_is_idempotent_and_routed_by_the_rules(api, acme):
    m = marker()
    body = {"full_name": f"Api {m}", "email": f"API{m}@Example.com", "company": "Robots Inc", "score": 20}
    before = await outbox_count(events.LEAD_CREATED)
    first = await api.post("/api/v1/crm/leads", json=body, headers={"Idempotency-Key": f"k-{m}"})
    assert first.status_code == 201, first.text
    lead = first.json()
    assert first.headers["location"] == f"/api/v1/crm/leads/{lead['id']}"
    assert (
        lead["full_name"],
        lead["email"],
        lead["source"],
        lead["status"],
        lead["score"],
        lead["owner_id"],
    ) == (
        f"Api {m}",
        f"api{m}@example.com",
        "api",
        "new",
        20,
        None,
    )
    again = await api.post("/api/v1/crm/leads", json=body, headers={"Idempotency-Key": f"k-{m}"})
    assert (again.status_code, again.headers["idempotent-replayed"], again.json()["id"]) == (
        201,
        "true",
        lead["id"],
    )
    assert await outbox_count(events.LEAD_CREATED) == before + 1
    item = await api.get(f"/api/v1/crm/leads/{lead['id']}")
    assert item.json() == lead


@pytest.mark.parametrize(
    ("body", "status", "code", "fields"),
    [
        (
            {"full_name": "X", "email": "nope"},
            422,
            "validation_failed",
            {"email": "Enter a valid e-mail address."},
        ),
        (
            {"full_name": "X"},
            422,
            "validation_failed",
            {"email": "Give an e-mail address or a phone number."},
        ),
        (
            {"full_name": "X", "phone": "12"},
            422,
            "validation_failed",
            {"phone": "Enter a valid phone number (digits, spaces, + - ( ) only)."},
        ),
        ({"full_name": "X", "email": "a@b.example", "status": "converted"}, 400, "invalid_request", None),
        ({"full_name": "X", "email": "a@b.example", "score": 101}, 400, "invalid_request", None),
        ({"full_name": "X", "email": "a@b.example", "source": "tv"}, 400, "invalid_request", None),
        ({"full_name": "X", "email": "a@b.example", "colour": "red"}, 400, "invalid_request", None),
        (
            {"full_name": "X", "email": "a@b.example", "owner_id": 999999},
            422,
            "validation_failed",
            {"owner_id": "Choose an active staff member."},
        ),
    ],
)
async def test_bad_captures_are_problems_and_write_nothing(api, acme, body, status, code, fields):
    before = await table_counts(acme, "crm_leads", "idempotency_keys")
    r = await api.post("/api/v1/crm/leads", json=body, headers={"Idempotency-Key": f"bad-{marker()}"})
    problem = problem_of(r)
    assert (r.status_code, problem["code"]) == (status, code)
    if fields is not None:
        assert {e["field"]: e["message"] for e in problem["errors"]} == fields
    assert await table_counts(acme, "crm_leads", "idempotency_keys") == before


async def test_list_with_filters_and_cursor(api, acme):
    m = marker()
    async with in_tenant(acme.slug) as (s, _):
        ids = []
        for i in range(5):
            lead = await add_lead(
                s,
                f"Page {m} {i}",
                status="qualified" if i % 2 else "new",
                source="event" if i < 3 else "referral",
                owner_id=acme.users["alice"] if i == 4 else None,
            )
            ids.append(lead.id)
    first = await api.get(f"/api/v1/crm/leads?q={m}&limit=2")
    assert [x["id"] for x in first.json()["items"]] == [ids[4], ids[3]]
    second = await api.get(f"/api/v1/crm/leads?q={m}&limit=2&cursor={first.json()['next_cursor']}")
    third = await api.get(f"/api/v1/crm/leads?q={m}&limit=2&cursor={second.json()['next_cursor']}")
    assert [x["id"] for x in second.json()["items"] + third.json()["items"]] == [ids[2], ids[1], ids[0]]
    assert third.json()["next_cursor"] is None

    async def ids_for(query: str) -> list[int]:
        r = await api.get(f"/api/v1/crm/leads?q={m}&{query}")
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["items"]]

    assert await ids_for("status=qualified") == [ids[3], ids[1]]
    assert await ids_for("source=referral") == [ids[4], ids[3]]
    assert await ids_for(f"owner={acme.users['alice']}") == [ids[4]]
    assert await ids_for("owner=none") == [ids[3], ids[2], ids[1], ids[0]]
    assert await ids_for("created_since=2999-01-01T00:00:00") == []
    assert problem_of(await api.get("/api/v1/crm/leads?status=won"))["code"] == "invalid_request"
    assert problem_of(await api.get("/api/v1/crm/leads?owner=me"))["code"] == "invalid_request"
    assert problem_of(await api.get("/api/v1/crm/leads?cursor=forged"))["code"] == "invalid_cursor"


async def test_patch_qualify_disqualify(api, acme):
    m = marker()
    async with in_tenant(acme.slug) as (s, _):
        lead_id = (await add_lead(s, f"Patch {m}")).id
    r = await api.patch(
        f"/api/v1/crm/leads/{lead_id}", json={"company": "New Co", "owner_id": acme.users["dave"]}
    )
    assert (r.status_code, r.json()["company"], r.json()["owner_id"], r.json()["team_id"]) == (
        200,
        "New Co",
        acme.users["dave"],
        acme.teams["West"],
    )
    bad = await api.patch(f"/api/v1/crm/leads/{lead_id}", json={"email": "broken", "phone": None})
    assert problem_of(bad)["errors"] == [{"field": "email", "message": "Enter a valid e-mail address."}]
    assert (await api.get(f"/api/v1/crm/leads/{lead_id}")).json()["email"] == f"patch.{m}@lead.example"
    r = await api.post(f"/api/v1/crm/leads/{lead_id}/qualify", json={"score": 90})
    assert (r.json()["status"], r.json()["score"]) == ("qualified", 90)
    no_reason = problem_of(await api.post(f"/api/v1/crm/leads/{lead_id}/disqualify", json={}))
    assert no_reason["errors"] == [{"field": "reason", "message": "This field is required."}]
    r = await api.post(f"/api/v1/crm/leads/{lead_id}/disqualify", json={"reason": "Student project"})
    assert (r.json()["status"], r.json()["disqualified_reason"]) == ("disqualified", "Student project")
    r = await api.post(f"/api/v1/crm/leads/{lead_id}/convert", json={})
    assert (r.status_code, problem_of(r)["code"]) == (409, "lead_disqualified")
    r = await api.patch(f"/api/v1/crm/leads/{lead_id}", json={"status": "contacted"})
    assert (r.json()["status"], r.json()["disqualified_reason"]) == ("contacted", None)


async def test_convert_and_convert_again(api, acme):
    m = marker()
    async with in_tenant(acme.slug) as (s, _):
        lead_id = (await add_lead(s, f"Conv {m}", company=f"Conv Co {m}", status="qualified")).id
    r = await api.post(
        f"/api/v1/crm/leads/{lead_id}/convert",
        json={
            "opportunity": {"name": "First order", "amount": "1500.00", "expected_close_date": "2027-03-01"}
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["lead"]["status"], body["account_created"], body["contact_created"]) == (
        "converted",
        True,
        True,
    )
    assert body["opportunity_id"] is not None
    before = await table_counts(acme, "crm_accounts", "crm_contacts", "crm_opportunities", "crm_leads")
    again = await api.post(f"/api/v1/crm/leads/{lead_id}/convert", json={})
    assert (again.status_code, problem_of(again)["code"]) == (409, "lead_already_converted")
    assert (
        await table_counts(acme, "crm_accounts", "crm_contacts", "crm_opportunities", "crm_leads") == before
    )
    bad_amount = await api.post(
        f"/api/v1/crm/leads/{lead_id}/convert", json={"opportunity": {"name": "X", "amount": "1,5"}}
    )
    assert problem_of(bad_amount)["code"] == "invalid_request"
    patch = await api.patch(f"/api/v1/crm/leads/{lead_id}", json={"company": "Later"})
    assert (patch.status_code, problem_of(patch)["code"]) == (409, "lead_already_converted")


async def test_scopes_and_other_tenants(app, acme, globex):
    from sqlalchemy import text

    async with in_tenant(globex.slug) as (s, _):
        # Far above acme's ids, so the id cannot name an acme lead by coincidence.
        table = f"{globex.schema}.crm_leads"
        await s.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 8000000)"))
        foreign = (await add_lead(s, "Globex lead")).id
    async with api_as(app, acme, [CRM_LEAD_READ]) as read_only:
        assert (await read_only.get(f"/api/v1/crm/leads/{foreign}")).status_code == 404
        r = await read_only.post("/api/v1/crm/leads", json={"full_name": "X", "email": "x@y.example"})
        assert (r.status_code, problem_of(r)["code"]) == (403, "forbidden")
