"""The finance JSON API: chart, journal (manual entries with Idempotency-Key), trial balance;
bad input answers a problem and writes nothing."""

from __future__ import annotations

import uuid

from app.security.permissions import FIN_JOURNAL_POST, FIN_LEDGER_READ
from tests.crm.support import api_as, problem_of
from tests.finance.settings_support import cost_centre
from tests.finance.support import codes, fresh_month, ledger_counts


def body(c: dict[str, str], on, debit: str = "250.00", credit: str = "250.00", **extra) -> dict:
    return {
        "date": on.isoformat(),
        "journal": "payments",
        "memo": "office supplies",
        "lines": [
            {"account": c["admin_expense"], "debit": debit, "cost_centre": "HQ"},
            {"account": c["bank"], "credit": credit},
        ],
        **extra,
    }


async def test_the_chart_and_an_account_are_listed(app, acme):
    c = await codes(acme)
    async with api_as(app, acme, [FIN_LEDGER_READ]) as api:
        page = (await api.get("/api/v1/finance/accounts", params={"limit": 200})).json()
        groups = (await api.get("/api/v1/finance/accounts", params={"postable": "false"})).json()
        bank = next(a for a in page["items"] if a["code"] == c["bank"])
        one = await api.get(f"/api/v1/finance/accounts/{bank['id']}")
        missing = await api.get("/api/v1/finance/accounts/987654321")
    assert one.status_code == 200
    assert one.json() == bank
    assert groups["items"]
    assert all(not a["postable"] for a in groups["items"])
    assert problem_of(missing)["code"] == "not_found"


async def test_a_manual_entry_is_posted_once_per_idempotency_key(app, acme):
    c, on = await codes(acme), fresh_month()
    await cost_centre(acme, "HQ")  # lines name active cost centres (docs/finance-settings.md)
    key = uuid.uuid4().hex
    async with api_as(app, acme, [FIN_LEDGER_READ, FIN_JOURNAL_POST]) as api:
        first = await api.post("/api/v1/finance/entries", json=body(c, on), headers={"Idempotency-Key": key})
        again = await api.post("/api/v1/finance/entries", json=body(c, on), headers={"Idempotency-Key": key})
        listed = await api.get("/api/v1/finance/entries", params={"period": f"{on:%Y-%m}"})
        item = await api.get(f"/api/v1/finance/entries/{first.json()['id']}")
        tb = await api.get("/api/v1/finance/trial-balance", params={"period": f"{on:%Y-%m}"})
    assert first.status_code == 201, first.text
    entry = first.json()
    assert entry["number"] == f"付-{on:%Y-%m}-0001"
    assert entry["total"] == "250.00"
    assert entry["lines"][0]["cost_centre"] == "HQ"
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [e["id"] for e in listed.json()["items"]] == [entry["id"]]
    assert item.json() == entry
    report = tb.json()
    assert report["balanced"]
    assert report["totals"]["period_debit"] == report["totals"]["period_credit"] == "250.00"


async def test_bad_entries_are_refused_with_field_errors_and_nothing_written(app, acme):
    c, on = await codes(acme), fresh_month()
    await cost_centre(acme, "HQ")
    before = await ledger_counts(acme)
    unknown = body(c, on)
    unknown["lines"][1]["account"] = "0000"
    async with api_as(app, acme, [FIN_LEDGER_READ, FIN_JOURNAL_POST]) as api:
        unbalanced = await api.post("/api/v1/finance/entries", json=body(c, on, credit="249.99"))
        negative = await api.post(
            "/api/v1/finance/entries", json=body(c, on, debit="-250.00", credit="-250.00")
        )
        not_a_number = await api.post("/api/v1/finance/entries", json=body(c, on, debit="lots"))
        no_account = await api.post("/api/v1/finance/entries", json=unknown)
        wrong_type = await api.post("/api/v1/finance/entries", json=body(c, on, debit=250))
        unknown_field = await api.post("/api/v1/finance/entries", json=body(c, on, status="posted"))
        bad_period = await api.get("/api/v1/finance/trial-balance", params={"period": "2026-13"})
        bad_filter = await api.get("/api/v1/finance/entries", params={"period": "last"})
    assert (unbalanced.status_code, problem_of(unbalanced)["code"]) == (422, "unbalanced_entry")
    assert problem_of(unbalanced)["errors"][0]["field"] == "lines"
    assert (negative.status_code, problem_of(negative)["code"]) == (422, "negative_amount")
    assert problem_of(negative)["errors"][0]["field"] == "lines.0.debit"
    assert (not_a_number.status_code, problem_of(not_a_number)["code"]) == (422, "invalid_amount")
    assert (no_account.status_code, problem_of(no_account)["errors"][0]["field"]) == (422, "lines.1.account")
    assert wrong_type.status_code == 400
    assert unknown_field.status_code == 400
    assert (bad_period.status_code, problem_of(bad_period)["code"]) == (422, "invalid_period")
    assert bad_filter.status_code == 422
    assert await ledger_counts(acme) == before


async def test_scopes_are_the_finance_permissions(app, acme):
    c, on = await codes(acme), fresh_month()
    await cost_centre(acme, "HQ")
    async with api_as(app, acme, [FIN_LEDGER_READ]) as reader:
        refused = await reader.post("/api/v1/finance/entries", json=body(c, on))
    async with api_as(app, acme, [FIN_JOURNAL_POST]) as poster:
        blind = await poster.get("/api/v1/finance/entries")
    assert problem_of(refused)["code"] == "forbidden"
    assert blind.status_code == 403
