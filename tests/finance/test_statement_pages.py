"""Statement pages: the figures of the hand-made books on the pages, every account figure a link
to its ledger, the ledger a link to each entry, the entry a link to its document; bad dates
re-render with the error (422); the accountant may, a sales rep may not."""

from __future__ import annotations

import re

import pytest

from tests.finance.statement_books import ifrs_books
from tests.finance.support import codes, scalar
from tests.helpers import signed_in
from tests.tenants.conftest import make_tenant  # noqa: F401  (fixture)

PAGES = [
    "/finance/profit-and-loss",
    "/finance/balance-sheet",
    "/finance/cash-report",
]


@pytest.fixture
async def books(make_tenant):  # noqa: F811
    return await ifrs_books(await make_tenant("fsp"))


async def test_the_profit_and_loss_page_links_each_figure_to_its_ledger(app, books):
    async with signed_in(app, books.tenant, "ada") as b:
        page = await b.get("/finance/profit-and-loss?from=2026-01-01&to=2026-03-31&compare=year")
        revenue_id = books.accounts["4000"]
        ledger_link = f"/finance/accounts/{revenue_id}/ledger?from=2026-01-01&amp;to=2026-03-31"
        assert page.status_code == 200
        assert ledger_link in page.text
        assert f"/finance/accounts/{revenue_id}/ledger?from=2025-01-01&amp;to=2025-03-31" in page.text
        net = re.search(r'data-key="net_profit">(.*?)</tr>', page.text, re.S)
        assert net is not None
        assert "1,850.00" in net.group(1)
        assert "500.00" in net.group(1)
        assert "270.0%" in net.group(1)
        ledger = await b.get(ledger_link.replace("&amp;", "&"))
        assert ledger.status_code == 200
        assert "3,000.00" in ledger.text  # the credits of the range = the P&L figure
        entry_links = re.findall(r'href="(/finance/entries/\d+)"', ledger.text)
        assert len(entry_links) == 2
        entry = await b.get(entry_links[0])
        assert 'href="/finance/invoices/11"' in entry.text  # the source document
        assert "Invoice #11" in entry.text


async def test_the_balance_sheet_and_cash_report_pages(app, books):
    async with signed_in(app, books.tenant, "ada") as b:
        bs = await b.get("/finance/balance-sheet?as_of=2026-03-31&compare=year_start")
        cash = await b.get("/finance/cash-report?from=2026-01-01&to=2026-03-31&compare=previous")
        custom = await b.get(
            "/finance/profit-and-loss?from=2026-03-01&to=2026-03-31&compare=custom"
            "&compare_from=2026-01-01&compare_to=2026-01-31"
        )
    assert bs.status_code == 200
    assert 'id="bs-balanced"' in bs.text
    assert "Balanced" in bs.text
    assert "3,940.00" in bs.text
    assert 'href="/finance/profit-and-loss?from=2026-01-01&amp;to=2026-03-31"' in bs.text  # the year's result
    bank = books.accounts["1010"]
    assert f"/finance/accounts/{bank}/ledger?from=2026-01-01&amp;to=2026-03-31" in bs.text
    assert cash.status_code == 200
    assert "Receipts from customers" in cash.text
    assert "1,280.00" in cash.text
    assert f"/finance/accounts/{bank}/ledger?from=2026-01-01&amp;to=2026-03-31" in cash.text
    assert custom.status_code == 200
    assert "1,800.00" in custom.text  # March
    assert "400.00" in custom.text  # January: 1000 revenue − 600 cost of sales


async def test_the_ledger_pages_forward_with_a_cursor(app, books):
    bank = books.accounts["1010"]
    async with signed_in(app, books.tenant, "ada") as b:
        from portals.finance import statements as pages

        old = pages.LEDGER_PAGE
        pages.LEDGER_PAGE = 3
        try:
            first = await b.get(f"/finance/accounts/{bank}/ledger?from=2026-01-01&to=2026-03-31")
            m = re.search(r'href="([^"]+)" rel="next"', first.text)
            assert m, first.text
            second = await b.get(m.group(1).replace("&amp;", "&"))
            forged = await b.get(f"/finance/accounts/{bank}/ledger?from=2026-01-01&to=2026-03-31&cursor=abc")
        finally:
            pages.LEDGER_PAGE = old
    assert "1,630.00 Dr" in first.text
    assert "Totals and closing balance" not in first.text
    assert "1,180.00 Dr" in second.text
    assert "Totals and closing balance" in second.text
    assert forged.status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "/finance/profit-and-loss?from=2026-02-30&to=2026-03-31",
        "/finance/profit-and-loss?from=2026-03-31&to=2026-03-01",
        "/finance/profit-and-loss?from=2026-01-01&to=2026-03-31&compare=sometimes",
        "/finance/profit-and-loss?from=2026-01-01&to=2026-03-31&compare=custom&compare_from=2025-01-01",
        "/finance/balance-sheet?as_of=yesterday",
        "/finance/balance-sheet?as_of=2026-03-31&compare=custom",
        "/finance/cash-report?from=&to=2026-03-31",
    ],
)
async def test_bad_dates_re_render_the_page_with_the_error(app, acme, url):
    async with signed_in(app, acme, "bob") as b:
        r = await b.get(url)
    assert r.status_code == 422
    assert "field-error" in r.text


async def test_bad_ledger_dates_and_export_formats(app, acme):
    c = await codes(acme)
    ledger_id = await scalar(acme, "SELECT id FROM S.fin_accounts WHERE code = :c", c=c["bank"])
    async with signed_in(app, acme, "bob") as b:
        bad = await b.get(f"/finance/accounts/{ledger_id}/ledger?from=2026-13-01&to=2026-12-31")
        missing = await b.get("/finance/accounts/987654321/ledger")
        fmt = await b.get("/finance/profit-and-loss/export?from=2026-01-01&to=2026-01-31&format=doc")
        dates = await b.get("/finance/balance-sheet/export?as_of=never&format=csv")
    assert bad.status_code == 422
    assert 'id="from-error"' in bad.text
    assert missing.status_code == 404
    assert fmt.status_code == 422
    assert dates.status_code == 422


async def test_the_accountant_has_the_statements_and_a_sales_rep_has_not(app, acme):
    async with signed_in(app, acme, "bob") as b:
        for page in PAGES:
            r = await b.get(page)
            assert r.status_code == 200, page
        home = await b.get("/finance/entries")
        for page in PAGES:
            assert f'href="{page}"' in home.text  # in the navigation
        export = await b.get("/finance/trial-balance/export?period=2026-01&format=csv")
        assert export.status_code == 200
    async with signed_in(app, acme, "alice") as rep:
        for page in [*PAGES, "/finance/trial-balance/export?period=2026-01&format=csv"]:
            r = await rep.get(page)
            assert r.status_code == 403, page


async def test_the_pages_render_in_chinese(app, acme):
    async with signed_in(app, acme, "bob") as b:
        await b.get("/finance/profit-and-loss")
        await b.post("/i18n/locale", {"locale": "zh_Hans", "next": "/finance/profit-and-loss"})
        try:
            pages = [await b.get(page) for page in PAGES]
        finally:
            await b.post("/i18n/locale", {"locale": "en", "next": "/"})
    for r in pages:
        assert r.status_code == 200
        assert 'lang="zh' in r.text
