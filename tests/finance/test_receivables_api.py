"""The receivables API (/api/v1/finance): invoice an order (Idempotency-Key), credit notes,
payments and allocations, lists with filters and paging, ageing and statement; bad input answers
a problem and writes nothing; the scopes are fin.receivable.read / write."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from app.finance.services.receivables import tenant_today
from app.security.permissions import FIN_RECEIVABLE_READ, FIN_RECEIVABLE_WRITE
from tenants.service import in_tenant
from tests.crm.support import api_as, problem_of
from tests.finance.ar_support import customer, draft_order, written

RW = [FIN_RECEIVABLE_READ, FIN_RECEIVABLE_WRITE]
LINES = [("100.00", "2", "20"), ("40.00", "1", "5")]  # IFRS rates: net 240, VAT 40 + 2 → 282.00


async def an_order(tenant: Any, status: str = "confirmed", **kw: Any) -> tuple[int, int]:
    async with in_tenant(tenant.slug) as (session, _):
        buyer = await customer(session, f"API buyer {uuid.uuid4().hex[:8]}")
        order = await draft_order(session, buyer, LINES, status=status, **kw)
        return buyer.id, order.id


async def test_an_order_is_invoiced_once_per_key_credited_paid_and_listed(app, acme):
    buyer, order = await an_order(acme)
    key = uuid.uuid4().hex
    async with api_as(app, acme, RW) as api:
        first = await api.post(
            "/api/v1/finance/invoices", json={"sales_order_id": order}, headers={"Idempotency-Key": key}
        )
        again = await api.post(
            "/api/v1/finance/invoices", json={"sales_order_id": order}, headers={"Idempotency-Key": key}
        )
        other_key = await api.post("/api/v1/finance/invoices", json={"sales_order_id": order})
        assert first.status_code == 201, first.text
        invoice = first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert other_key.json()["id"] == invoice["id"]  # an order already invoiced answers its invoice
        assert first.headers["Location"].endswith(f"/api/v1/finance/invoices/{invoice['id']}")
        assert (invoice["kind"], invoice["account_id"], invoice["sales_order_id"], invoice["status"]) == (
            "invoice",
            buyer,
            order,
            "open",
        )
        assert (invoice["subtotal"], invoice["tax_total"], invoice["total"], invoice["open_amount"]) == (
            "240.00",
            "42.00",
            "282.00",
            "282.00",
        )
        assert [
            (ln["line_no"], ln["quantity"], ln["tax_rate"], ln["net_amount"]) for ln in invoice["lines"]
        ] == [
            (1, "2", "20.00", "200.00"),
            (2, "1", "5.00", "40.00"),
        ]
        note = await api.post(
            f"/api/v1/finance/invoices/{invoice['id']}/credit-notes",
            json={"lines": [{"line_no": 2, "amount": "40.00"}], "memo": "returned"},
        )
        assert note.status_code == 201, note.text
        assert (note.json()["kind"], note.json()["total"], note.json()["credited_invoice_id"]) == (
            "credit_note",
            "42.00",
            invoice["id"],
        )
        paid = await api.post(
            "/api/v1/finance/payments",
            json={"account_id": buyer, "amount": "300.00", "reference": "T/T 1",
                  "allocations": [{"invoice_id": invoice["id"], "amount": "200.00"}]},
        )  # fmt: skip
        assert paid.status_code == 201, paid.text
        payment = paid.json()
        assert (payment["allocated"], payment["unallocated"]) == ("200.00", "100.00")
        allocated = await api.post(
            f"/api/v1/finance/payments/{payment['id']}/allocations",
            json={"allocations": [{"invoice_id": invoice["id"], "amount": "40.00"}]},
            headers={"Idempotency-Key": key + "-allocate"},
        )
        replay = await api.post(
            f"/api/v1/finance/payments/{payment['id']}/allocations",
            json={"allocations": [{"invoice_id": invoice["id"], "amount": "40.00"}]},
            headers={"Idempotency-Key": key + "-allocate"},
        )
        assert allocated.status_code == 200, allocated.text
        assert allocated.json()["unallocated"] == "60.00"
        assert (replay.status_code, replay.headers["Idempotent-Replayed"], replay.json()) == (
            200,
            "true",
            allocated.json(),
        )
        detail = (await api.get(f"/api/v1/finance/invoices/{invoice['id']}")).json()
        assert (detail["status"], detail["paid"], detail["credited"], detail["open_amount"]) == (
            "paid",
            "240.00",
            "42.00",
            "0.00",
        )
        assert [p["amount"] for p in detail["payments"]] == ["200.00", "40.00"]
        assert [n["number"] for n in detail["credit_notes"]] == [note.json()["number"]]
        mine = (await api.get("/api/v1/finance/invoices", params={"account_id": buyer})).json()["items"]
        notes = (
            await api.get("/api/v1/finance/invoices", params={"account_id": buyer, "kind": "credit_note"})
        ).json()
        unpaid = (
            await api.get("/api/v1/finance/invoices", params={"account_id": buyer, "status": "open"})
        ).json()
        payments = (await api.get("/api/v1/finance/payments", params={"account_id": buyer})).json()["items"]
        one = await api.get(f"/api/v1/finance/payments/{payment['id']}")
    assert {i["number"] for i in mine} == {invoice["number"], note.json()["number"]}
    assert [i["kind"] for i in notes["items"]] == ["credit_note"]
    assert unpaid["items"] == []
    assert [p["id"] for p in payments] == [payment["id"]]
    assert [a["amount"] for a in one.json()["allocations"]] == ["200.00", "40.00"]


async def test_lists_page_by_cursor(app, acme):
    buyer, _ = await an_order(acme)
    async with in_tenant(acme.slug) as (session, _):
        from app.finance.services.payments_in import receive_payment

        for n in range(3):
            await receive_payment(session, None, {"account_id": buyer, "amount": f"{n + 1}.00"})
    async with api_as(app, acme, [FIN_RECEIVABLE_READ]) as api:
        page1 = (await api.get("/api/v1/finance/payments", params={"account_id": buyer, "limit": 2})).json()
        page2 = (
            await api.get(
                "/api/v1/finance/payments",
                params={"account_id": buyer, "limit": 2, "cursor": page1["next_cursor"]},
            )
        ).json()
        bad = await api.get("/api/v1/finance/payments", params={"cursor": "nonsense"})
    assert len(page1["items"]) == 2
    assert len(page2["items"]) == 1
    assert page2["next_cursor"] is None
    assert {p["amount"] for p in page1["items"] + page2["items"]} == {"1.00", "2.00", "3.00"}
    assert problem_of(bad)["code"] == "invalid_cursor"


async def test_ageing_and_statement(app, acme):
    buyer, order = await an_order(acme)
    today = tenant_today()
    async with api_as(app, acme, RW) as api:
        await api.post("/api/v1/finance/invoices", json={"sales_order_id": order})
        await api.post("/api/v1/finance/payments", json={"account_id": buyer, "amount": "82.00"})
        ageing = await api.get("/api/v1/finance/receivables/ageing", params={"as_of": today.isoformat()})
        statement = await api.get(
            f"/api/v1/finance/customers/{buyer}/statement",
            params={"from": today.replace(day=1).isoformat(), "to": today.isoformat()},
        )
        backwards = await api.get(
            f"/api/v1/finance/customers/{buyer}/statement",
            params={"from": today.isoformat(), "to": (today - timedelta(days=1)).isoformat()},
        )
        nobody = await api.get("/api/v1/finance/customers/987654321/statement")
        bad_date = await api.get("/api/v1/finance/receivables/ageing", params={"as_of": "soon"})
    row = next(r for r in ageing.json()["rows"] if r["account_id"] == buyer)
    assert (row["current"], row["unallocated"], row["balance"], row["invoices"]) == (
        "282.00",
        "82.00",
        "200.00",
        1,
    )
    st = statement.json()
    assert [(ln["kind"], ln["debit"], ln["credit"], ln["balance"]) for ln in st["lines"]] == [
        ("invoice", "282.00", "0.00", "282.00"),
        ("payment", "0.00", "82.00", "200.00"),
    ]
    assert (st["opening_balance"], st["closing_balance"]) == ("0.00", "200.00")
    assert (backwards.status_code, problem_of(backwards)["errors"][0]["field"]) == (422, "to")
    assert nobody.status_code == 404
    assert bad_date.status_code == 400


async def test_bad_requests_answer_a_problem_and_write_nothing(app, acme):
    buyer, order = await an_order(acme)
    _, draft = await an_order(acme, status="draft")
    _, dollars = await an_order(acme, currency="USD")
    async with api_as(app, acme, RW) as api:
        invoice = (await api.post("/api/v1/finance/invoices", json={"sales_order_id": order})).json()
        before = await written(acme)
        invoices, payments = "/api/v1/finance/invoices", "/api/v1/finance/payments"
        credit_notes = f"{invoices}/{invoice['id']}/credit-notes"

        def pay(amount: Any, *allocations: tuple[int, str], **more: Any) -> dict[str, Any]:
            alloc = [{"invoice_id": i, "amount": a} for i, a in allocations]
            return {"account_id": buyer, "amount": amount, "allocations": alloc, **more}

        answers = {
            "draft": await api.post(invoices, json={"sales_order_id": draft}),
            "dollars": await api.post(invoices, json={"sales_order_id": dollars}),
            "no order": await api.post(invoices, json={"sales_order_id": 987654321}),
            "string id": await api.post(invoices, json={"sales_order_id": "1"}),
            "unknown field": await api.post(invoices, json={"sales_order_id": order, "x": 1}),
            "too much credit": await api.post(
                credit_notes, json={"lines": [{"line_no": 1, "amount": "200.01"}]}
            ),
            "above open": await api.post(payments, json=pay("500", (invoice["id"], "282.01"))),
            "above payment": await api.post(payments, json=pay("5", (invoice["id"], "6"))),
            "currency": await api.post(payments, json=pay("5", currency="USD")),
            "amount": await api.post(payments, json=pay("five")),
            "number amount": await api.post(payments, json=pay(5)),
            "no credit note here": await api.post(f"{invoices}/987654321/credit-notes", json={}),
        }
    expected = {
        "draft": (409, "order_not_invoiceable"),
        "dollars": (422, "currency_mismatch"),
        "no order": (404, "not_found"),
        "string id": (400, None),
        "unknown field": (400, None),
        "too much credit": (422, "credit_exceeds_line"),
        "above open": (422, "payment_exceeds_open_amount"),
        "above payment": (422, "allocations_exceed_payment"),
        "currency": (422, "currency_mismatch"),
        "amount": (422, "validation_failed"),
        "number amount": (400, None),
        "no credit note here": (404, "not_found"),
    }
    got = {
        name: (r.status_code, problem_of(r)["code"] if expected[name][1] else None)
        for name, r in answers.items()
    }
    assert got == expected
    assert problem_of(answers["above open"])["errors"][0]["field"] == "allocations.0.amount"
    assert await written(acme) == before


async def test_scopes_are_the_receivable_permissions(app, acme):
    _, order = await an_order(acme)
    async with api_as(app, acme, [FIN_RECEIVABLE_READ]) as reader:
        refused = await reader.post("/api/v1/finance/invoices", json={"sales_order_id": order})
        listed = await reader.get("/api/v1/finance/invoices")
    async with api_as(app, acme, [FIN_RECEIVABLE_WRITE]) as writer:
        blind = await writer.get("/api/v1/finance/payments")
    assert (refused.status_code, problem_of(refused)["code"]) == (403, "forbidden")
    assert listed.status_code == 200
    assert blind.status_code == 403
