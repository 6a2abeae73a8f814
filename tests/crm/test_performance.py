"""Sales performance (CRM-6) with exact figures: revenue from confirmed, fulfilled and invoiced
orders by order date, win rate, average deal size and sales cycle of the deals closed in the
period (Asia/Shanghai days), the previous period of the same length, pipeline by stage — per rep
and team under the record rules; the page, its charts' data and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.crm.services.performance import Period, change, choose_period, performance, period_for
from app.kernel.errors import ValidationFailed
from tests.crm.factories.pipeline import backdate, new_account, new_deal, new_order, private_tenant, stage_ids
from tests.crm.support import acting_as
from tests.helpers import signed_in

SH = ZoneInfo("Asia/Shanghai")
MARCH = Period(date(2031, 3, 1), date(2031, 3, 31))


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SH)


@pytest.fixture(scope="module")
async def perfo(world):
    t = await private_tenant("perfo")
    s = await stage_ids(t)
    east = await new_account(t, "alice", "Ostwerk")
    west = await new_account(t, "dave", "Westwerk")
    for persona, account, number, status, day, total, extra in [
        ("alice", east, "O1", "confirmed", "2031-03-01", "1000.00", {}),
        ("alice", east, "O2", "invoiced", "2031-03-31", "2500.50", {}),
        ("alice", east, "O3", "draft", "2031-03-10", "9999.00", {}),
        ("alice", east, "O4", "cancelled", "2031-03-15", "777.00", {}),
        ("alice", east, "O5", "fulfilled", "2031-02-15", "1200.00", {}),
        ("alice", east, "O6", "confirmed", "2031-04-01", "500.00", {}),
        ("alice", east, "O7", "confirmed", "2031-01-28", "300.00", {}),
        ("alice", east, "O8-USD", "confirmed", "2031-03-03", "50.00", {"currency": "USD"}),
        ("sam", east, "O9", "fulfilled", "2031-03-20", "800.00", {}),
        ("dave", west, "O10", "confirmed", "2031-03-05", "4000.00", {}),
        ("dave", west, "O11", "confirmed", "2031-02-01", "2000.00", {}),
    ]:
        await new_order(t, persona, account, number, status=status, order_date=day, total=total, **extra)

    async def closed(persona, account, name, amount, stage, created, closed_at):
        extra = {"lost_reason": "Price"} if stage == "lost" else {}
        deal = await new_deal(t, persona, account, name=name, amount=amount, stage_id=s[stage], **extra)
        await backdate(t, deal, created_at=created, closed_at=closed_at)

    await closed("alice", east, "W1", "6000", "won", at(2031, 2, 1), at(2031, 3, 11))  # 38 days
    await closed("alice", east, "W2", "3000", "won", at(2031, 3, 1), at(2031, 3, 21))  # 20 days
    await closed("alice", east, "L1", "100", "lost", at(2031, 3, 1), at(2031, 3, 15))
    await closed("alice", east, "W3", "1000", "won", at(2031, 2, 5), at(2031, 2, 10))  # previous period
    await closed("sam", east, "L2", "100", "lost", at(2031, 2, 1), at(2031, 3, 2))
    await closed("dave", west, "W4", "5000", "won", at(2031, 1, 1), at(2031, 3, 31, 23))  # 89 d 23 h
    await closed("dave", west, "L3", "100", "lost", at(2031, 3, 1), at(2031, 4, 1, 0, 30))  # April there
    await new_deal(t, "alice", east, name="P1", amount="10000", stage_id=s["proposal"])
    await new_deal(t, "sam", east, name="P2", amount="2000", stage_id=s["qualification"])
    await new_deal(t, "dave", west, name="P3", amount="3000", stage_id=s["proposal"])
    return t


async def report(tenant, persona, period=MARCH, **kw):
    async with acting_as(tenant, persona) as (session, p):
        return await performance(session, p, period, **kw)


def figures(row) -> tuple:
    c = row.current
    return (str(c.revenue), c.orders, c.won, c.lost, str(c.win_rate), str(c.average_deal), str(c.cycle_days))


async def test_the_periods_and_their_predecessors():
    assert MARCH.previous() == Period(date(2031, 1, 29), date(2031, 2, 28))  # 31 days before
    assert period_for("month", date(2031, 3, 17)).previous() == Period(
        date(2031, 2, 1), date(2031, 2, 28), "month"
    )
    quarter = period_for("quarter", date(2031, 5, 2))
    assert (quarter.start, quarter.end) == (date(2031, 4, 1), date(2031, 6, 30))
    assert (quarter.previous().start, quarter.previous().end) == (date(2031, 1, 1), date(2031, 3, 31))
    year = period_for("year", date(2031, 5, 2))
    assert (year.previous().start, year.previous().end) == (date(2030, 1, 1), date(2030, 12, 31))
    today = date(2031, 5, 2)
    assert choose_period("custom", "2031-03-01", "2031-03-31", today) == MARCH
    for args, message in [
        (("custom", "2031-03-31", "2031-03-01"), "The end date must be on or after the start date."),
        (("custom", "", "2031-03-01"), "This field is required."),
        (("custom", "2020-01-01", "2031-03-01"), "Choose a period of at most {n} days."),
        (("decade", "", ""), "Choose one of: {choices}."),
    ]:
        with pytest.raises(ValidationFailed) as exc:
            choose_period(*args, today)
        assert [e.message for e in exc.value.errors] == [message]
    assert change(Decimal("8300.50"), Decimal("3200.00")) == Decimal("1.5939")
    assert change(Decimal("1"), Decimal("0")) is None


async def test_the_organisations_figures(perfo):
    r = await report(perfo, "ada")
    assert figures(r.total) == ("8300.50", 4, 3, 2, "0.6000", "4666.67", "49.3")
    prev = r.total.previous
    assert (str(prev.revenue), prev.orders, prev.won, prev.lost, str(prev.win_rate), str(prev.average_deal),
            str(prev.cycle_days)) == ("3200.00", 2, 1, 0, "1.0000", "1000.00", "5.0")  # fmt: skip
    assert r.other_currencies == {"USD": 1}
    assert [(row.name, *figures(row)) for row in r.by_rep] == [
        ("Dave Rep", "4000.00", 1, 1, 0, "1.0000", "5000.00", "90.0"),
        ("Alice Rep", "3500.50", 2, 2, 1, "0.6667", "4500.00", "29.0"),
        ("Sam Manager", "800.00", 1, 0, 1, "0.0000", "None", "None"),
    ]
    assert [(row.name, str(row.current.revenue), str(row.previous.revenue), str(row.open_pipeline))
            for row in r.by_team] == [("East", "4300.50", "1200.00", "12000.00"),
                                      ("West", "4000.00", "2000.00", "3000.00")]  # fmt: skip
    assert [(p.stage.key, p.count, str(p.amount), str(p.weighted)) for p in r.pipeline if p.count] == [
        ("qualification", 1, "2000.00", "400.00"),
        ("proposal", 2, "13000.00", "7800.00"),
    ]
    assert [p.stage.key for p in r.pipeline] == ["prospecting", "qualification", "needs_analysis", "proposal",
                                                 "negotiation"]  # fmt: skip


async def test_a_rep_sees_their_own_figures_a_manager_the_teams(perfo):
    alice = await report(perfo, "alice")
    assert [row.name for row in alice.by_rep] == ["Alice Rep"]
    assert figures(alice.total) == ("3500.50", 2, 2, 1, "0.6667", "4500.00", "29.0")
    assert [(p.stage.key, str(p.amount)) for p in alice.pipeline if p.count] == [("proposal", "10000.00")]
    sam = await report(perfo, "sam")
    assert [row.name for row in sam.by_rep] == ["Alice Rep", "Sam Manager"]
    assert figures(sam.total) == ("4300.50", 3, 2, 2, "0.5000", "4500.00", "29.0")
    mia = await report(perfo, "mia")  # marketers read every report
    assert str(mia.total.current.revenue) == "8300.50"
    west = await report(perfo, "ada", team_id=perfo.teams["West"])
    assert figures(west.total) == ("4000.00", 1, 1, 0, "1.0000", "5000.00", "90.0")


async def test_the_page_charts_and_export(app, perfo):
    query = "period=custom&start=2031-03-01&end=2031-03-31"
    async with signed_in(app, perfo, "ada") as b:
        page = await b.get(f"/sales/performance?{query}")
        export = await b.get(f"/sales/performance/export.csv?{query}")
        bad = await b.get("/sales/performance?period=custom&start=2031-03-31&end=2031-03-01")
    assert page.status_code == 200
    assert '<div class="value" data-figure="revenue">CN¥8,300.50</div>' in page.text
    assert '<div class="value" data-figure="win_rate">60.0%</div>' in page.text
    assert '<div class="value" data-figure="cycle_days">49.3 days</div>' in page.text
    assert "1 Mar 2031 – 31 Mar 2031, compared with 29 Jan 2031 – 28 Feb 2031" in page.text
    assert page.text.count("<canvas data-chart=") == 3
    assert '"labels": ["Dave Rep", "Alice Rep", "Sam Manager"]' in page.text
    assert '"data": [4000.0, 3500.5, 800.0]' in page.text
    assert export.headers["content-disposition"] == (
        'attachment; filename="sales-performance-2031-03-01-2031-03-31.csv"'
    )
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["Scope", "Name", "Revenue", "Revenue, previous period"]
    total = [
        "Total",
        "All",
        "8300.50",
        "3200.00",
        "4",
        "3",
        "2",
        "60.0",
        "100.0",
        "4666.67",
        "49.3",
        "15000.00",
    ]
    assert rows[1] == [*total, "CNY"]
    assert [r[:3] for r in rows[2:]] == [
        ["Rep", "Dave Rep", "4000.00"], ["Rep", "Alice Rep", "3500.50"], ["Rep", "Sam Manager", "800.00"],
        ["Team", "East", "4300.50"], ["Team", "West", "4000.00"],
    ]  # fmt: skip
    assert bad.status_code == 422
    assert "The end date must be on or after the start date." in bad.text
    async with signed_in(app, perfo, "alice") as b:
        mine = await b.get(f"/sales/performance/export.csv?{query}")
    assert [r[1] for r in csv.reader(io.StringIO(mine.content.decode("utf-8-sig")))][1:] == [
        "All", "Alice Rep", "East"]  # fmt: skip
    async with signed_in(app, perfo, "bob") as b:
        assert (await b.get("/sales/performance")).status_code == 403
        assert (await b.get("/sales/performance/export.csv")).status_code == 403
