"""CSV exports of the sales lists that had none (CRM issue: "CSV export of every list honouring
filters and record rules"): price lists and one list's prices, the collections board, the
forecast. Each export is compared with what its page shows for the same reader and filters."""

from __future__ import annotations

import csv
import html
import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from app.crm.models import PaymentInstalment, PriceList, PriceListItem
from app.crm.services.calendar import tenant_today
from app.crm.services.forecast import forecast
from tenants.service import in_tenant
from tests.crm.factories.pipeline import backdate, new_account, new_deal, private_tenant, stage_ids
from tests.crm.factories.sales import account_row, contract_row, product_row
from tests.crm.support import acting_as
from tests.helpers import signed_in


def table(r: httpx.Response) -> list[list[str]]:
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith("attachment; filename=")
    return list(csv.reader(io.StringIO(r.text.removeprefix("\ufeff"))))


def mark() -> str:
    return uuid.uuid4().hex[:8]


# --- price lists ---------------------------------------------------------------------------


@pytest.fixture
async def catalogue(acme) -> dict[str, Any]:
    m = mark()
    async with in_tenant(acme.slug) as (s, _):
        printer = await product_row(s, f"PR-{m}", "100.00", name=f"打印机 {m}")
        toner = await product_row(s, f"TN-{m}", "0.0200", name=f"Toner {m}", unit="g")
        dollars = await product_row(s, f"US-{m}", "50.00", currency="USD", name=f"Import {m}")
        dealer = PriceList(name=f"B Dealer {m}", currency="CNY", is_default=False, active=True)
        retired = PriceList(name=f"A Retired {m}", currency="CNY", is_default=False, active=False)
        future = PriceList(
            name=f"C Future {m}", currency="CNY", active=True, valid_from=date(2099, 1, 1), valid_to=None
        )
        s.add_all([dealer, retired, future])
        await s.flush()
        s.add_all(
            [
                PriceListItem(price_list_id=dealer.id, product_id=printer.id, min_quantity=Decimal("1"),
                              unit_price=Decimal("90.0000")),
                PriceListItem(price_list_id=dealer.id, product_id=printer.id, min_quantity=Decimal("10"),
                              unit_price=Decimal("85.5000")),
                PriceListItem(price_list_id=dealer.id, product_id=toner.id, min_quantity=Decimal("2.5"),
                              unit_price=Decimal("0.0125")),
                PriceListItem(price_list_id=dealer.id, product_id=dollars.id, min_quantity=Decimal("1"),
                              unit_price=Decimal("300.0000")),
                PriceListItem(price_list_id=retired.id, product_id=printer.id, min_quantity=Decimal("1"),
                              unit_price=Decimal("120.0000")),
            ]
        )  # fmt: skip
        await s.flush()
        return {"m": m, "dealer": dealer.id, "retired": retired.id, "future": future.id}


async def test_the_price_lists_export_is_the_page(app, acme, catalogue):
    m = catalogue["m"]
    async with signed_in(app, acme, "alice") as b:
        page = await b.get("/sales/price-lists")
        rows = table(await b.get("/sales/price-lists/export.csv"))
    assert 'href="/sales/price-lists/export.csv"' in page.text
    assert rows[0] == [
        "Name", "Currency", "Valid from", "Valid until", "Default for new quotes in this currency", "Prices",
        "Status",
    ]  # fmt: skip
    mine = [r for r in rows[1:] if r[0].endswith(m)]
    assert mine == [
        [f"B Dealer {m}", "CNY", "", "", "No", "4", "In use"],
        [f"C Future {m}", "CNY", "2099-01-01", "", "No", "0", "Outside its dates"],
        [f"A Retired {m}", "CNY", "", "", "No", "1", "Switched off"],
    ]
    # Every list of the page, in the page's order (active first, then by name).
    on_page = re.findall(r'<a href="/sales/price-lists/\d+"><strong>([^<]+)</strong>', page.text)
    assert [r[0] for r in rows[1:]] == [html.unescape(n) for n in on_page]


async def test_a_price_lists_prices_export(app, acme, catalogue):
    m = catalogue["m"]
    url = f"/sales/price-lists/{catalogue['dealer']}"
    async with signed_in(app, acme, "alice") as b:
        page = await b.get(url)
        rows = table(await b.get(f"{url}/items.csv"))
        empty = table(await b.get(f"/sales/price-lists/{catalogue['future']}/items.csv"))
        missing = await b.get("/sales/price-lists/999999999/items.csv")
    assert f'href="{url}/items.csv"' in page.text
    header = [
        "SKU",
        "Product",
        "From quantity",
        "Unit",
        "Unit price",
        "Currency",
        "List price",
        "Discount (%)",
    ]
    assert rows[0] == header
    # The page's order: product name, then volume break; a USD list price is not comparable.
    assert rows[1:] == [
        [f"US-{m}", f"Import {m}", "1", "pcs", "300.00", "CNY", "", ""],
        [f"TN-{m}", f"Toner {m}", "2.5", "g", "0.0125", "CNY", "0.02", "37.50"],
        [f"PR-{m}", f"打印机 {m}", "1", "pcs", "90.00", "CNY", "100.00", "10.00"],
        [f"PR-{m}", f"打印机 {m}", "10", "pcs", "85.50", "CNY", "100.00", "14.50"],
    ]
    skus_on_page = re.findall(r'<span class="mono small muted">([^<]+)</span>', page.text)
    assert [r[0] for r in rows[1:]] == skus_on_page
    assert empty == [header]
    assert missing.status_code == 404
    async with signed_in(app, acme, "nora") as b:  # no crm.product.read
        assert (await b.get("/sales/price-lists/export.csv")).status_code == 403
        assert (await b.get(f"{url}/items.csv")).status_code == 403


# --- collections ---------------------------------------------------------------------------


@pytest.fixture
async def board(acme) -> dict[str, Any]:
    m = mark()
    async with in_tenant(acme.slug) as (s, _):
        today = tenant_today()
        account = await account_row(s, f"回款 {m}", owner_id=acme.users["alice"], team_id=acme.teams["East"])
        alices = await contract_row(
            s,
            account,
            "900.00",
            [
                (today - timedelta(days=3), "300.00"),
                (today + timedelta(days=5), "300.00"),
                (today + timedelta(days=60), "300.00"),  # beyond the board's 30 days
            ],
            owner_id=acme.users["alice"],
            title=f"Alice {m}",
        )
        sams = await contract_row(
            s, account, "500.00", [(today + timedelta(days=10), "500.00")], owner_id=acme.users["sam"],
            title=f"Sam {m}",
        )  # fmt: skip
        daves = await contract_row(
            s, account, "700.00", [(today - timedelta(days=1), "700.00")], owner_id=acme.users["dave"],
            title=f"Dave {m}",
        )  # fmt: skip
        drafted = await contract_row(
            s, account, "100.00", [(today, "100.00")], status="draft", owner_id=acme.users["alice"],
            title=f"Draft {m}",
        )  # fmt: skip
        soon = (
            await s.execute(
                PaymentInstalment.__table__.select().where(
                    PaymentInstalment.contract_id == alices.id,
                    PaymentInstalment.due_date == today + timedelta(days=5),
                )
            )
        ).one()
        instalment = await s.get(PaymentInstalment, soon.id)
        assert instalment is not None
        instalment.collected = Decimal("120.00")
        instalment.description = "第二期"
        await s.flush()
        return {
            "m": m,
            "today": today,
            "alice": alices,
            "sam": sams,
            "dave": daves,
            "draft": drafted,
        }


BOARD_HEADER = [
    "Contract", "Title", "Account", "Owner", "Instalment", "Due", "Currency", "Amount", "Collected",
    "Still to collect", "Status", "Days late",
]  # fmt: skip


def board_rows(rows: list[list[str]], m: str) -> list[list[str]]:
    assert rows[0] == BOARD_HEADER
    return [r for r in rows[1:] if r[1].endswith(m)]


def contracts_on(text: str) -> list[str]:
    """The contract numbers of the board's instalment rows, in page order (overdue, then due)."""
    return re.findall(r'href="/sales/contracts/\d+#schedule"><span class="mono">([^<]+)</span>', text)


async def test_the_collections_export_is_the_board(app, acme, board):
    m, today, c = board["m"], board["today"], board["alice"]
    async with signed_in(app, acme, "alice") as b:
        page = await b.get("/sales/collections")
        rows = board_rows(table(await b.get("/sales/collections/export.csv")), m)
        everything = table(await b.get("/sales/collections/export.csv"))
    assert 'href="/sales/collections/export.csv"' in page.text
    account = f"回款 {m}"

    def day(n: int) -> str:
        return (today + timedelta(days=n)).isoformat()

    assert rows == [
        [c.number, f"Alice {m}", account, "Alice Rep", "", day(-3), "CNY", "300.00", "0.00", "300.00",
         "Overdue", "3"],
        [c.number, f"Alice {m}", account, "Alice Rep", "第二期", day(5), "CNY", "300.00", "120.00", "180.00",
         "Partially paid", ""],
    ]  # fmt: skip
    # Exactly the board's rows for this reader: no draft contract, nobody else's, nothing past 30 days.
    assert [r[0] for r in everything[1:]] == contracts_on(page.text)
    assert board["draft"].number not in contracts_on(page.text)


async def test_the_collections_export_follows_the_owner_filter_and_record_rules(app, acme, board):
    m, a, s = board["m"], board["alice"], board["sam"]
    async with signed_in(app, acme, "sam") as b:  # manager of East: alice's and his own
        team = board_rows(table(await b.get("/sales/collections/export.csv")), m)
        page = await b.get("/sales/collections", params={"owner": acme.users["alice"]})
        only_alice = board_rows(
            table(await b.get("/sales/collections/export.csv", params={"owner": acme.users["alice"]})), m
        )
    assert [(r[0], r[3], r[10]) for r in team] == [
        (a.number, "Alice Rep", "Overdue"),
        (a.number, "Alice Rep", "Partially paid"),
        (s.number, "Sam Manager", "Pending"),
    ]
    assert f'href="/sales/collections/export.csv?owner={acme.users["alice"]}"' in page.text
    assert [r[0] for r in only_alice] == [a.number, a.number]
    async with signed_in(app, acme, "dave") as b:
        mine = board_rows(table(await b.get("/sales/collections/export.csv")), m)
        theirs = board_rows(
            table(await b.get("/sales/collections/export.csv", params={"owner": acme.users["alice"]})), m
        )
    assert [(r[0], r[10], r[11]) for r in mine] == [(board["dave"].number, "Overdue", "1")]
    assert theirs == []  # a filter never widens what the reader may see
    async with signed_in(app, acme, "nora") as b:
        assert (await b.get("/sales/collections/export.csv")).status_code == 403


# --- forecast ------------------------------------------------------------------------------

JAN, FEB, MAR = "2031-01", "2031-02", "2031-03"


@pytest.fixture(scope="module")
async def fx(world):
    t = await private_tenant("fcexport")
    s = await stage_ids(t)
    east = await new_account(t, "alice", "Ostwind")
    west = await new_account(t, "dave", "Westwind")

    async def deal(persona, account, name, amount, stage, close=None, **extra):
        return await new_deal(t, persona, account, name=name, amount=amount, stage_id=s[stage],
                              expected_close_date=close, **extra)  # fmt: skip

    await deal("alice", east, "A1", "10000.00", "proposal", "2031-01-15")
    await deal("sam", east, "S1", "1500.55", "needs_analysis", "2031-02-20")
    await deal("dave", west, "D1", "8000", "proposal", "2031-02-05")
    await deal("dave", west, "D2 later", "6000", "proposal", "2031-05-02")  # after the horizon
    won = await deal("dave", west, "D3 won", "2500", "won", "2031-01-10")
    await backdate(t, won, closed_at=datetime(2031, 1, 10, 2, 0, tzinfo=UTC))
    return t


FORECAST_HEADER = [
    "Scope", "Name", "Month", "Open deals", "Pipeline (unweighted)", "Weighted", "Won", "Currency",
]  # fmt: skip


async def test_the_forecast_export_is_the_page(app, fx):
    async with signed_in(app, fx, "ada") as b:
        page = await b.get("/sales/forecast?start=2031-01&months=3")
        rows = table(await b.get("/sales/forecast/export.csv?start=2031-01&months=3"))
    assert 'href="/sales/forecast/export.csv?start=2031-01&amp;months=3"' in page.text
    assert rows[0] == FORECAST_HEADER
    assert rows[1:] == [
        ["Total", "All", JAN, "1", "10000.00", "6000.00", "2500.00", "CNY"],
        ["Total", "All", FEB, "2", "9500.55", "5400.22", "0.00", "CNY"],
        ["Total", "All", MAR, "0", "0.00", "0.00", "0.00", "CNY"],
        ["Rep", "Alice Rep", JAN, "1", "10000.00", "6000.00", "", "CNY"],
        ["Rep", "Alice Rep", FEB, "0", "0.00", "0.00", "", "CNY"],
        ["Rep", "Alice Rep", MAR, "0", "0.00", "0.00", "", "CNY"],
        ["Rep", "Dave Rep", JAN, "0", "0.00", "0.00", "", "CNY"],
        ["Rep", "Dave Rep", FEB, "1", "8000.00", "4800.00", "", "CNY"],
        ["Rep", "Dave Rep", MAR, "0", "0.00", "0.00", "", "CNY"],
        ["Rep", "Sam Manager", JAN, "0", "0.00", "0.00", "", "CNY"],
        ["Rep", "Sam Manager", FEB, "1", "1500.55", "600.22", "", "CNY"],
        ["Rep", "Sam Manager", MAR, "0", "0.00", "0.00", "", "CNY"],
        ["Team", "East", JAN, "1", "10000.00", "6000.00", "", "CNY"],
        ["Team", "East", FEB, "1", "1500.55", "600.22", "", "CNY"],
        ["Team", "East", MAR, "0", "0.00", "0.00", "", "CNY"],
        ["Team", "West", JAN, "0", "0.00", "0.00", "", "CNY"],
        ["Team", "West", FEB, "1", "8000.00", "4800.00", "", "CNY"],
        ["Team", "West", MAR, "0", "0.00", "0.00", "", "CNY"],
    ]
    assert '<div class="value" id="fc-weighted">CN¥11,400.22</div>' in page.text  # 6000 + 5400.22
    reps_table = page.text.split('id="fc-reps"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r"<tr><td>([^<]+)</td>", reps_table) == ["Alice Rep", "Dave Rep", "Sam Manager"]


async def test_the_forecast_export_follows_filters_and_record_rules(app, fx):
    async with signed_in(app, fx, "alice") as b:
        mine = table(await b.get("/sales/forecast/export.csv?start=2031-01&months=3"))
    assert {r[1] for r in mine[1:] if r[0] == "Rep"} == {"Alice Rep"}
    assert {r[1] for r in mine[1:] if r[0] == "Team"} == {"East"}
    assert [r[4:7] for r in mine[1:4]] == [["10000.00", "6000.00", "0.00"], ["0.00", "0.00", "0.00"],
                                          ["0.00", "0.00", "0.00"]]  # fmt: skip
    async with signed_in(app, fx, "ada") as b:
        west = table(
            await b.get(f"/sales/forecast/export.csv?start=2031-01&months=3&team={fx.teams['West']}")
        )
        later = table(await b.get("/sales/forecast/export.csv?start=2031-04&months=3"))
        fallback = table(await b.get("/sales/forecast/export.csv?start=soon&months=99&owner=x"))
    assert {r[1] for r in west[1:] if r[0] in ("Rep", "Team")} == {"Dave Rep", "West"}
    assert [r[3:7] for r in west[1:4]] == [
        ["0", "0.00", "0.00", "2500.00"],
        ["1", "8000.00", "4800.00", "0.00"],
        ["0", "0.00", "0.00", "0.00"],
    ]
    assert [(r[0], r[1], r[2], r[5]) for r in later[1:] if r[5] != "0.00"] == [
        ("Total", "All", "2031-05", "3600.00"),
        ("Rep", "Dave Rep", "2031-05", "3600.00"),
        ("Team", "West", "2031-05", "3600.00"),
    ]
    # Unusable values fall back as on the page: six months from this month.
    assert len([r for r in fallback[1:] if r[0] == "Total"]) == 6
    async with acting_as(fx, "sam") as (session, p):
        report = await forecast(session, p, start=date(2031, 1, 1), months=3)
    async with signed_in(app, fx, "sam") as b:
        team = table(await b.get("/sales/forecast/export.csv?start=2031-01&months=3"))
    assert [r[1] for r in team[1:] if r[0] == "Rep"][::3] == [r.name for r in report.by_rep]
    assert [r[5] for r in team[1:4]] == [str(report.total[m].weighted) for m in report.months]
    async with signed_in(app, fx, "nora") as b:
        assert (await b.get("/sales/forecast/export.csv")).status_code == 403
