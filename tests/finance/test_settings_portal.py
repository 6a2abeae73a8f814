"""The finance settings pages and reports in the portal: what the accountant and the tenant
administrator see and change, refused input re-rendered with its errors (status 422) and nothing
written, and sales reps kept out."""

from __future__ import annotations

import re
from datetime import date

from tests.finance.settings_support import (
    cost_centre,
    enter_bill,
    fresh_year,
    issue_invoice,
    snapshot,
    unique,
    unique_digits,
)
from tests.finance.support import codes, fresh_month, ledger_counts, scalar, without_books
from tests.helpers import signed_in
from tests.tenants.conftest import make_tenant  # noqa: F401  (fixture)

PAGES = [
    "/finance/settings",
    "/finance/settings/tax-rates",
    "/finance/settings/cost-centres",
    "/finance/settings/split-rules",
    "/finance/settings/posting-rules",
    "/finance/vat",
    "/finance/cost-centre-report",
    "/finance/accounts",
]


async def test_the_accountant_and_the_administrator_see_every_page(app, acme):
    for persona in ("bob", "ada"):
        async with signed_in(app, acme, persona) as b:
            for page in PAGES:
                r = await b.get(page)
                assert r.status_code == 200, (persona, page, r.text[:500])
            home = await b.get("/finance/settings")
            assert 'href="/finance/vat"' in home.text
            assert 'id="fin-settings-tabs"' in home.text


async def test_sales_reps_see_no_settings_and_change_nothing(app, acme):
    before = await snapshot(acme)
    async with signed_in(app, acme, "alice") as b:
        for page in PAGES:
            assert (await b.get(page)).status_code == 403, page
        await b.get("/profile")
        posts = {
            "/finance/settings": {"payment_terms_days": "1"},
            "/finance/settings/tax-rates": {"code": "X", "name": "X", "rate": "1"},
            "/finance/settings/cost-centres": {"code": "X", "name": "X"},
            "/finance/settings/posting-rules": {"rules.bank": "1000"},
            "/finance/accounts": {"code": "99", "name": "X", "type": "asset"},
        }
        for url, data in posts.items():
            assert (await b.post(url, data)).status_code == 403, url
    assert await snapshot(acme) == before


async def test_the_chart_is_chosen_on_the_settings_page_before_first_use(app, make_tenant):  # noqa: F811
    tenant = await without_books(await make_tenant("finpage"))  # a tenant from before finance
    async with signed_in(app, tenant, "ada") as b:
        page = await b.get("/finance/settings")
        assert 'name="chart_template"' in page.text
        assert await scalar(tenant, "SELECT count(*) FROM S.fin_accounts") == 0
        bad = await b.post(
            "/finance/settings",
            {
                "chart_template": "cas",
                "base_currency": "ZZZ",
                "invoice_on": "confirmed",
                "payment_terms_days": "x",
            },
        )
        assert bad.status_code == 422
        assert 'id="base_currency-error"' in bad.text
        assert 'id="payment_terms_days-error"' in bad.text
        assert await scalar(tenant, "SELECT count(*) FROM S.fin_accounts") == 0
        saved = await b.post(
            "/finance/settings",
            {
                "chart_template": "cas",
                "base_currency": "HKD",
                "invoice_on": "fulfilled",
                "payment_terms_days": "60",
            },
        )
        assert saved.status_code == 303, saved.text
        page = await b.get("/finance/settings")
    assert 'name="chart_template"' not in page.text
    assert 'id="fin-chart"' in page.text
    assert await scalar(tenant, "SELECT base_currency FROM S.fin_settings") == "HKD"
    assert await scalar(tenant, "SELECT payment_terms_days FROM S.fin_settings") == 60
    assert await scalar(tenant, "SELECT name FROM S.fin_accounts WHERE code = '6001'") == "主营业务收入"


async def test_the_base_currency_is_read_only_once_something_is_posted(app, acme):
    c, on = await codes(acme), fresh_month()
    async with signed_in(app, acme, "bob") as b:
        await b.get("/finance/entries/new")
        rows = {
            "date": on.isoformat(),
            "journal": "general",
            "lines.0.account": c["bank"],
            "lines.0.debit": "1",
        }
        rows |= {"lines.1.account": c["revenue"], "lines.1.credit": "1"}
        assert (await b.post("/finance/entries", rows)).status_code == 303
        page = await b.get("/finance/settings")
        before = await snapshot(acme)
        refused = await b.post(
            "/finance/settings",
            {"base_currency": "USD", "invoice_on": "confirmed", "payment_terms_days": "30"},
        )
    assert 'name="base_currency"' not in page.text
    assert 'id="fin-currency"' in page.text
    assert refused.status_code == 422
    assert "cannot change once anything has been posted" in refused.text
    assert await snapshot(acme) == before


async def test_accounts_are_added_renamed_deactivated_and_deleted_on_the_chart_pages(app, acme):
    code = unique_digits()
    async with signed_in(app, acme, "bob") as b:
        chart = await b.get("/finance/accounts")
        group_id = re.search(r'<option value="(\d+)" >6000 Operating expenses', chart.text)
        assert group_id, chart.text
        before = await snapshot(acme)
        bad = await b.post(
            "/finance/accounts", {"code": "1010", "name": "", "parent_id": group_id.group(1), "postable": "1"}
        )
        assert bad.status_code == 422
        assert 'id="code-error"' in bad.text
        assert 'id="name-error"' in bad.text
        assert await snapshot(acme) == before
        made = await b.post(
            "/finance/accounts",
            {"code": code, "name": "Travel", "parent_id": group_id.group(1), "postable": "1"},
        )
        assert made.status_code == 303, made.text
        url = made.headers["location"]
        detail = await b.get(url)
        assert "Travel" in detail.text
        assert "Operating expenses" in detail.text
        blank = await b.post(url, {"name": " "})
        assert blank.status_code == 422
        assert (await b.post(url, {"name": "Travel and meals"})).status_code == 303
        assert (await b.post(f"{url}/deactivate", {})).status_code == 303
        page = await b.get(url)
        assert "Travel and meals" in page.text
        assert f"The account {code} is deactivated." in page.text
        assert (await b.post(f"{url}/activate", {})).status_code == 303
        gone = await b.post(f"{url}/delete", {})
        assert gone.headers["location"] == "/finance/accounts"
        assert (await b.get(url)).status_code == 404


async def test_deleting_an_account_with_postings_is_refused_on_its_page(app, acme):
    c = await codes(acme)
    async with signed_in(app, acme, "bob") as b:
        chart = await b.get("/finance/accounts")
        bank_id = re.search(rf'href="/finance/accounts/(\d+)">{c["bank"]}<', chart.text).group(1)
        await b.get("/finance/entries/new")
        on = fresh_month()
        rows = {
            "date": on.isoformat(),
            "journal": "general",
            "lines.0.account": c["bank"],
            "lines.0.debit": "2",
        }
        rows |= {"lines.1.account": c["revenue"], "lines.1.credit": "2"}
        await b.post("/finance/entries", rows)
        before = await snapshot(acme)
        refused = await b.post(f"/finance/accounts/{bank_id}/delete", {})
        page = await b.get(refused.headers["location"])
        off = await b.post(f"/finance/accounts/{bank_id}/deactivate", {})
        page_after = await b.get(off.headers["location"])
    assert f"The account {c['bank']} has postings: it cannot be deleted." in page.text
    assert "post to the account" in page_after.text  # the bank posting rule holds it
    assert await snapshot(acme) == before


async def test_tax_rates_and_category_rates_are_kept_on_the_tax_page(app, acme):
    c = await codes(acme)
    code = unique("V")
    category = unique("Toner ")
    async with signed_in(app, acme, "bob") as b:
        await b.get("/finance/settings/tax-rates")
        before = await snapshot(acme)
        bad = await b.post(
            "/finance/settings/tax-rates",
            {
                "code": code,
                "name": "Bad",
                "rate": "9.999",
                "output_account": c["bank"],
                "input_account": c["input_vat"],
            },
        )
        assert bad.status_code == 422
        assert 'id="rate-error"' in bad.text
        assert 'id="output_account-error"' in bad.text
        assert 'value="9.999"' in bad.text
        assert await snapshot(acme) == before
        made = await b.post(
            "/finance/settings/tax-rates",
            {
                "code": code,
                "name": "Special 7%",
                "rate": "7",
                "output_account": c["output_vat"],
                "input_account": c["input_vat"],
                "active": "1",
            },
        )
        assert made.status_code == 303, made.text
        page = await b.get("/finance/settings/tax-rates")
        rate_id = re.search(rf'href="/finance/settings/tax-rates/(\d+)">{code}<', page.text).group(1)
        edit = await b.get(f"/finance/settings/tax-rates/{rate_id}")
        assert 'value="Special 7%"' in edit.text
        saved = await b.post(
            f"/finance/settings/tax-rates/{rate_id}",
            {
                "name": "Special",
                "rate": "7.5",
                "output_account": c["output_vat"],
                "input_account": c["input_vat"],
                "active": "1",
            },
        )
        assert saved.status_code == 303
        bad_category = await b.post(
            "/finance/settings/tax-rates/categories", {"category": category, "tax_rate_id": "x"}
        )
        assert bad_category.status_code == 422
        assert 'id="tax_rate_id-error"' in bad_category.text
        assert (
            await b.post(
                "/finance/settings/tax-rates/categories", {"category": category, "tax_rate_id": rate_id}
            )
        ).status_code == 303
        page = await b.get("/finance/settings/tax-rates")
        assert category in page.text
        assert "7.5 %" in page.text
        removed = await b.post("/finance/settings/tax-rates/categories/remove", {"category": category})
        assert removed.status_code == 303
        again = await b.post("/finance/settings/tax-rates/categories/remove", {"category": category})
        page = await b.get(again.headers["location"])
    assert "The category rate was not found." in page.text


async def test_cost_centres_and_split_rules_on_their_pages(app, acme):
    sales, ops = unique("PS-"), unique("PO-")
    async with signed_in(app, acme, "bob") as b:
        await b.get("/finance/settings/cost-centres")
        for code in (sales, ops):
            r = await b.post(
                "/finance/settings/cost-centres", {"code": code, "name": f"Dept {code}", "active": "1"}
            )
            assert r.status_code == 303, r.text
        dup = await b.post("/finance/settings/cost-centres", {"code": sales, "name": "Again", "active": "1"})
        assert dup.status_code == 422
        assert f"Another cost centre already has the code {sales}." in dup.text
        before = await snapshot(acme)
        short = await b.post(
            "/finance/settings/split-rules",
            {
                "code": unique("R-"),
                "name": "Office",
                "active": "1",
                "shares.0.cost_centre": sales,
                "shares.0.percent": "33.3333",
                # row 1 blank: rows need not be contiguous
                "shares.2.cost_centre": ops,
                "shares.2.percent": "33.3333",
            },
        )
        assert short.status_code == 422
        assert "The shares add up to 66.6666 %: they must add up to exactly 100 %." in short.text
        bad_row = await b.post(
            "/finance/settings/split-rules",
            {"code": unique("R-"), "name": "Office", "shares.0.cost_centre": sales, "shares.0.percent": "50",
             "shares.2.cost_centre": ops, "shares.2.percent": "50.00001"},
        )  # fmt: skip
        assert bad_row.status_code == 422
        assert 'id="shares.2.percent-error"' in bad_row.text
        assert await snapshot(acme) == before
        made = await b.post(
            "/finance/settings/split-rules",
            {"code": unique("R-"), "name": "Office", "active": "1", "shares.0.cost_centre": sales,
             "shares.0.percent": "33.3333", "shares.2.cost_centre": ops, "shares.2.percent": "66.6667"},
        )  # fmt: skip
        assert made.status_code == 303, made.text
        page = await b.get(made.headers["location"])
        assert "33.33" in page.text
        assert "66.67" in page.text
        assert "takes the rounding residual" in page.text
        listed = await b.get("/finance/settings/split-rules")
        assert sales in listed.text
        centre_id = re.search(
            rf'href="/finance/settings/cost-centres/(\d+)">{sales}<',
            (await b.get("/finance/settings/cost-centres")).text,
        ).group(1)
        keep = await b.post(f"/finance/settings/cost-centres/{centre_id}", {"code": sales, "name": "Dept"})
    assert keep.status_code == 422
    assert "share amounts to the cost centre" in keep.text


async def test_posting_rules_are_changed_on_their_page(app, acme):
    c = await codes(acme)
    async with signed_in(app, acme, "bob") as b:
        page = await b.get("/finance/settings/posting-rules")
        assert 'name="rules.receivable"' in page.text
        before = await snapshot(acme)
        bad = await b.post(
            "/finance/settings/posting-rules", {"rules.receivable": c["revenue"], "rules.bank": ""}
        )
        assert bad.status_code == 422
        assert 'id="rules.receivable-error"' in bad.text
        assert await snapshot(acme) == before
        ok = await b.post("/finance/settings/posting-rules", {"rules.bank": c["cash"]})
        assert ok.status_code == 303
        page = await b.get("/finance/settings/posting-rules")
        assert "your choice" in page.text
        assert (await b.post("/finance/settings/posting-rules", {"rules.bank": ""})).status_code == 303


async def test_the_entry_form_offers_active_cost_centres_and_refuses_others(app, acme):
    c, on = await codes(acme), fresh_month()
    code = unique("EF-")
    await cost_centre(acme, code)
    async with signed_in(app, acme, "bob") as b:
        form = await b.get("/finance/entries/new")
        assert f'<option value="{code}"' in form.text
        before = await ledger_counts(acme)
        rows = {
            "date": on.isoformat(),
            "journal": "general",
            "lines.0.account": c["admin_expense"],
            "lines.0.debit": "4",
        }
        rows |= {"lines.0.cost_centre": "GONE", "lines.2.account": c["bank"], "lines.2.credit": "4"}
        refused = await b.post("/finance/entries", rows)
        assert refused.status_code == 422
        assert 'id="lines.0.cost_centre-error"' in refused.text
        assert await ledger_counts(acme) == before
        posted = await b.post("/finance/entries", rows | {"lines.0.cost_centre": code})
    assert posted.status_code == 303, posted.text


async def test_the_reports_show_figures_and_export_csv(app, acme):
    year = fresh_year()
    centre = unique("RC-")
    await cost_centre(acme, centre)
    await issue_invoice(acme, date(year, 6, 3), [("STD", "1000.00")])
    await enter_bill(acme, date(year, 6, 4), [("STD", "100.00")])
    span = {"from": f"{year}-06-01", "to": f"{year}-06-30"}
    async with signed_in(app, acme, "bob") as b:
        vat = await b.get("/finance/vat", params=span)
        vat_csv = await b.get("/finance/vat/export.csv", params=span)
        bad = await b.get("/finance/vat", params={"from": span["to"], "to": span["from"]})
        report = await b.get("/finance/cost-centre-report", params=span)
        report_csv = await b.get("/finance/cost-centre-report/export.csv", params=span)
        bad_report = await b.get("/finance/cost-centre-report", params={"from": "x", "to": ""})
    assert vat.status_code == 200
    assert 'id="fin-vat-agrees"' in vat.text
    assert "180.00" in vat.text  # 200.00 output − 20.00 input
    assert vat_csv.headers["content-type"].startswith("text/csv")
    lines = vat_csv.text.lstrip("\ufeff").splitlines()
    assert lines[0] == "Section,Rate code,Name,Rate (%),Net amount,VAT"
    assert "Output VAT,STD,Standard rate 20%,20.00,1000.00,200.00" in lines
    assert "VAT payable,,,,,180.00" in lines
    assert bad.status_code == 422
    assert 'id="to-error"' in bad.text
    assert report.status_code == 200
    assert "No cost centre" in report.text
    assert (
        report_csv.text.lstrip("\ufeff").splitlines()[0]
        == "Cost centre,Cost centre name,Account,Account name,Income,Expenses"
    )
    assert bad_report.status_code == 422
