"""The statements API: the hand-made books' figures as decimal strings, the ledger's pages, and
bad parameters answered 422 (400 for a forged cursor) with the parameter named."""

from __future__ import annotations

import pytest

from app.security.permissions import FIN_JOURNAL_POST, FIN_LEDGER_READ
from tests.crm.support import api_as, problem_of
from tests.finance.statement_books import ifrs_books
from tests.tenants.conftest import make_tenant  # noqa: F401  (fixture)

Q1 = {"from": "2026-01-01", "to": "2026-03-31"}


@pytest.fixture
async def books(make_tenant):  # noqa: F811
    return await ifrs_books(await make_tenant("fsa"))


def lines(body: dict) -> dict[str, dict]:
    return {line["key"]: line for line in body["lines"]}


async def test_statements_as_json(app, books):
    async with api_as(app, books.tenant, [FIN_LEDGER_READ]) as api:
        pnl = await api.get("/api/v1/finance/profit-and-loss", params={**Q1, "compare": "year"})
        bs = await api.get(
            "/api/v1/finance/balance-sheet", params={"as_of": "2026-03-31", "compare": "year_start"}
        )
        cash = await api.get("/api/v1/finance/cash-report", params=Q1)
        custom = await api.get(
            "/api/v1/finance/profit-and-loss",
            params={**Q1, "compare": "custom", "compare_from": "2026-01-01", "compare_to": "2026-01-31"},
        )
    assert pnl.status_code == 200, pnl.text
    body = pnl.json()
    assert (body["kind"], body["chart"]) == ("profit_and_loss", "ifrs")
    assert body["period"] == {"start": "2026-01-01", "end": "2026-03-31"}
    assert body["comparison"] == {"start": "2025-01-01", "end": "2025-03-31"}
    net = lines(body)["net_profit"]
    assert (net["kind"], net["label"], net["current"], net["comparison"]) == (
        "total",
        "Net profit",
        "1850.00",
        "500.00",
    )
    assert (net["change"], net["change_percent"]) == ("1350.00", "270.0")
    revenue = lines(body)["4000"]
    assert (revenue["kind"], revenue["account_id"], revenue["current"]) == (
        "account",
        books.accounts["4000"],
        "3000.00",
    )

    sheet = bs.json()
    assert sheet["balanced"] is True
    assert sheet["period"] == {"start": None, "end": "2026-03-31"}
    assert lines(sheet)["total_assets"]["current"] == "3940.00"
    assert lines(sheet)["total_liabilities_and_equity"]["comparison"] == "500.00"

    report = cash.json()
    assert report["comparison"] is None
    assert report["total"] == {
        "account_id": None,
        "code": "",
        "name": "",
        "opening": "500.00",
        "money_in": "1230.00",
        "money_out": "450.00",
        "closing": "1280.00",
    }
    assert lines({"lines": report["summary"]})["in_customers"]["current"] == "1130.00"
    assert lines(custom.json())["net_profit"]["comparison"] == "400.00"


async def test_the_ledger_pages(app, books):
    bank = books.accounts["1010"]
    url = f"/api/v1/finance/accounts/{bank}/ledger"
    async with api_as(app, books.tenant, [FIN_LEDGER_READ]) as api:
        first = (await api.get(url, params={**Q1, "limit": 3})).json()
        second = (await api.get(url, params={**Q1, "limit": 3, "cursor": first["next_cursor"]})).json()
    assert (first["opening"], first["debit"], first["credit"], first["closing"]) == (
        "500.00",
        "1130.00",
        "450.00",
        "1180.00",
    )
    assert first["account"]["code"] == "1010"
    assert [x["balance"] for x in first["lines"]] == ["1630.00", "1330.00", "1280.00"]
    assert first["lines"][0]["source_type"] == "finance.payment"
    assert first["lines"][0]["partner_id"] == books.customer_id
    assert [x["balance"] for x in second["lines"]] == ["1180.00"]
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    ("path", "params", "code", "field"),
    [
        ("profit-and-loss", {}, "invalid_date", "from"),
        ("profit-and-loss", {"from": "2026-01-01", "to": "31/03/2026"}, "invalid_date", "to"),
        ("profit-and-loss", {"from": "2026-04-01", "to": "2026-03-31"}, "invalid_date_range", "to"),
        ("profit-and-loss", {**Q1, "compare": "quarter"}, "invalid_comparison", "compare"),
        (
            "profit-and-loss",
            {**Q1, "compare": "custom", "compare_from": "2025-01-01"},
            "invalid_date",
            "compare_to",
        ),
        ("profit-and-loss", {"from": "0001-01-01", "to": "2026-03-31"}, "invalid_date", "from"),
        ("balance-sheet", {}, "invalid_date", "as_of"),
        ("balance-sheet", {"as_of": "2026-03-31", "compare": "custom"}, "invalid_date", "compare_as_of"),
        ("balance-sheet", {"as_of": "2026-03-31", "compare": "x" * 500}, "invalid_comparison", "compare"),
        ("cash-report", {"from": "2026-02-29", "to": "2026-03-31"}, "invalid_date", "from"),
    ],
)
async def test_bad_parameters_are_422_problems(app, acme, path, params, code, field):
    async with api_as(app, acme, [FIN_LEDGER_READ]) as api:
        r = await api.get(f"/api/v1/finance/{path}", params=params)
    problem = problem_of(r)
    assert (r.status_code, problem["code"]) == (422, code)
    assert problem["errors"][0]["field"] == field


async def test_ledger_refusals(app, acme):
    async with api_as(app, acme, [FIN_LEDGER_READ]) as api:
        accounts = (await api.get("/api/v1/finance/accounts", params={"limit": 1})).json()["items"]
        url = f"/api/v1/finance/accounts/{accounts[0]['id']}/ledger"
        bad_dates = await api.get(url, params={"from": "2026-03-31", "to": "2026-01-01"})
        forged = await api.get(url, params={**Q1, "cursor": "not-a-cursor"})
        missing = await api.get("/api/v1/finance/accounts/987654321/ledger", params=Q1)
    async with api_as(app, acme, [FIN_JOURNAL_POST]) as api:
        refused = await api.get("/api/v1/finance/profit-and-loss", params=Q1)
    assert (bad_dates.status_code, problem_of(bad_dates)["code"]) == (422, "invalid_date_range")
    assert (forged.status_code, problem_of(forged)["code"]) == (400, "invalid_cursor")
    assert problem_of(missing)["code"] == "not_found"
    assert refused.status_code == 403
