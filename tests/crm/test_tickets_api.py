"""Tickets API (CRM-10): /api/v1/crm/tickets — create with Idempotency-Key and SLA deadlines, cursor
list with filters, item with the whole conversation, PATCH, messages; problems with codes and
fields, nothing written on errors; scopes."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from app.crm import events
from app.security.permissions import CRM_ACCOUNT_READ, CRM_TICKET_READ, CRM_TICKET_WRITE
from tenants.service import in_tenant
from tests.crm.factories.service import add_account, add_contact, add_ticket
from tests.crm.support import api_as, outbox_count, problem_of, table_counts

SCOPES = [CRM_TICKET_READ, CRM_TICKET_WRITE, CRM_ACCOUNT_READ]
TABLES = ("crm_tickets", "crm_ticket_messages", "idempotency_keys")


def marker() -> str:
    return uuid.uuid4().hex[:10]


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
async def api(app, acme):
    async with api_as(app, acme, SCOPES) as client:
        yield client


async def test_create_is_idempotent_with_deadlines_and_assignment(api, acme):
    m = marker()
    async with in_tenant(acme.slug) as (s, _):
        account = await add_account(s, f"Api Co {m}")
        contact = await add_contact(s, account, "Chen Jing", f"cj.{m}@example.cn")
    body = {
        "subject": f"Api ticket {m}",
        "description": "Down since 9:00.",
        "priority": "high",
        "account_id": account.id,
        "contact_id": contact.id,
        "owner_id": acme.users["tom"],
    }
    before = await outbox_count(events.TICKET_CREATED)
    first = await api.post("/api/v1/crm/tickets", json=body, headers={"Idempotency-Key": f"t-{m}"})
    assert first.status_code == 201, first.text
    t = first.json()
    assert first.headers["location"] == f"/api/v1/crm/tickets/{t['id']}"
    assert (t["subject"], t["priority"], t["status"], t["channel"], t["owner_id"], t["team_id"]) == (
        f"Api ticket {m}",
        "high",
        "new",
        "api",
        acme.users["tom"],
        acme.teams["Support"],
    )
    assert at(t["first_response_due_at"]) == at(t["created_at"]) + timedelta(hours=1)
    assert at(t["resolution_due_at"]) == at(t["created_at"]) + timedelta(hours=8)
    again = await api.post("/api/v1/crm/tickets", json=body, headers={"Idempotency-Key": f"t-{m}"})
    assert (again.status_code, again.headers["idempotent-replayed"], again.json()["id"]) == (
        201,
        "true",
        t["id"],
    )
    assert await outbox_count(events.TICKET_CREATED) == before + 1


@pytest.mark.parametrize(
    ("body", "status", "code", "fields"),
    [
        ({"subject": " "}, 422, "validation_failed", {"subject": "This field is required."}),
        ({"subject": "X", "requester_email": "nope"}, 422, "validation_failed",
         {"requester_email": "Enter a valid e-mail address."}),
        ({"subject": "X", "account_id": 999_999_999}, 422, "validation_failed",
         {"account_id": "Choose an existing account."}),
        ({"subject": "X", "owner_id": 999_999_999}, 422, "validation_failed",
         {"owner_id": "Choose an active staff member."}),
        ({"subject": "X", "priority": "asap"}, 400, "invalid_request", None),
        ({"subject": "X", "channel": "fax"}, 400, "invalid_request", None),
        ({"subject": "X" * 201}, 400, "invalid_request", None),
        ({"description": "no subject"}, 400, "invalid_request", None),
    ],
)  # fmt: skip
async def test_bad_creates_are_problems_and_write_nothing(api, acme, body, status, code, fields):
    before = await table_counts(acme, *TABLES)
    r = await api.post("/api/v1/crm/tickets", json=body, headers={"Idempotency-Key": f"bad-{marker()}"})
    problem = problem_of(r)
    assert (r.status_code, problem["code"]) == (status, code)
    if fields is not None:
        assert {e["field"]: e["message"] for e in problem["errors"]} == fields
    assert await table_counts(acme, *TABLES) == before


async def test_list_filters_and_pages_by_cursor(api, acme):
    m = marker()
    async with in_tenant(acme.slug) as (s, _):
        account = await add_account(s, f"List Co {m}")
        ids = []
        for i in range(5):
            priority = "urgent" if i % 2 else "low"
            ids.append((await add_ticket(s, f"L{i} {m}", account_id=account.id, priority=priority)).id)
    r = await api.get(f"/api/v1/crm/tickets?account={account.id}&limit=2")
    page1 = r.json()
    assert len(page1["items"]) == 2
    page2 = (
        await api.get(f"/api/v1/crm/tickets?account={account.id}&limit=2&cursor={page1['next_cursor']}")
    ).json()
    page3 = (
        await api.get(f"/api/v1/crm/tickets?account={account.id}&limit=2&cursor={page2['next_cursor']}")
    ).json()
    assert page3["next_cursor"] is None
    seen = [t["id"] for p in (page1, page2, page3) for t in p["items"]]
    assert sorted(seen) == sorted(ids)
    urgent = (await api.get(f"/api/v1/crm/tickets?account={account.id}&priority=urgent")).json()["items"]
    assert sorted(t["id"] for t in urgent) == [ids[1], ids[3]]
    unassigned = (await api.get(f"/api/v1/crm/tickets?account={account.id}&owner=none&status=new")).json()
    assert len(unassigned["items"]) == 5
    future = (datetime.now().astimezone() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    assert (await api.get(f"/api/v1/crm/tickets?account={account.id}&updated_since={future}")).json()[
        "items"
    ] == []
    bad = await api.get("/api/v1/crm/tickets?cursor=garbage")
    assert (bad.status_code, problem_of(bad)["code"]) == (400, "invalid_cursor")
    assert (await api.get("/api/v1/crm/tickets?status=archived")).status_code == 400


async def test_item_patch_and_messages(api, acme):
    m = marker()
    created = (
        await api.post("/api/v1/crm/tickets", json={"subject": f"Patch {m}", "owner_id": acme.users["sue"]})
    ).json()
    tid = created["id"]
    note = await api.post(
        f"/api/v1/crm/tickets/{tid}/messages", json={"body": "Internal: VIP", "internal": True}
    )
    assert note.status_code == 201
    assert (note.json()["internal"], note.json()["email_message_id"]) == (True, None)
    before = await outbox_count(events.TICKET_REPLIED)
    reply = await api.post(
        f"/api/v1/crm/tickets/{tid}/messages", json={"body": "On our way.", "status": "pending"}
    )
    assert (reply.status_code, reply.json()["author_kind"], reply.json()["author_user_id"]) == (
        201,
        "agent",
        None,
    )
    assert await outbox_count(events.TICKET_REPLIED) == before + 1
    item = (await api.get(f"/api/v1/crm/tickets/{tid}")).json()
    assert item["status"] == "pending"
    assert item["first_responded_at"] == reply.json()["created_at"]
    assert [(x["body"], x["internal"]) for x in item["messages"]] == [
        ("Internal: VIP", True),
        ("On our way.", False),
    ]
    patched = await api.patch(
        f"/api/v1/crm/tickets/{tid}", json={"priority": "urgent", "owner_id": acme.users["tom"]}
    )
    assert patched.status_code == 200
    p = patched.json()
    assert (p["priority"], p["owner_id"]) == ("urgent", acme.users["tom"])
    assert at(p["resolution_due_at"]) == at(p["created_at"]) + timedelta(hours=4)
    unassigned = (await api.patch(f"/api/v1/crm/tickets/{tid}", json={"owner_id": None})).json()
    assert unassigned["owner_id"] is None
    closed = (await api.patch(f"/api/v1/crm/tickets/{tid}", json={"status": "closed"})).json()
    assert closed["status"] == "closed"
    before_rows = await table_counts(acme, *TABLES)
    refused = await api.patch(f"/api/v1/crm/tickets/{tid}", json={"priority": "low"})
    assert (refused.status_code, problem_of(refused)["code"]) == (409, "ticket_closed")
    refused = await api.post(f"/api/v1/crm/tickets/{tid}/messages", json={"body": "More"})
    assert (refused.status_code, problem_of(refused)["code"]) == (409, "ticket_closed")
    assert await table_counts(acme, *TABLES) == before_rows


async def test_bad_updates_and_messages_write_nothing(api, acme):
    tid = (await api.post("/api/v1/crm/tickets", json={"subject": "Bad updates"})).json()["id"]
    before = await table_counts(acme, *TABLES)
    for method, path, body, status, code in [
        ("PATCH", "", {"status": "new"}, 400, "invalid_request"),
        ("PATCH", "", {"priority": "asap"}, 400, "invalid_request"),
        ("PATCH", "", {"owner_id": acme.users["carol"]}, 422, "validation_failed"),
        ("PATCH", "", {"colour": "red"}, 400, "invalid_request"),
        ("POST", "/messages", {"body": ""}, 422, "validation_failed"),
        ("POST", "/messages", {"body": "x", "internal": "yes"}, 400, "invalid_request"),
    ]:
        r = await api.request(method, f"/api/v1/crm/tickets/{tid}{path}", json=body)
        assert (r.status_code, problem_of(r)["code"]) == (status, code), (method, body, r.text)
    assert await table_counts(acme, *TABLES) == before


async def test_scopes_are_enforced(app, acme):
    """(Another tenant's ids answer 404: tests/test_routes.py walks every id route with them.)"""
    async with api_as(app, acme, [CRM_TICKET_READ]) as reader:
        r = await reader.post("/api/v1/crm/tickets", json={"subject": "No scope"})
        assert (r.status_code, problem_of(r)["code"]) == (403, "forbidden")
        assert (await reader.get("/api/v1/crm/tickets")).status_code == 200
