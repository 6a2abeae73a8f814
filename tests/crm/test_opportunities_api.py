"""Opportunities and pipeline stages over /api/v1/crm (CRM-3): lists with filters and cursors,
items, idempotent creates, partial updates and stage moves — and problem details for bad input
with nothing written."""

from __future__ import annotations

import uuid

from app.crm import events
from app.security.permissions import CRM_ACCOUNT_READ, CRM_OPPORTUNITY_READ, CRM_OPPORTUNITY_WRITE
from tests.crm.factories.pipeline import (
    PIPELINE_TABLES,
    deal_row,
    new_account,
    new_deal,
    published,
    stage_ids,
)
from tests.crm.support import api_as, problem_of, table_counts

# Creating a deal names an account, which the client must be able to see (crm.account.read).
SCOPES = [CRM_ACCOUNT_READ, CRM_OPPORTUNITY_READ, CRM_OPPORTUNITY_WRITE]
TABLES = (*PIPELINE_TABLES, "idempotency_keys")


def tag() -> str:
    return uuid.uuid4().hex[:8]


async def _all(api, params):
    items, cursor = [], None
    while True:
        r = await api.get(
            "/api/v1/crm/opportunities", params={**params, **({"cursor": cursor} if cursor else {})}
        )
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items


async def test_create_read_and_list_with_filters(app, acme):
    t = tag()
    stages = await stage_ids(acme)
    account = await new_account(acme, "alice", f"API {t}")
    async with api_as(app, acme, SCOPES) as api:
        r = await api.post("/api/v1/crm/opportunities", json={
            "name": f"API deal {t}", "account_id": account, "amount": "1234.50",
            "stage_id": stages["proposal"], "expected_close_date": "2032-05-31",
            "owner_id": acme.users["alice"], "source": "partner"})  # fmt: skip
        assert r.status_code == 201, r.text
        created = r.json()
        assert r.headers["location"] == f"/api/v1/crm/opportunities/{created['id']}"
        assert {k: created[k] for k in ("name", "amount", "currency", "probability", "weighted_amount",
                                        "status", "stage_id", "owner_id", "team_id", "closed_at")} == {
            "name": f"API deal {t}", "amount": "1234.50", "currency": "CNY", "probability": 60,
            "weighted_amount": "740.70", "status": "open", "stage_id": stages["proposal"],
            "owner_id": acme.users["alice"], "team_id": acme.teams["East"], "closed_at": None,
        }  # fmt: skip
        item = await api.get(f"/api/v1/crm/opportunities/{created['id']}")
        assert item.json() == created
        for i in range(3):
            batch = {
                "name": f"Batch {t} {i}",
                "account_id": account,
                "expected_close_date": f"2032-0{i + 1}-10",
            }
            await api.post("/api/v1/crm/opportunities", json=batch)
        dated = await _all(api, {"close_after": "2032-02-01", "close_before": "2032-06-01", "limit": 1})
        mine = [o["name"] for o in dated if t in o["name"]]
        assert mine == [f"API deal {t}", f"Batch {t} 1", f"Batch {t} 2"]  # by id, across 1-item pages
        by_stage = await _all(api, {"stage_id": stages["proposal"], "owner_id": acme.users["alice"]})
        assert f"API deal {t}" in [o["name"] for o in by_stage]
        assert all(o["stage_id"] == stages["proposal"] for o in by_stage)
        unowned = [o for o in await _all(api, {"status": "open"}) if t in o["name"] and o["owner_id"] is None]
        assert len(unowned) == 3  # an API client is nobody's rep
        assert await _all(api, {"status": "won", "close_after": "2032-01-01"}) == []


async def test_create_is_idempotent_with_a_key(app, acme):
    t = tag()
    account = await new_account(acme, "alice", f"Idem {t}")
    body = {"name": f"Once {t}", "account_id": account, "amount": "10"}
    async with api_as(app, acme, SCOPES) as api:
        first = await api.post("/api/v1/crm/opportunities", json=body, headers={"Idempotency-Key": t})
        before = await table_counts(acme, *TABLES)
        again = await api.post("/api/v1/crm/opportunities", json=body, headers={"Idempotency-Key": t})
        other = await api.post("/api/v1/crm/opportunities", json={**body, "amount": "11"},
                               headers={"Idempotency-Key": t})  # fmt: skip
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert problem_of(other)["code"] == "idempotency_key_reused"
    assert await table_counts(acme, *TABLES) == before


async def test_bad_input_is_a_problem_and_writes_nothing(app, acme):
    t = tag()
    stages = await stage_ids(acme)
    account = await new_account(acme, "alice", f"Bad {t}")
    good = {"name": f"Bad {t}", "account_id": account}
    cases = [
        ({**good, "amount": "-100"}, 422, [("amount", "Must be at least 0.")]),
        ({**good, "probability": 130}, 422, [("probability", "Must be at most 100.")]),
        ({**good, "stage_id": 999999}, 422, [("stage_id", "Choose one of the pipeline's stages.")]),
        ({**good, "stage_id": stages["lost"]}, 422, [("lost_reason", "Say why the deal was lost.")]),
        ({**good, "account_id": 999999}, 422, [("account_id", "Choose an existing account.")]),
        ({**good, "amount": 100}, 400, None),  # money is a string
        ({**good, "colour": "red"}, 400, None),  # unknown field
        ({"account_id": account}, 400, None),  # name missing
    ]  # fmt: skip
    async with api_as(app, acme, SCOPES) as api:
        before = await table_counts(acme, *TABLES)
        for body, status, errors in cases:
            r = await api.post(
                "/api/v1/crm/opportunities", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
            )
            problem = problem_of(r)
            assert r.status_code == status, (body, r.text)
            if errors is not None:
                pairs = [(e["field"], e["message"]) for e in problem["errors"]]
                assert (problem["code"], pairs) == ("validation_failed", errors)
            else:
                assert problem["code"] == "invalid_request"
        assert await table_counts(acme, *TABLES) == before


async def test_patch_changes_only_what_is_sent_and_refuses_bad_values(app, acme):
    t = tag()
    account = await new_account(acme, "alice", f"Patch {t}")
    deal = await new_deal(acme, "alice", account, name=f"Patch {t}", amount="500", source="web",
                          expected_close_date="2032-01-15")  # fmt: skip
    async with api_as(app, acme, SCOPES) as api:
        r = await api.patch(f"/api/v1/crm/opportunities/{deal}", json={"amount": "750.25", "source": None})
        assert r.status_code == 200, r.text
        assert (r.json()["amount"], r.json()["source"], r.json()["name"]) == ("750.25", None, f"Patch {t}")
        before = await table_counts(acme, *TABLES)
        bad = await api.patch(f"/api/v1/crm/opportunities/{deal}", json={"amount": "-1", "probability": 101})
        missing = await api.patch("/api/v1/crm/opportunities/999999", json={"amount": "1"})
        typed = await api.patch(f"/api/v1/crm/opportunities/{deal}", json={"stage_id": 3})
        assert await table_counts(acme, *TABLES) == before
    assert problem_of(bad)["errors"] == [
        {"field": "amount", "message": "Must be at least 0."},
        {"field": "probability", "message": "Must be at most 100."},
    ]
    assert problem_of(missing)["code"] == "not_found"
    assert problem_of(typed)["code"] == "invalid_request"  # stages change through /stage
    row = await deal_row(acme, deal)
    assert (str(row.amount), row.source, str(row.expected_close_date)) == ("750.25", None, "2032-01-15")


async def test_stage_moves_close_and_announce(app, acme):
    t = tag()
    stages = await stage_ids(acme)
    account = await new_account(acme, "alice", f"Move {t}")
    deal = await new_deal(acme, "alice", account, name=f"Move {t}", amount="900")
    async with api_as(app, acme, SCOPES) as api:
        before = await table_counts(acme, *TABLES)
        refused = await api.post(f"/api/v1/crm/opportunities/{deal}/stage", json={"stage_id": stages["lost"]})
        unknown = await api.post(f"/api/v1/crm/opportunities/{deal}/stage", json={"stage_id": 999999})
        empty = await api.post(f"/api/v1/crm/opportunities/{deal}/stage", json={})
        hidden = await api.post("/api/v1/crm/opportunities/999999/stage", json={})
        assert await table_counts(acme, *TABLES) == before
        won = await api.post(f"/api/v1/crm/opportunities/{deal}/stage", json={"stage_id": stages["won"]})
    assert problem_of(refused)["errors"] == [
        {"field": "lost_reason", "message": "Say why the deal was lost."}
    ]
    assert problem_of(unknown)["errors"] == [
        {"field": "stage_id", "message": "Choose one of the pipeline's stages."}
    ]
    assert problem_of(empty)["errors"] == [
        {"field": "stage_id", "message": "Choose one of the pipeline's stages."}
    ]
    assert problem_of(hidden)["code"] == "not_found"  # the deal first, whatever the body
    assert won.status_code == 200
    assert (won.json()["status"], won.json()["probability"]) == ("won", 100)
    assert won.json()["closed_at"] is not None
    assert [e["amount"] for e in await published(events.OPPORTUNITY_WON, deal)] == ["900.00"]


async def test_pipeline_stages_are_listed_in_board_order(app, acme):
    stages = await stage_ids(acme)
    async with api_as(app, acme, [CRM_OPPORTUNITY_READ]) as api:
        r = await api.get("/api/v1/crm/pipeline-stages", params={"limit": 3})
        first = r.json()
        rest = await api.get(
            "/api/v1/crm/pipeline-stages", params={"limit": 200, "cursor": first["next_cursor"]}
        )
        one = await api.get(f"/api/v1/crm/pipeline-stages/{stages['won']}")
        write = await api.post("/api/v1/crm/opportunities", json={"name": "x", "account_id": 1})
    keys = [s["key"] for s in first["items"] + rest.json()["items"]]
    assert keys[:3] == ["prospecting", "qualification", "needs_analysis"]
    assert keys.index("won") == keys.index("negotiation") + 1
    assert one.json() == {"id": stages["won"], "key": "won", "name": "Won", "probability": 100,
                          "position": one.json()["position"], "kind": "won", "active": True}  # fmt: skip
    assert write.status_code == 403  # the token lacks crm.opportunity.write
