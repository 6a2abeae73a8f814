"""The payables API: suppliers, bills (Idempotency-Key), supplier payments and allocations, ageing
and statements; bad input answers a problem naming the field and writes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

from app.security.permissions import FIN_PAYABLE_READ, FIN_PAYABLE_WRITE
from tests.crm.support import api_as, problem_of
from tests.finance.payables_support import counts, make_centres, make_split_rule, unique
from tests.finance.support import codes, fresh_month

RW = [FIN_PAYABLE_READ, FIN_PAYABLE_WRITE]


def bill_body(supplier_id: int, on, **extra) -> dict:
    return {
        "supplier_id": supplier_id,
        "supplier_reference": extra.pop("supplier_reference", unique("INV")),
        "bill_date": on.isoformat(),
        "lines": extra.pop("lines", [{"description": "Toner", "net_amount": "100.00", "tax_rate": "STD"}]),
        **extra,
    }


async def test_suppliers_are_created_listed_read_and_changed(app, acme):
    code = unique("S")
    async with api_as(app, acme, RW) as api:
        created = await api.post(
            "/api/v1/finance/suppliers",
            json={"code": code, "name": "Ningbo Fasteners", "payment_terms_days": 60, "tax_id": "913302"},
        )
        supplier = created.json()
        listed = await api.get("/api/v1/finance/suppliers", params={"q": code})
        one = await api.get(f"/api/v1/finance/suppliers/{supplier['id']}")
        changed = await api.patch(
            f"/api/v1/finance/suppliers/{supplier['id']}", json={"active": False, "tax_id": None}
        )
        inactive = await api.get("/api/v1/finance/suppliers", params={"q": code, "active": "false"})
        missing = await api.get("/api/v1/finance/suppliers/987654321")
    assert created.status_code == 201, created.text
    assert created.headers["location"].endswith(f"/suppliers/{supplier['id']}")
    assert (supplier["currency"], supplier["payment_terms_days"], supplier["balance"]) == ("CNY", 60, "0.00")
    assert [s["id"] for s in listed.json()["items"]] == [supplier["id"]]
    assert one.json() == supplier
    assert changed.status_code == 200
    assert (changed.json()["active"], changed.json()["tax_id"], changed.json()["name"]) == (
        False,
        None,
        "Ningbo Fasteners",
    )
    assert [s["id"] for s in inactive.json()["items"]] == [supplier["id"]]
    assert problem_of(missing)["code"] == "not_found"


async def test_bad_suppliers_are_refused_and_nothing_written(app, acme):
    taken = unique("S")
    async with api_as(app, acme, RW) as api:
        await api.post("/api/v1/finance/suppliers", json={"code": taken, "name": "Taken"})
        before = await counts(acme)
        duplicate = await api.post("/api/v1/finance/suppliers", json={"code": taken, "name": "Again"})
        terms = await api.post(
            "/api/v1/finance/suppliers", json={"code": unique("S"), "name": "X", "payment_terms_days": 400}
        )
        blank = await api.post("/api/v1/finance/suppliers", json={"code": " ", "name": "X"})
        wrong_type = await api.post("/api/v1/finance/suppliers", json={"code": unique("S"), "name": 5})
        unknown = await api.post(
            "/api/v1/finance/suppliers", json={"code": unique("S"), "name": "X", "vip": 1}
        )
    assert (duplicate.status_code, problem_of(duplicate)["code"]) == (409, "duplicate_supplier_code")
    assert problem_of(duplicate)["errors"][0]["field"] == "code"
    assert (terms.status_code, problem_of(terms)["errors"][0]["field"]) == (422, "payment_terms_days")
    assert (blank.status_code, problem_of(blank)["code"]) == (422, "required")
    assert wrong_type.status_code == 400
    assert unknown.status_code == 400
    assert await counts(acme) == before


async def test_a_bill_is_entered_once_per_idempotency_key_and_read_back(app, acme):
    c, on = await codes(acme), fresh_month()
    a, b = await make_centres(acme, 2)
    halves = await make_split_rule(acme, [(a, "50"), (b, "50")])
    key = uuid.uuid4().hex
    async with api_as(app, acme, RW) as api:
        supplier = (
            await api.post("/api/v1/finance/suppliers", json={"code": unique("S"), "name": "Rent Co"})
        ).json()
        body = bill_body(
            supplier["id"],
            on,
            lines=[
                {"description": "Rent", "net_amount": "1000.01", "tax_rate": "RED", "split_rule": halves},
                {"description": "Desk", "net_amount": "250.00", "account": c["inventory"], "cost_centre": a},
            ],
        )
        first = await api.post("/api/v1/finance/bills", json=body, headers={"Idempotency-Key": key})
        again = await api.post("/api/v1/finance/bills", json=body, headers={"Idempotency-Key": key})
        bill = first.json()
        one = await api.get(f"/api/v1/finance/bills/{bill['id']}")
        listed = await api.get(
            "/api/v1/finance/bills", params={"supplier_id": supplier["id"], "status": "open"}
        )
        owed = await api.get(f"/api/v1/finance/suppliers/{supplier['id']}")
    assert first.status_code == 201, first.text
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert bill["number"] == f"BILL-{on.year}-00001"
    assert (bill["subtotal"], bill["tax_total"], bill["total"], bill["open_amount"], bill["status"]) == (
        "1250.01",
        "50.00",
        "1300.01",
        "1300.01",
        "open",
    )
    assert bill["due_date"] == (on + timedelta(days=30)).isoformat()
    assert [
        (ln["line_no"], ln["net_amount"], ln["tax_amount"], ln["cost_centre"], ln["split_rule"])
        for ln in bill["lines"]
    ] == [
        (1, "500.01", "25.00", a, halves),
        (1, "500.00", "25.00", b, halves),
        (2, "250.00", "0.00", a, None),
    ]
    assert one.json() == bill
    assert [x["id"] for x in listed.json()["items"]] == [bill["id"]]
    assert owed.json()["balance"] == "1300.01"


async def test_bad_bills_are_problems_naming_the_field_and_nothing_written(app, acme):
    on = fresh_month()
    async with api_as(app, acme, RW) as api:
        supplier = (
            await api.post("/api/v1/finance/suppliers", json={"code": unique("S"), "name": "X"})
        ).json()
        sid = supplier["id"]
        await api.post("/api/v1/finance/bills", json=bill_body(sid, on, supplier_reference="DUP-1"))
        before = await counts(acme)
        duplicate = await api.post(
            "/api/v1/finance/bills", json=bill_body(sid, on, supplier_reference="dup-1")
        )
        currency = await api.post("/api/v1/finance/bills", json=bill_body(sid, on, currency="USD"))
        account = await api.post(
            "/api/v1/finance/bills",
            json=bill_body(sid, on, lines=[{"description": "x", "net_amount": "1", "account": "0000"}]),
        )
        negative = await api.post(
            "/api/v1/finance/bills", json=bill_body(sid, on, lines=[{"description": "x", "net_amount": "-1"}])
        )
        no_supplier = await api.post("/api/v1/finance/bills", json=bill_body(987654321, on))
        number_type = await api.post(
            "/api/v1/finance/bills", json=bill_body(sid, on, lines=[{"description": "x", "net_amount": 1}])
        )
        unknown_field = await api.post("/api/v1/finance/bills", json=bill_body(sid, on, status="paid"))
        bad_filter = await api.get("/api/v1/finance/bills", params={"status": "lost"})
    assert (duplicate.status_code, problem_of(duplicate)["code"]) == (409, "duplicate_supplier_reference")
    assert (currency.status_code, problem_of(currency)["code"]) == (422, "currency_mismatch")
    assert problem_of(currency)["errors"][0]["field"] == "currency"
    assert (account.status_code, problem_of(account)["errors"][0]["field"]) == (422, "lines.0.account")
    assert (negative.status_code, problem_of(negative)["code"]) == (422, "negative_amount")
    assert (no_supplier.status_code, problem_of(no_supplier)["code"]) == (422, "unknown_supplier")
    assert number_type.status_code == 400
    assert unknown_field.status_code == 400
    assert bad_filter.status_code == 400
    assert await counts(acme) == before


async def test_a_supplier_is_paid_an_advance_is_allocated_and_the_ageing_and_statement_agree(app, acme):
    on = fresh_month()
    async with api_as(app, acme, RW) as api:
        sid = (await api.post("/api/v1/finance/suppliers", json={"code": unique("S"), "name": "Y"})).json()[
            "id"
        ]
        bill = (await api.post("/api/v1/finance/bills", json=bill_body(sid, on))).json()  # 120.00
        key = uuid.uuid4().hex
        body = {
            "supplier_id": sid,
            "payment_date": (on + timedelta(days=1)).isoformat(),
            "amount": "200.00",
            "reference": "TT-1",
            "allocations": [{"bill_id": bill["id"], "amount": "100.00"}],
        }
        paid = await api.post(
            "/api/v1/finance/supplier-payments", json=body, headers={"Idempotency-Key": key}
        )
        again = await api.post(
            "/api/v1/finance/supplier-payments", json=body, headers={"Idempotency-Key": key}
        )
        payment = paid.json()
        allocated = await api.post(
            f"/api/v1/finance/supplier-payments/{payment['id']}/allocations",
            json={
                "allocations": [{"bill_id": bill["id"], "amount": "20.00"}],
                "on": (on + timedelta(days=2)).isoformat(),
            },
        )
        one = await api.get(f"/api/v1/finance/supplier-payments/{payment['id']}")
        listed = await api.get(
            "/api/v1/finance/supplier-payments", params={"supplier_id": sid, "unallocated": "true"}
        )
        settled = await api.get(f"/api/v1/finance/bills/{bill['id']}")
        ageing = await api.get(
            "/api/v1/finance/payables/ageing", params={"as_of": (on + timedelta(days=1)).isoformat()}
        )
        statement = await api.get(
            f"/api/v1/finance/suppliers/{sid}/statement",
            params={"from": on.isoformat(), "to": (on + timedelta(days=5)).isoformat()},
        )
        backwards = await api.get(
            f"/api/v1/finance/suppliers/{sid}/statement", params={"from": on.isoformat(), "to": "2000-01-01"}
        )
    assert paid.status_code == 201, paid.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (payment["number"], payment["allocated"], payment["unallocated"], payment["bank_account"]) == (
        f"PAY-{on.year}-00001",
        "100.00",
        "100.00",
        (await codes(acme))["bank"],
    )
    assert allocated.status_code == 200, allocated.text
    assert [(a["bill_id"], a["amount"]) for a in one.json()["allocations"]] == [
        (bill["id"], "100.00"),
        (bill["id"], "20.00"),
    ]
    assert [p["id"] for p in listed.json()["items"]] == [payment["id"]]
    assert (settled.json()["status"], settled.json()["open_amount"]) == ("paid", "0.00")
    assert [a["payment_number"] for a in settled.json()["allocations"]] == [payment["number"]] * 2
    row = next(r for r in ageing.json()["rows"] if r["supplier_id"] == sid)
    assert (row["not_due"], row["open_bills"], row["advances"], row["balance"]) == (
        "20.00",
        "20.00",
        "100.00",
        "-80.00",
    )
    st = statement.json()
    assert (st["opening"], st["billed"], st["paid"], st["closing"]) == ("0.00", "120.00", "200.00", "-80.00")
    assert [x["kind"] for x in st["lines"]] == ["bill", "payment"]
    assert (backwards.status_code, problem_of(backwards)["code"]) == (422, "invalid_date_range")


async def test_bad_payments_are_problems_and_nothing_written(app, acme):
    on = fresh_month()
    async with api_as(app, acme, RW) as api:
        sid = (await api.post("/api/v1/finance/suppliers", json={"code": unique("S"), "name": "Z"})).json()[
            "id"
        ]
        other = (await api.post("/api/v1/finance/suppliers", json={"code": unique("S"), "name": "W"})).json()[
            "id"
        ]
        bill = (await api.post("/api/v1/finance/bills", json=bill_body(sid, on))).json()
        foreign = (await api.post("/api/v1/finance/bills", json=bill_body(other, on))).json()
        advance = (
            await api.post(
                "/api/v1/finance/supplier-payments",
                json={"supplier_id": sid, "payment_date": on.isoformat(), "amount": "10.00"},
            )
        ).json()
        before = await counts(acme)

        async def pay(**kw):
            body = {"supplier_id": sid, "payment_date": on.isoformat(), "amount": "50.00", **kw}
            return await api.post("/api/v1/finance/supplier-payments", json=body)

        over = await pay(allocations=[{"bill_id": bill["id"], "amount": "120.01"}], amount="200.00")
        above = await pay(allocations=[{"bill_id": bill["id"], "amount": "60.00"}])
        theirs = await pay(allocations=[{"bill_id": foreign["id"], "amount": "5.00"}])
        dollars = await pay(currency="USD")
        method = await pay(method="barter")
        empty = await api.post(f"/api/v1/finance/supplier-payments/{advance['id']}/allocations", json={})
        missing = await api.post("/api/v1/finance/supplier-payments/987654321/allocations", json={})
    assert (over.status_code, problem_of(over)["code"]) == (422, "payment_exceeds_open_amount")
    assert problem_of(over)["errors"][0]["field"] == "allocations.0.amount"
    assert problem_of(above)["code"] == "allocations_exceed_payment"
    assert problem_of(theirs)["code"] == "bill_of_another_supplier"
    assert problem_of(dollars)["code"] == "currency_mismatch"
    assert method.status_code == 400
    assert (empty.status_code, problem_of(empty)["code"]) == (422, "no_allocations")
    assert missing.status_code == 404
    assert await counts(acme) == before


async def test_a_bill_is_cancelled_through_the_api(app, acme):
    on = fresh_month()
    async with api_as(app, acme, RW) as api:
        sid = (await api.post("/api/v1/finance/suppliers", json={"code": unique("S"), "name": "V"})).json()[
            "id"
        ]
        bill = (await api.post("/api/v1/finance/bills", json=bill_body(sid, on))).json()
        cancelled = await api.post(f"/api/v1/finance/bills/{bill['id']}/cancel", json={})
        twice = await api.post(f"/api/v1/finance/bills/{bill['id']}/cancel", json={})
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["cancelled_on"]) == ("cancelled", on.isoformat())
    assert (twice.status_code, problem_of(twice)["code"]) == (409, "bill_already_cancelled")


async def test_scopes_are_the_payable_permissions(app, acme):
    async with api_as(app, acme, [FIN_PAYABLE_READ]) as reader:
        refused = await reader.post("/api/v1/finance/suppliers", json={"code": unique("S"), "name": "R"})
        allowed = await reader.get("/api/v1/finance/payables/ageing")
    async with api_as(app, acme, [FIN_PAYABLE_WRITE]) as writer:
        blind = await writer.get("/api/v1/finance/bills")
    assert problem_of(refused)["code"] == "forbidden"
    assert allowed.status_code == 200
    assert blind.status_code == 403
