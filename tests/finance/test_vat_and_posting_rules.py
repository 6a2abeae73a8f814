"""The VAT summary (output VAT from invoices minus credit notes, input VAT from bills, the
ledger check) and the posting rules through the API."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from app.finance.services import posting, rules
from app.finance.services.posting import PostingLine, PostingRequest
from app.security.permissions import FIN_JOURNAL_POST, FIN_LEDGER_READ, FIN_SETTINGS_MANAGE
from tenants.service import in_tenant
from tests.crm.support import api_as, problem_of
from tests.finance.settings_support import enter_bill, fresh_year, issue_invoice, snapshot, unique_digits
from tests.finance.support import codes

VAT = "/api/v1/finance/vat-summary"
RULES = "/api/v1/finance/posting-rules"
MANAGE = [FIN_LEDGER_READ, FIN_SETTINGS_MANAGE, FIN_JOURNAL_POST]


async def test_the_vat_summary_adds_invoices_less_credit_notes_and_bills_and_agrees_with_the_ledger(
    app, acme
):
    c = await codes(acme)
    year = fresh_year()
    invoice = await issue_invoice(
        acme, date(year, 4, 2), [("STD", "1000.00"), ("RED", "200.00"), ("ZERO", "50.00")]
    )
    await issue_invoice(acme, date(year, 4, 20), [("STD", "100.00")], kind="credit_note", credited=invoice)
    await enter_bill(acme, date(year, 4, 5), [("STD", "400.00"), ("RED", "33.33")])
    await issue_invoice(acme, date(year, 5, 1), [("STD", "999.00")])  # outside the range
    params = {"from": f"{year}-04-01", "to": f"{year}-04-30"}
    async with api_as(app, acme, [FIN_LEDGER_READ]) as api:
        summary = (await api.get(VAT, params=params)).json()
    assert summary["from"] == f"{year}-04-01"
    assert [(r["code"], r["rate"], r["net"], r["tax"]) for r in summary["output"]] == [
        ("STD", "20.00", "900.00", "180.00"),
        ("RED", "5.00", "200.00", "10.00"),
        ("ZERO", "0.00", "50.00", "0.00"),
    ]
    assert [(r["code"], r["net"], r["tax"]) for r in summary["input"]] == [
        ("STD", "400.00", "80.00"),
        ("RED", "33.33", "1.67"),
    ]
    assert (summary["output_net"], summary["output_tax"]) == ("1150.00", "190.00")
    assert (summary["input_net"], summary["input_tax"]) == ("433.33", "81.67")
    assert summary["payable"] == "108.33"
    ledger = summary["ledger"]
    # (other tests add rates with accounts of their own: those accounts are checked too)
    assert c["output_vat"] in ledger["output_accounts"]
    assert c["input_vat"] in ledger["input_accounts"]
    assert {
        k: ledger[k] for k in ("agrees", "output_movement", "input_movement", "other_output", "other_input")
    } == {
        "agrees": True,
        "output_movement": "190.00",
        "input_movement": "81.67",
        "other_output": "0.00",
        "other_input": "0.00",
    }

    # VAT posted by hand (say, a correction) makes the ledger disagree with the documents.
    async with in_tenant(acme.slug) as (session, _):
        await posting.post(
            session,
            None,
            PostingRequest(
                date=date(year, 4, 30),
                lines=[
                    PostingLine(c["bank"], debit=Decimal("5.00")),
                    PostingLine(c["output_vat"], credit=Decimal("5.00")),
                ],
            ),
        )
    async with api_as(app, acme, [FIN_LEDGER_READ]) as api:
        after = (await api.get(VAT, params=params)).json()
    assert after["payable"] == "108.33"
    assert after["ledger"]["agrees"] is False
    assert (after["ledger"]["output_movement"], after["ledger"]["other_output"]) == ("195.00", "5.00")


async def test_a_vat_summary_needs_a_range_in_order(app, acme):
    async with api_as(app, acme, [FIN_LEDGER_READ]) as api:
        backwards = await api.get(VAT, params={"from": "2026-05-01", "to": "2026-04-01"})
        missing = await api.get(VAT, params={"from": "2026-05-01"})
        empty = (await api.get(VAT, params={"from": "1990-01-01", "to": "1990-01-31"})).json()
    assert (backwards.status_code, problem_of(backwards)["errors"][0]["field"]) == (422, "to")
    assert missing.status_code == 400
    assert (empty["output"], empty["input"], empty["payable"], empty["ledger"]["agrees"]) == (
        [],
        [],
        "0.00",
        True,
    )


async def test_posting_rules_are_chosen_and_put_back_on_the_default(app, acme):
    c = await codes(acme)
    async with api_as(app, acme, MANAGE) as api:
        listed = (await api.get(RULES)).json()["items"]
        mine = await api.post(
            "/api/v1/finance/accounts",
            json={"code": unique_digits(), "name": "Receivables 2", "type": "asset"},
        )
        code = mine.json()["code"]
        chosen = await api.patch(RULES, json={"rules": {"receivable": code, "bank": c["cash"]}})
        async with in_tenant(acme.slug) as (session, _):
            used = await rules.account_code(session, "receivable")
        back = await api.patch(RULES, json={"rules": {"receivable": None, "bank": ""}})
    assert [r["role"] for r in listed] == list(rules.ROLES)
    receivable = next(r for r in listed if r["role"] == "receivable")
    assert receivable | {"account_name": ""} == {
        "role": "receivable",
        "description": "Customer receivables (invoices, credit notes, receipts)",
        "account": c["receivable"],
        "account_name": "",
        "default_account": c["receivable"],
        "chosen": False,
    }
    after = {r["role"]: r for r in chosen.json()["items"]}
    assert (after["receivable"]["account"], after["receivable"]["chosen"]) == (code, True)
    assert (after["bank"]["account"], after["bank"]["default_account"]) == (c["cash"], c["bank"])
    assert used == code
    assert all(not r["chosen"] for r in back.json()["items"])


async def test_bad_posting_rules_are_refused_and_nothing_written(app, acme):
    c = await codes(acme)
    async with api_as(app, acme, MANAGE) as api:
        inactive = (
            await api.post(
                "/api/v1/finance/accounts", json={"code": unique_digits(), "name": "Off", "type": "asset"}
            )
        ).json()
        await api.patch(f"/api/v1/finance/accounts/{inactive['id']}", json={"active": False})
        before = await snapshot(acme)
        wrong = await api.patch(
            RULES,
            json={
                "rules": {
                    "receivable": c["revenue"],  # income, not an asset
                    "revenue": "2200",  # a group
                    "payable": "0000",  # no such account
                    "bank": inactive["code"],
                    "cash": c["cash"],  # fine, but all or nothing
                    "everything": c["bank"],
                }
            },
        )
        typed = await api.patch(RULES, json={"rules": {"bank": 1010}})
        shaped = await api.patch(RULES, json={"receivable": c["bank"]})
    problem = problem_of(wrong)
    assert (wrong.status_code, problem["code"]) == (422, "validation_failed")
    assert {e["field"]: e["message"] for e in problem["errors"]} == {
        "rules.receivable": "Choose a postable, active asset account.",
        "rules.revenue": "Choose a postable, active income account.",
        "rules.payable": "Choose a postable, active liability account.",
        "rules.bank": "Choose a postable, active asset account.",
        "rules.everything": "There is no posting rule everything.",
    }
    assert typed.status_code == 400
    assert shaped.status_code == 400
    assert await snapshot(acme) == before


async def test_reading_reports_and_rules_needs_the_ledger_and_changing_rules_the_settings(app, acme):
    async with api_as(app, acme, [FIN_LEDGER_READ]) as reader:
        rules_read = await reader.get(RULES)
        refused = await reader.patch(RULES, json={"rules": {}})
    async with api_as(app, acme, [FIN_SETTINGS_MANAGE]) as manager:
        blind = await manager.get(VAT, params={"from": "2026-01-01", "to": "2026-01-31"})
    assert rules_read.status_code == 200
    assert (refused.status_code, blind.status_code) == (403, 403)


async def test_the_year_end_closing_follows_the_retained_earnings_rule(app, acme):
    from app.finance.services import year_end

    c = await codes(acme)
    year = fresh_year()
    async with api_as(app, acme, MANAGE) as api:
        mine = (
            await api.post(
                "/api/v1/finance/accounts",
                json={"code": unique_digits(), "name": "Reserves", "type": "equity"},
            )
        ).json()
        assert (
            await api.patch(RULES, json={"rules": {"retained_earnings": mine["code"]}})
        ).status_code == 200
        try:
            async with in_tenant(acme.slug) as (session, _):
                await posting.post(
                    session,
                    None,
                    PostingRequest(
                        date=date(year, 6, 1),
                        lines=[
                            PostingLine(c["bank"], debit=Decimal("70.00")),
                            PostingLine(c["revenue"], credit=Decimal("70.00")),
                        ],
                    ),
                )
                entry = await year_end.close_year(session, None, year)
                assert entry is not None
            detail = (await api.get(f"/api/v1/finance/entries/{entry.id}")).json()
        finally:
            await api.patch(RULES, json={"rules": {"retained_earnings": None}})
    assert {(line["account_code"], line["credit"]) for line in detail["lines"]} >= {(mine["code"], "70.00")}
