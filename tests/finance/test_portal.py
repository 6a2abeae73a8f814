"""The finance portal: the accountant's pages, a manual entry through the form (refused input
re-renders with the errors beside the row, nothing written), reversal, and who may see it."""

from __future__ import annotations

import re

from tests.finance.support import codes, fresh_month, ledger_counts
from tests.helpers import signed_in

PAGES = [
    "/finance/accounts",
    "/finance/entries",
    "/finance/entries/new",
    "/finance/trial-balance",
    "/finance/periods",
]


def entry_form(on, rows: list[tuple[str, str, str]], **extra: str) -> dict[str, str]:
    data = {"date": on.isoformat(), "journal": "general", "memo": "portal entry", **extra}
    for k, (account, debit, credit) in enumerate(rows):
        # Row 1 stays blank: filled rows need not be contiguous.
        n = k if k == 0 else k + 1
        data |= {f"lines.{n}.account": account, f"lines.{n}.debit": debit, f"lines.{n}.credit": credit}
    return data


async def test_the_accountant_posts_an_entry_and_reverses_it(app, acme):
    c, on = await codes(acme), fresh_month()
    async with signed_in(app, acme, "bob") as b:
        for page in PAGES:
            r = await b.get(page)
            assert r.status_code == 200, page
        home = await b.get("/finance/entries")
        assert 'href="/finance/trial-balance"' in home.text  # navigation for the accountant
        r = await b.post(
            "/finance/entries",
            entry_form(on, [(c["admin_expense"], "1,200.50", ""), (c["bank"], "", "1200.50")]),
        )
        assert r.status_code == 303, r.text
        detail = await b.get(r.headers["location"])
        assert f"记-{on:%Y-%m}-0001" in detail.text
        assert "1,200.50" in detail.text
        entry_id = int(r.headers["location"].rsplit("/", 1)[1])
        undo = await b.post(f"/finance/entries/{entry_id}/reverse", {})
        assert undo.status_code == 303
        page = await b.get(undo.headers["location"])
        assert f"记-{on:%Y-%m}-0002" in page.text
        again = await b.post(f"/finance/entries/{entry_id}/reverse", {})
        assert again.status_code == 303
        tb = await b.get(f"/finance/trial-balance?period={on:%Y-%m}")
        assert "1,200.50" in tb.text


async def test_a_refused_entry_re_renders_with_errors_and_writes_nothing(app, acme):
    c, on = await codes(acme), fresh_month()
    before = await ledger_counts(acme)
    async with signed_in(app, acme, "bob") as b:
        await b.get("/finance/entries/new")
        unbalanced = await b.post(
            "/finance/entries", entry_form(on, [(c["admin_expense"], "100.00", ""), (c["bank"], "", "99.00")])
        )
        negative = await b.post(
            "/finance/entries", entry_form(on, [(c["admin_expense"], "-1", ""), (c["bank"], "", "-1")])
        )
        group = await b.post("/finance/entries", entry_form(on, [("2200", "5", ""), (c["bank"], "", "5")]))
        no_date = await b.post(
            "/finance/entries", entry_form(on, [(c["admin_expense"], "5", ""), (c["bank"], "", "5")], date="")
        )
        bad_period = await b.get("/finance/trial-balance?period=2026-99")
    assert unbalanced.status_code == 422
    assert "100.00" in unbalanced.text  # what was typed is kept
    assert 'value="99.00"' in unbalanced.text
    assert negative.status_code == 422
    assert re.search(r'id="lines\.0\.debit-error"', negative.text)
    assert group.status_code == 422
    assert 'id="lines.0.account-error"' in group.text
    assert no_date.status_code == 422
    assert 'id="date-error"' in no_date.text
    assert bad_period.status_code == 422
    assert await ledger_counts(acme) == before


async def test_sales_reps_have_no_finance_pages(app, acme):
    async with signed_in(app, acme, "alice") as b:
        for page in PAGES:
            r = await b.get(page)
            assert r.status_code == 403, page
        home = await b.get("/")
        assert "/finance/" not in home.text


async def test_the_pages_are_translated(app, acme):
    async with signed_in(app, acme, "bob") as b:
        await b.get("/finance/trial-balance")
        await b.post("/i18n/locale", {"locale": "zh_Hans", "next": "/finance/trial-balance"})
        try:
            r = await b.get("/finance/trial-balance")
            journal = await b.get("/finance/entries")
        finally:
            await b.post("/i18n/locale", {"locale": "en", "next": "/"})
    assert "试算平衡表" in r.text
    assert "凭证" in journal.text


async def test_the_accountant_closes_and_reopens_a_period(app, acme):
    c, on = await codes(acme), fresh_month()
    async with signed_in(app, acme, "bob") as b:
        await b.get("/finance/entries/new")
        rows = [(c["admin_expense"], "10.00", ""), (c["bank"], "", "10.00")]
        assert (await b.post("/finance/entries", entry_form(on, rows))).status_code == 303
        page = await b.get("/finance/periods")
        m = re.search(rf'action="/finance/periods/(\d+)/close"[^>]*data-confirm="[^"]*{on:%Y-%m}', page.text)
        assert m, page.text
        period_id = int(m.group(1))
        assert (await b.post(f"/finance/periods/{period_id}/close", {})).status_code == 303
        before = await ledger_counts(acme)
        refused = await b.post("/finance/entries", entry_form(on, rows))
        assert refused.status_code == 422
        assert f"The period {on:%Y-%m} is closed" in refused.text
        assert await ledger_counts(acme) == before
        assert (await b.post(f"/finance/periods/{period_id}/open", {})).status_code == 303
        assert (await b.post("/finance/entries", entry_form(on, rows))).status_code == 303
    async with signed_in(app, acme, "alice") as rep:
        await rep.get("/profile")
        assert (await rep.post(f"/finance/periods/{period_id}/close", {})).status_code == 403


async def test_the_accountant_closes_a_year_from_the_periods_page(app, acme):
    c, on = await codes(acme), fresh_month()
    async with signed_in(app, acme, "bob") as b:
        await b.get("/finance/periods")
        rows = [(c["bank"], "80.00", ""), (c["revenue"], "", "80.00")]
        assert (await b.post("/finance/entries", entry_form(on, rows))).status_code == 303
        closed = await b.post("/finance/year-end", {"year": str(on.year)})
        assert closed.status_code == 303
        page = await b.get(closed.headers["location"])
        assert f"记-{on.year}-12-0001" in page.text
        again = await b.post("/finance/year-end", {"year": str(on.year)})
        bad = await b.post("/finance/year-end", {"year": "last"})
        periods = await b.get("/finance/periods")
    assert again.headers["location"] == "/finance/periods"
    assert bad.headers["location"] == "/finance/periods"
    assert f"is already closed by entry 记-{on.year}-12-0001" in periods.text
