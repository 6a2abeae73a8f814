"""Accounts and contacts under /api/v1/crm (CRM-1): cursor lists with filters, items, idempotent
creates, PATCH, merge; scopes are permissions; bad input is a problem and changes nothing."""

from __future__ import annotations

from app.crm.events import ACCOUNTS_MERGED
from app.security.permissions import CRM_ACCOUNT_MERGE, CRM_ACCOUNT_READ, CRM_ACCOUNT_WRITE, CRM_LEAD_READ
from tests.crm.customers_support import CUSTOMER_TABLES, mark, new_account, new_contact
from tests.crm.support import api_as, outbox_count, problem_of, table_counts

ALL = [CRM_ACCOUNT_READ, CRM_ACCOUNT_WRITE, CRM_ACCOUNT_MERGE]


async def test_list_filters_and_pages_by_cursor(app, acme):
    m = mark()
    ids = [
        await new_account(acme, "ada", name=f"Api {m} {i}", region=f"R{m}", tags="vip" if i % 2 else "")
        for i in range(5)
    ]
    await new_account(acme, "ada", name=f"Api {m} other", lifecycle_stage="customer")
    async with api_as(app, acme, [CRM_ACCOUNT_READ]) as api:
        first = await api.get("/api/v1/crm/accounts", params={"region": f"R{m}", "limit": 2})
        second = await api.get(
            "/api/v1/crm/accounts",
            params={"region": f"R{m}", "limit": 2, "cursor": first.json()["next_cursor"]},
        )
        tagged = await api.get("/api/v1/crm/accounts", params={"q": m, "tag": "vip"})
        customers = await api.get("/api/v1/crm/accounts", params={"q": m, "stage": "customer"})
        unknown_stage = await api.get("/api/v1/crm/accounts", params={"stage": "vip"})
        bad_cursor = await api.get("/api/v1/crm/accounts", params={"cursor": "garbage"})
        item = await api.get(f"/api/v1/crm/accounts/{ids[0]}")
    assert first.status_code == 200
    assert [a["id"] for a in first.json()["items"]] == ids[:2]
    assert [a["id"] for a in second.json()["items"]] == ids[2:4]
    assert [a["id"] for a in tagged.json()["items"]] == [ids[1], ids[3]]
    assert [a["name"] for a in customers.json()["items"]] == [f"Api {m} other"]
    assert problem_of(unknown_stage)["code"] == "invalid_request"
    assert (bad_cursor.status_code, problem_of(bad_cursor)["code"]) == (400, "invalid_cursor")
    body = item.json()
    assert (body["name"], body["region"], body["tags"], body["lifecycle_stage"], body["kind"]) == (
        f"Api {m} 0",
        f"R{m}",
        [],
        "prospect",
        "company",
    )


async def test_updated_since_and_contacts_of_an_account(app, acme):
    account = await new_account(acme, "ada", name=f"Since {mark()}")
    first = await new_contact(acme, account, "ada", full_name="A First")
    await new_contact(acme, account, "ada", full_name="B Second")
    async with api_as(app, acme, [CRM_ACCOUNT_READ]) as api:
        people = await api.get("/api/v1/crm/contacts", params={"account_id": account})
        future = await api.get("/api/v1/crm/accounts", params={"updated_since": "2999-01-01T00:00:00"})
        contact = await api.get(f"/api/v1/crm/contacts/{first}")
    assert [c["full_name"] for c in people.json()["items"]] == ["A First", "B Second"]
    assert future.json() == {"items": [], "next_cursor": None}
    assert contact.json()["account_id"] == account


async def test_create_is_idempotent_and_validated(app, acme):
    m = mark()
    body = {
        "name": f"Created {m}",
        "email": f"Sales@{m}.example",
        "tags": ["vip", "华东"],
        "country": "cn",
        "preferences": {"channel": "wechat"},
    }
    async with api_as(app, acme, [CRM_ACCOUNT_WRITE, CRM_ACCOUNT_READ]) as api:
        r1 = await api.post("/api/v1/crm/accounts", json=body, headers={"Idempotency-Key": f"k-{m}"})
        r2 = await api.post("/api/v1/crm/accounts", json=body, headers={"Idempotency-Key": f"k-{m}"})
        before = await table_counts(acme, *CUSTOMER_TABLES)
        invalid = await api.post("/api/v1/crm/accounts", json={"name": "X", "email": "nope", "phone": "call"})
        unknown = await api.post("/api/v1/crm/accounts", json={"name": "X", "colour": "red"})
        wrong_type = await api.post("/api/v1/crm/accounts", json={"name": "X", "tags": "vip"})
        bad_stage = await api.post("/api/v1/crm/accounts", json={"name": "X", "lifecycle_stage": "vip"})
        no_account = await api.post("/api/v1/crm/contacts", json={"account_id": 999999999, "full_name": "Y"})
        after = await table_counts(acme, *CUSTOMER_TABLES)
    assert r1.status_code == 201
    assert r1.headers["location"] == f"/api/v1/crm/accounts/{r1.json()['id']}"
    assert (r1.json()["email"], r1.json()["country"], r1.json()["owner_id"]) == (
        f"sales@{m}.example",
        "CN",
        None,
    )
    assert r2.status_code == 201
    assert r2.headers["Idempotent-Replayed"] == "true"
    assert r2.json() == r1.json()
    problem = problem_of(invalid)
    assert (invalid.status_code, problem["code"]) == (422, "validation_failed")
    assert {e["field"] for e in problem["errors"]} == {"email", "phone"}
    assert (unknown.status_code, problem_of(unknown)["code"]) == (400, "invalid_request")
    assert problem_of(unknown)["errors"][0]["field"] == "colour"
    assert problem_of(wrong_type)["errors"][0]["field"] == "tags"
    assert problem_of(bad_stage)["errors"][0]["field"] == "lifecycle_stage"
    assert [e["field"] for e in problem_of(no_account)["errors"]] == ["account_id"]
    assert after == before


async def test_patch_changes_only_what_was_sent(app, acme):
    account = await new_account(acme, "ada", name=f"Patch {mark()}", email="keep@x.example", city="上海")
    contact = await new_contact(acme, account, "ada", first_name="Fang", last_name="Wang")
    async with api_as(app, acme, [CRM_ACCOUNT_WRITE, CRM_ACCOUNT_READ]) as api:
        r = await api.patch(f"/api/v1/crm/accounts/{account}", json={"city": None, "tags": ["a", "b"]})
        c = await api.patch(
            f"/api/v1/crm/contacts/{contact}", json={"last_name": "Li", "email": "li@x.example"}
        )
        bad = await api.patch(f"/api/v1/crm/contacts/{contact}", json={"email": "bad"})
        gone = await api.patch("/api/v1/crm/accounts/999999999", json={"city": "x"})
    assert r.status_code == 200
    assert (r.json()["city"], r.json()["email"], r.json()["tags"]) == (None, "keep@x.example", ["a", "b"])
    assert (c.json()["full_name"], c.json()["email"]) == ("Fang Li", "li@x.example")
    assert problem_of(bad)["errors"] == [{"field": "email", "message": "Enter a valid e-mail address."}]
    assert gone.status_code == 404


async def test_merge_over_the_api(app, acme):
    m = mark()
    a = await new_account(acme, "ada", name=f"Keep {m}")
    b = await new_account(acme, "ada", name=f"Drop {m}", email=f"drop@{m}.example")
    await new_contact(acme, b, "ada")
    events = await outbox_count(ACCOUNTS_MERGED)
    async with api_as(app, acme, ALL) as api:
        itself = await api.post(f"/api/v1/crm/accounts/{a}/merge", json={"merge_id": a})
        missing = await api.post(f"/api/v1/crm/accounts/{a}/merge", json={})
        foreign = await api.post("/api/v1/crm/accounts/999999999/merge", json={})
        r = await api.post(f"/api/v1/crm/accounts/{a}/merge", json={"merge_id": b})
        again = await api.post(f"/api/v1/crm/accounts/{a}/merge", json={"merge_id": b})
        merged = await api.get(f"/api/v1/crm/accounts/{b}")
    assert (itself.status_code, problem_of(itself)["code"]) == (422, "merge_into_self")
    assert [e["field"] for e in problem_of(missing)["errors"]] == ["merge_id"]
    assert foreign.status_code == 404
    assert r.status_code == 200
    assert (r.json()["merged_id"], r.json()["moved"]) == (b, {"crm_contacts.account_id": 1})
    assert r.json()["account"]["email"] == f"drop@{m}.example"
    assert (again.status_code, problem_of(again)["code"]) == (409, "account_already_merged")
    assert merged.status_code == 404
    assert await outbox_count(ACCOUNTS_MERGED) == events + 1


async def test_scopes_are_permissions_and_record_rules_apply(app, acme):
    account = await new_account(acme, "alice")
    async with api_as(app, acme, [CRM_LEAD_READ]) as api:
        assert (await api.get("/api/v1/crm/accounts")).status_code == 403
        assert (await api.post("/api/v1/crm/accounts", json={"name": "x"})).status_code == 403
    async with api_as(app, acme, [CRM_ACCOUNT_READ]) as api:
        assert (await api.get(f"/api/v1/crm/accounts/{account}")).status_code == 200
        assert (await api.patch(f"/api/v1/crm/accounts/{account}", json={"name": "x"})).status_code == 403
        assert (
            await api.post(f"/api/v1/crm/accounts/{account}/merge", json={"merge_id": 1})
        ).status_code == 403
