"""Cost centres and split rules through the API, the posting door's cost-centre check, and the
report of income and expenses by cost centre."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.finance.errors import UnknownCostCentre
from app.finance.services import posting, split_rules
from app.finance.services.posting import PostingLine, PostingRequest
from app.security.permissions import FIN_JOURNAL_POST, FIN_LEDGER_READ, FIN_SETTINGS_MANAGE
from tenants.service import in_tenant
from tests.crm.support import api_as, problem_of
from tests.finance.settings_support import cost_centre, fresh_year, snapshot, unique
from tests.finance.support import codes, fresh_month, ledger_counts

CENTRES = "/api/v1/finance/cost-centres"
RULES = "/api/v1/finance/split-rules"
MANAGE = [FIN_LEDGER_READ, FIN_SETTINGS_MANAGE, FIN_JOURNAL_POST]


def expense(c: dict[str, str], on: date, amount: str, centre: str | None) -> dict:
    return {
        "date": on.isoformat(),
        "lines": [
            {"account": c["admin_expense"], "debit": amount, "cost_centre": centre},
            {"account": c["bank"], "credit": amount},
        ],
    }


async def test_cost_centres_are_added_renamed_and_deactivated(app, acme):
    code = unique("CC-")
    async with api_as(app, acme, MANAGE) as api:
        made = await api.post(CENTRES, json={"code": code, "name": "Sales East"})
        centre = made.json()
        renamed = await api.patch(f"{CENTRES}/{centre['id']}", json={"name": "Sales — East"})
        recoded = await api.patch(f"{CENTRES}/{centre['id']}", json={"code": code + "X"})
        off = await api.patch(f"{CENTRES}/{centre['id']}", json={"active": False})
        listed = (await api.get(CENTRES)).json()["items"]
        one = await api.get(f"{CENTRES}/{centre['id']}")
    assert made.status_code == 201, made.text
    assert centre | {"id": 0} == {"id": 0, "code": code, "name": "Sales East", "active": True}
    assert renamed.json()["name"] == "Sales — East"
    assert recoded.json()["code"] == code + "X"
    assert off.json()["active"] is False
    assert one.json() in listed


async def test_bad_cost_centres_are_refused_and_nothing_written(app, acme):
    code = unique("CC-")
    async with api_as(app, acme, MANAGE) as api:
        first = (await api.post(CENTRES, json={"code": code, "name": "One"})).json()
        other = (await api.post(CENTRES, json={"code": code + "B", "name": "Two"})).json()
        before = await snapshot(acme)
        dup = await api.post(CENTRES, json={"code": code.lower(), "name": "Again"})
        chars = await api.post(CENTRES, json={"code": "no spaces", "name": "X"})
        blank = await api.post(CENTRES, json={"code": "", "name": ""})
        long = await api.post(CENTRES, json={"code": "x" * 41, "name": "X"})
        taken = await api.patch(f"{CENTRES}/{other['id']}", json={"code": code})
        unnamed = await api.patch(f"{CENTRES}/{first['id']}", json={"name": " "})
        missing = await api.patch(f"{CENTRES}/987654321", json={"name": "X"})
    assert problem_of(dup)["errors"] == [
        {"field": "code", "message": f"Another cost centre already has the code {code.lower()}."}
    ]
    assert problem_of(chars)["errors"][0]["field"] == "code"
    assert [e["field"] for e in problem_of(blank)["errors"]] == ["code", "name"]
    assert long.status_code == 400
    assert problem_of(taken)["errors"][0]["field"] == "code"
    assert problem_of(unnamed)["errors"][0]["field"] == "name"
    assert missing.status_code == 404
    assert await snapshot(acme) == before


async def test_the_posting_door_takes_only_active_cost_centres(app, acme):
    c, on = await codes(acme), fresh_month()
    code = unique("CC-")
    await cost_centre(acme, code)
    await cost_centre(acme, code + "-OLD", active=False)
    before = await ledger_counts(acme)
    async with api_as(app, acme, MANAGE) as api:
        unknown = await api.post("/api/v1/finance/entries", json=expense(c, on, "5.00", "NOWHERE"))
        inactive = await api.post("/api/v1/finance/entries", json=expense(c, on, "5.00", code + "-OLD"))
        assert await ledger_counts(acme) == before
        posted = await api.post("/api/v1/finance/entries", json=expense(c, on, "5.00", code))
        entry = posted.json()
        centre_id = next(x["id"] for x in (await api.get(CENTRES)).json()["items"] if x["code"] == code)
        recode = await api.patch(f"{CENTRES}/{centre_id}", json={"code": code + "-NEW"})
        await api.patch(f"{CENTRES}/{centre_id}", json={"active": False})
    problem = problem_of(unknown)
    assert (unknown.status_code, problem["code"]) == (422, "unknown_cost_centre")
    assert problem["errors"] == [
        {"field": "lines.0.cost_centre", "message": "There is no active cost centre NOWHERE."}
    ]
    assert problem_of(inactive)["code"] == "unknown_cost_centre"
    assert posted.status_code == 201, posted.text
    assert entry["lines"][0]["cost_centre"] == code
    assert (recode.status_code, problem_of(recode)["code"]) == (409, "cost_centre_in_use")
    async with in_tenant(acme.slug) as (session, _):
        # A reversal mirrors an accepted entry: a cost centre deactivated since does not stop it.
        undo = await posting.reverse(session, None, entry["id"])
        assert undo.number
        with pytest.raises(UnknownCostCentre):
            await posting.post(
                session,
                None,
                PostingRequest(
                    date=on,
                    lines=[
                        PostingLine(c["admin_expense"], debit=Decimal("1.00")),
                        PostingLine(c["bank"], credit=Decimal("1.00"), cost_centre=code),
                    ],
                ),
            )


async def test_split_rules_share_100_percent_with_the_residual_on_the_last_share(app, acme):
    names = [unique("S-") for _ in range(3)]
    for name in names:
        await cost_centre(acme, name)
    shares = [
        {"cost_centre": names[0], "percent": "33.3333"},
        {"cost_centre": names[1], "percent": "33.3333"},
        {"cost_centre": names[2], "percent": "33.3334"},
    ]
    async with api_as(app, acme, MANAGE) as api:
        made = await api.post(RULES, json={"code": unique("R-"), "name": "Shared office", "shares": shares})
        rule = made.json()
        reordered = await api.patch(
            f"{RULES}/{rule['id']}", json={"shares": [shares[2], shares[0], shares[1]]}
        )
        halves = await api.patch(
            f"{RULES}/{rule['id']}",
            json={
                "shares": [
                    {"cost_centre": names[0], "percent": "50"},
                    {"cost_centre": names[1], "percent": "50"},
                ]
            },
        )
        listed = (await api.get(RULES)).json()["items"]
    assert made.status_code == 201, made.text
    assert rule["shares"] == shares
    assert rule["example"] == [
        {"cost_centre": names[0], "amount": "33.33"},
        {"cost_centre": names[1], "amount": "33.33"},
        {"cost_centre": names[2], "amount": "33.34"},
    ]
    assert [p["cost_centre"] for p in reordered.json()["example"]] == [names[2], names[0], names[1]]
    assert [p["amount"] for p in reordered.json()["example"]] == ["33.33", "33.33", "33.34"]
    assert halves.json()["example"] == [
        {"cost_centre": names[0], "amount": "50.00"},
        {"cost_centre": names[1], "amount": "50.00"},
    ]
    assert halves.json() in listed
    async with in_tenant(acme.slug) as (session, _):
        parts = await split_rules.split_by_rule(session, rule["id"], Decimal("0.05"))
    assert parts == [(names[0], Decimal("0.03")), (names[1], Decimal("0.02"))]


async def test_bad_split_rules_are_refused_and_nothing_written(app, acme):
    a, b = unique("S-"), unique("S-")
    await cost_centre(acme, a)
    await cost_centre(acme, b)
    await cost_centre(acme, a + "-OFF", active=False)

    def rule(*shares: tuple[str, str], **over: str) -> dict:
        body = {
            "code": unique("R-"),
            "name": "Rule",
            "shares": [{"cost_centre": c, "percent": p} for c, p in shares],
        }
        return body | over

    async with api_as(app, acme, MANAGE) as api:
        good = (await api.post(RULES, json=rule((a, "60"), (b, "40")))).json()
        centre_id = next(x["id"] for x in (await api.get(CENTRES)).json()["items"] if x["code"] == a)
        before = await snapshot(acme)
        short = await api.post(RULES, json=rule((a, "33.3333"), (b, "66.6666")))
        over = await api.post(RULES, json=rule((a, "60"), (b, "40.0001")))
        cases = {
            "five-decimals": rule((a, "50.00001"), (b, "49.99999")),
            "zero": rule((a, "0"), (b, "100")),
            "negative": rule((a, "-10"), (b, "110")),
            "words": rule((a, "half"), (b, "50")),
            "twice": rule((a, "50"), (a, "50")),
            "inactive": rule((a + "-OFF", "50"), (b, "50")),
            "unknown": rule(("NOWHERE", "100")),
            "none": rule(),
            "code": rule((a, "100"), code=good["code"].lower()),
        }
        answers = {k: await api.post(RULES, json=v) for k, v in cases.items()}
        edit = await api.patch(
            f"{RULES}/{good['id']}", json={"shares": [{"cost_centre": a, "percent": "99"}]}
        )
        keep = await api.patch(f"{CENTRES}/{centre_id}", json={"active": False})
        number = await api.post(RULES, json=rule() | {"shares": [{"cost_centre": a, "percent": 100}]})
        assert await snapshot(acme) == before
        rule_off = await api.patch(f"{RULES}/{good['id']}", json={"active": False})
        centre_off = await api.patch(f"{CENTRES}/{centre_id}", json={"active": False})
        rule_on = await api.patch(f"{RULES}/{good['id']}", json={"active": True})
    for r, total in ((short, "99.9999"), (over, "100.0001"), (edit, "99")):
        problem = problem_of(r)
        assert (r.status_code, problem["code"]) == (422, "shares_must_total_100")
        assert problem["errors"] == [
            {
                "field": "shares",
                "message": f"The shares add up to {total} %: they must add up to exactly 100 %.",
            }
        ]
    fields = {k: [e["field"] for e in problem_of(r)["errors"]] for k, r in answers.items()}
    assert fields == {
        "five-decimals": ["shares.0.percent", "shares.1.percent"],
        "zero": ["shares.0.percent"],
        "negative": ["shares.0.percent", "shares.1.percent"],
        "words": ["shares.0.percent"],
        "twice": ["shares.1.cost_centre"],
        "inactive": ["shares.0.cost_centre"],
        "unknown": ["shares.0.cost_centre"],
        "none": ["shares"],
        "code": ["code"],
    }
    assert (keep.status_code, problem_of(keep)["code"]) == (409, "cost_centre_in_use")
    assert number.status_code == 400
    assert rule_off.json()["active"] is False
    assert centre_off.json()["active"] is False
    assert problem_of(rule_on)["errors"][0]["field"] == "shares.0.cost_centre"


async def test_income_and_expenses_by_cost_centre(app, acme):
    c = await codes(acme)
    year = fresh_year()
    sales, ops = unique("CS-"), unique("CO-")
    await cost_centre(acme, sales)
    await cost_centre(acme, ops)
    async with in_tenant(acme.slug) as (session, _):
        lines = [
            [
                PostingLine(c["bank"], debit=Decimal("1000.00")),
                PostingLine(c["revenue"], credit=Decimal("1000.00"), cost_centre=sales),
            ],
            [
                PostingLine(c["admin_expense"], debit=Decimal("300.00"), cost_centre=sales),
                PostingLine(c["admin_expense"], debit=Decimal("200.00"), cost_centre=ops),
                PostingLine(c["selling_expense"], debit=Decimal("50.00")),
                PostingLine(c["bank"], credit=Decimal("550.00")),
            ],
        ]
        for k, entry_lines in enumerate(lines):
            await posting.post(session, None, PostingRequest(date=date(year, 3, 1 + k), lines=entry_lines))
        # outside the range
        await posting.post(
            session,
            None,
            PostingRequest(
                date=date(year, 5, 1),
                lines=[
                    PostingLine(c["admin_expense"], debit=Decimal("7.00"), cost_centre=ops),
                    PostingLine(c["bank"], credit=Decimal("7.00")),
                ],
            ),
        )
    params = {"from": f"{year}-03-01", "to": f"{year}-03-31"}
    async with api_as(app, acme, [FIN_LEDGER_READ]) as api:
        report = (await api.get("/api/v1/finance/cost-centre-report", params=params)).json()
        backwards = await api.get(
            "/api/v1/finance/cost-centre-report", params={"from": params["to"], "to": params["from"]}
        )
        not_a_date = await api.get(
            "/api/v1/finance/cost-centre-report", params={"from": "March", "to": params["to"]}
        )
    summary = [(x["cost_centre"], x["income"], x["expense"], x["result"]) for x in report["centres"]]
    assert sorted(summary[:2]) == sorted(
        [(sales, "1000.00", "300.00", "700.00"), (ops, "0.00", "200.00", "-200.00")]
    )
    assert summary[2] == (None, "0.00", "50.00", "-50.00")
    assert (report["income"], report["expense"], report["result"]) == ("1000.00", "550.00", "450.00")
    sales_row = next(x for x in report["centres"] if x["cost_centre"] == sales)
    assert sales_row["name"] == f"Centre {sales}"
    assert sales_row["accounts"][0]["code"] == c["revenue"]
    assert (backwards.status_code, problem_of(backwards)["errors"][0]["field"]) == (422, "to")
    assert not_a_date.status_code == 400


async def test_changing_cost_centres_needs_the_settings_permission(app, acme):
    async with api_as(app, acme, [FIN_LEDGER_READ]) as api:
        listed = await api.get(CENTRES)
        created = await api.post(CENTRES, json={"code": unique("CC-"), "name": "X"})
        rule = await api.post(RULES, json={"code": unique("R-"), "name": "X", "shares": []})
    assert listed.status_code == 200
    assert [created.status_code, rule.status_code] == [403, 403]
