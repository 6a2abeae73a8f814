"""VAT rates and category rates through the API, and CRM's product form taking a new product's
VAT rate from its category (through app/crm/interface.py, CRM never importing finance)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from app.crm import interface as crm
from app.crm.services import products
from app.security.permissions import FIN_LEDGER_READ, FIN_SETTINGS_MANAGE
from tests.crm.support import acting_as, api_as, problem_of
from tests.finance.settings_support import fresh_year, issue_invoice, snapshot, unique, unique_digits
from tests.finance.support import codes
from tests.helpers import signed_in

RATES = "/api/v1/finance/tax-rates"
CATEGORIES = "/api/v1/finance/category-tax-rates"
MANAGE = [FIN_LEDGER_READ, FIN_SETTINGS_MANAGE]


def new_rate(c: dict[str, str], **over: str) -> dict[str, str]:
    return {
        "code": unique("V"),
        "name": "Reduced 9.5%",
        "rate": "9.5",
        "output_account": c["output_vat"],
        "input_account": c["input_vat"],
    } | over


async def test_rates_are_listed_added_and_changed(app, acme):
    c = await codes(acme)
    async with api_as(app, acme, MANAGE) as api:
        listed = (await api.get(RATES)).json()["items"]
        made = await api.post(RATES, json=new_rate(c))
        rate = made.json()
        one = await api.get(f"{RATES}/{rate['id']}")
        changed = await api.patch(f"{RATES}/{rate['id']}", json={"name": "Reduced", "rate": "9.75"})
        off = await api.patch(f"{RATES}/{rate['id']}", json={"active": False})
    assert {(r["code"], r["rate"]) for r in listed} >= {("STD", "20.00"), ("RED", "5.00"), ("ZERO", "0.00")}
    std = next(r for r in listed if r["code"] == "STD")
    assert (std["output_account"], std["input_account"]) == (c["output_vat"], c["input_vat"])
    assert made.status_code == 201, made.text
    assert rate | {"id": 0, "code": ""} == {
        "id": 0,
        "code": "",
        "name": "Reduced 9.5%",
        "rate": "9.50",
        "output_account": c["output_vat"],
        "input_account": c["input_vat"],
        "active": True,
    }
    assert one.json() == rate
    assert (changed.json()["name"], changed.json()["rate"]) == ("Reduced", "9.75")
    assert off.json()["active"] is False


async def test_bad_rates_are_refused_with_field_errors_and_nothing_written(app, acme):
    c = await codes(acme)
    async with api_as(app, acme, MANAGE) as api:
        group = "2200"  # IFRS: Taxes payable, a group
        inactive = (
            await api.post(
                "/api/v1/finance/accounts", json={"code": unique_digits(), "name": "Old", "type": "liability"}
            )
        ).json()
        await api.patch(f"/api/v1/finance/accounts/{inactive['id']}", json={"active": False})
        existing = (await api.get(RATES)).json()["items"][0]
        before = await snapshot(acme)
        cases = {
            "over": new_rate(c, rate="100.01"),
            "negative": new_rate(c, rate="-1"),
            "decimals": new_rate(c, rate="9.555"),
            "words": new_rate(c, rate="nine"),
            "blank": new_rate(c, rate=""),
            "output-asset": new_rate(c, output_account=c["bank"]),
            "output-group": new_rate(c, output_account=group),
            "output-inactive": new_rate(c, output_account=inactive["code"]),
            "input-income": new_rate(c, input_account=c["revenue"]),
            "input-missing": new_rate(c, input_account="0000"),
            "code-taken": new_rate(c, code="std"),
            "code-chars": new_rate(c, code="V 1"),
            "name": new_rate(c, name=" "),
        }
        answers = {k: await api.post(RATES, json=v) for k, v in cases.items()}
        number = await api.post(RATES, json=new_rate(c) | {"rate": 9.5})
        edit = await api.patch(
            f"{RATES}/{existing['id']}", json={"rate": "101", "output_account": c["revenue"]}
        )
        missing = await api.patch(f"{RATES}/987654321", json={"name": "x"})
    fields = {k: [e["field"] for e in problem_of(r)["errors"]] for k, r in answers.items()}
    assert fields == {
        "over": ["rate"],
        "negative": ["rate"],
        "decimals": ["rate"],
        "words": ["rate"],
        "blank": ["rate"],
        "output-asset": ["output_account"],
        "output-group": ["output_account"],
        "output-inactive": ["output_account"],
        "input-income": ["input_account"],
        "input-missing": ["input_account"],
        "code-taken": ["code"],
        "code-chars": ["code"],
        "name": ["name"],
    }
    assert {r.status_code for r in answers.values()} == {422}
    assert problem_of(answers["decimals"])["errors"][0]["message"] == "Use at most two decimals."
    assert number.status_code == 400
    assert [e["field"] for e in problem_of(edit)["errors"]] == ["rate", "output_account"]
    assert missing.status_code == 404
    assert await snapshot(acme) == before


async def test_a_rate_used_on_documents_keeps_its_percentage(app, acme):
    c = await codes(acme)
    async with api_as(app, acme, MANAGE) as api:
        rate = (await api.post(RATES, json=new_rate(c, rate="4"))).json()
        await issue_invoice(acme, date(fresh_year(), 2, 1), [(rate["code"], "100.00")])
        before = await snapshot(acme)
        refused = await api.patch(f"{RATES}/{rate['id']}", json={"rate": "4.5"})
        assert await snapshot(acme) == before
        same = await api.patch(f"{RATES}/{rate['id']}", json={"rate": "4.00", "name": "Four"})
        other_account = await api.patch(f"{RATES}/{rate['id']}", json={"output_account": c["output_vat"]})
    problem = problem_of(refused)
    assert (refused.status_code, problem["code"]) == (409, "tax_rate_in_use")
    assert (
        problem["detail"]
        == f"The rate {rate['code']} is used on documents: its percentage stays. Add a new rate instead."
    )
    assert same.status_code == 200
    assert same.json()["name"] == "Four"
    assert other_account.status_code == 200


async def test_categories_get_a_rate_and_new_products_take_it(app, acme):
    c = await codes(acme)
    category = unique("Printers ")
    async with api_as(app, acme, MANAGE) as api:
        rate = (await api.post(RATES, json=new_rate(c, rate="6"))).json()
        set_ = await api.post(CATEGORIES, json={"category": category, "tax_rate_id": rate["id"]})
        listed = (await api.get(CATEGORIES)).json()["items"]
        before = await snapshot(acme)
        keep_active = await api.patch(f"{RATES}/{rate['id']}", json={"active": False})
        assert await snapshot(acme) == before
    assert set_.status_code == 200, set_.text
    assert {
        "category": category,
        "tax_rate_id": rate["id"],
        "tax_rate_code": rate["code"],
        "rate": "6.00",
        "active": True,
    } in listed
    assert (keep_active.status_code, problem_of(keep_active)["code"]) == (409, "tax_rate_has_categories")
    async with acting_as(acme, "sam") as (session, principal):
        empty = await products.create_product(
            session,
            principal,
            {"sku": unique("P-"), "name": "Laser", "list_price": "10", "category": category},
        )
        own = await products.create_product(
            session,
            principal,
            {"sku": unique("P-"), "name": "Toner", "list_price": "1", "category": category, "tax_rate": "13"},
        )
        zero = await products.create_product(
            session,
            principal,
            {
                "sku": unique("P-"),
                "name": "Book",
                "list_price": "1",
                "category": unique("None "),
                "tax_rate": "",
            },
        )
        assert category in await crm.product_categories(session)
    assert (empty.tax_rate, own.tax_rate, zero.tax_rate) == (Decimal("6.00"), Decimal("13"), Decimal("0"))


async def test_bad_category_rates_are_refused_and_categories_removed(app, acme):
    c = await codes(acme)
    category = unique("Paper ")
    async with api_as(app, acme, MANAGE) as api:
        rate = (await api.post(RATES, json=new_rate(c))).json()
        off = (await api.post(RATES, json=new_rate(c, active=False))).json()
        before = await snapshot(acme)
        inactive = await api.post(CATEGORIES, json={"category": category, "tax_rate_id": off["id"]})
        unknown = await api.post(CATEGORIES, json={"category": category, "tax_rate_id": 987654321})
        blank = await api.post(CATEGORIES, json={"category": "  ", "tax_rate_id": rate["id"]})
        text_id = await api.post(CATEGORIES, json={"category": category, "tax_rate_id": "1"})
        no_such = await api.delete(CATEGORIES, params={"category": category})
        assert await snapshot(acme) == before
        await api.post(CATEGORIES, json={"category": category, "tax_rate_id": rate["id"]})
        replaced = await api.post(CATEGORIES, json={"category": category, "tax_rate_id": rate["id"]})
        removed = await api.delete(CATEGORIES, params={"category": category})
        listed = (await api.get(CATEGORIES)).json()["items"]
    assert problem_of(inactive)["errors"][0]["field"] == "tax_rate_id"
    assert problem_of(unknown)["errors"][0]["field"] == "tax_rate_id"
    assert problem_of(blank)["errors"][0]["field"] == "category"
    assert text_id.status_code == 400
    assert no_such.status_code == 404
    assert replaced.status_code == 200
    assert removed.status_code == 204
    assert category not in {i["category"] for i in listed}


async def test_the_new_product_form_leaves_the_rate_to_the_category(app, acme):
    c = await codes(acme)
    category = unique("Scanners ")
    async with api_as(app, acme, MANAGE) as api:
        rate = (await api.post(RATES, json=new_rate(c, rate="9"))).json()
        await api.post(CATEGORIES, json={"category": category, "tax_rate_id": rate["id"]})
    code = unique("SC-")
    async with signed_in(app, acme, "sam") as b:
        form = await b.get("/sales/products/new")
        assert 'name="tax_rate"' in form.text
        assert "gets its category" in form.text
        r = await b.post(
            "/sales/products",
            {
                "sku": code,
                "name": "Scanner",
                "list_price": "100",
                "category": category,
                "tax_rate": "",
                "active": "1",
            },
        )
        assert r.status_code == 303, r.text
        page = await b.get(r.headers["location"])
    assert 'value="9"' in page.text


async def test_changing_rates_needs_the_settings_permission(app, acme):
    c = await codes(acme)
    async with api_as(app, acme, [FIN_LEDGER_READ]) as api:
        listed = await api.get(RATES)
        created = await api.post(RATES, json=new_rate(c))
        category = await api.post(CATEGORIES, json={"category": "X", "tax_rate_id": 1})
    assert listed.status_code == 200
    assert [created.status_code, category.status_code] == [403, 403]
