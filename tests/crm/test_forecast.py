"""The weighted forecast (CRM-3) with exact figures: open deals by expected-close month, rep and
team, won deals by the month (Asia/Shanghai) they were won, past-due and undated deals, other
currencies left out — all under the record rules. A tenant of its own keeps the sums exact."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from app.crm.services.forecast import Forecast, forecast
from tests.crm.factories.pipeline import backdate, new_account, new_deal, private_tenant, stage_ids
from tests.crm.support import acting_as
from tests.helpers import signed_in

JAN, FEB, MAR = date(2031, 1, 1), date(2031, 2, 1), date(2031, 3, 1)


@pytest.fixture(scope="module")
async def fcast(world):
    t = await private_tenant("fcast")
    s = await stage_ids(t)
    east = await new_account(t, "alice", "Ostwind")
    west = await new_account(t, "dave", "Westwind")

    async def deal(persona, account, name, amount, stage, close=None, **extra):
        return await new_deal(t, persona, account, name=name, amount=amount, stage_id=s[stage],
                              expected_close_date=close, **extra)  # fmt: skip

    await deal("alice", east, "A1", "10000.00", "proposal", "2031-01-15")
    await deal("alice", east, "A2", "3333.33", "qualification", "2031-01-31")
    await deal("alice", east, "A3", "5000", "negotiation", "2031-03-01", probability=75)
    await deal("alice", east, "A4 past due", "2000", "prospecting", "2030-12-31")
    await deal("alice", east, "A5 undated", "1000", "prospecting")
    won_a = await deal("alice", east, "A6 won", "7000", "won", "2031-02-20")
    lost_a = await deal("alice", east, "A7 lost", "4000", "lost", "2031-02-01", lost_reason="Price")
    await deal("alice", east, "A8 dollars", "900", "proposal", "2031-02-10", currency="USD")
    await deal("sam", east, "S1", "1500.55", "needs_analysis", "2031-02-20")
    await deal("dave", west, "D1", "8000", "proposal", "2031-02-05")
    won_d = await deal("dave", west, "D2 won", "2500", "won", "2031-01-10")
    await deal("dave", west, "D3 later", "6000", "proposal", "2031-04-02")
    # 2031-02-28 20:00 UTC is 1 March, 04:00 in Shanghai: won in March for this organisation.
    await backdate(t, won_a, closed_at=datetime(2031, 2, 28, 20, 0, tzinfo=UTC))
    await backdate(t, won_d, closed_at=datetime(2031, 1, 10, 2, 0, tzinfo=UTC))
    await backdate(t, lost_a, closed_at=datetime(2031, 2, 12, 9, 0, tzinfo=UTC))
    return t


async def as_(tenant, persona, **kw) -> Forecast:
    async with acting_as(tenant, persona) as (session, p):
        return await forecast(session, p, start=date(2031, 1, 17), months=3, **kw)


def cells(row) -> dict[date, str]:
    return {m: str(b.weighted) for m, b in sorted(row.cells.items())}


async def test_the_whole_organisation(fcast):
    fc = await as_(fcast, "ada")
    assert fc.months == [JAN, FEB, MAR]
    assert {m: (b.count, str(b.amount), str(b.weighted)) for m, b in fc.total.items()} == {
        JAN: (2, "13333.33", "6666.67"),  # 10000 × 60 % + 3333.33 × 20 %
        FEB: (2, "9500.55", "5400.22"),  # 1500.55 × 40 % + 8000 × 60 %
        MAR: (1, "5000.00", "3750.00"),  # the rep's own 75 %
    }
    assert (fc.horizon.count, str(fc.horizon.amount), str(fc.horizon.weighted)) == (5, "27833.88", "15816.89")
    assert fc.committed == {JAN: Decimal("2500.00"), MAR: Decimal("7000.00")}
    assert str(fc.committed_total) == "9500.00"
    assert (fc.past_due.count, str(fc.past_due.amount)) == (1, "2000.00")
    assert (fc.undated.count, str(fc.undated.amount)) == (1, "1000.00")
    assert fc.other_currencies == {"USD": 1}
    assert [(r.name, cells(r), str(r.total.weighted), str(r.won)) for r in fc.by_rep] == [
        ("Alice Rep", {JAN: "6666.67", MAR: "3750.00"}, "10416.67", "7000.00"),
        ("Dave Rep", {FEB: "4800.00"}, "4800.00", "2500.00"),
        ("Sam Manager", {FEB: "600.22"}, "600.22", "0"),
    ]
    assert [(r.name, cells(r), str(r.total.weighted), str(r.won)) for r in fc.by_team] == [
        ("East", {JAN: "6666.67", FEB: "600.22", MAR: "3750.00"}, "11016.89", "7000.00"),
        ("West", {FEB: "4800.00"}, "4800.00", "2500.00"),
    ]


async def test_record_rules_and_filters(fcast):
    alice = await as_(fcast, "alice")
    assert [(r.name, str(r.total.weighted)) for r in alice.by_rep] == [("Alice Rep", "10416.67")]
    assert str(alice.total[FEB].weighted) == "0.00"
    assert alice.committed == {MAR: Decimal("7000.00")}
    sam = await as_(fcast, "sam")
    assert [r.name for r in sam.by_rep] == ["Alice Rep", "Sam Manager"]
    assert str(sam.horizon.weighted) == "11016.89"
    dave = await as_(fcast, "dave")
    assert (str(dave.horizon.weighted), dave.committed, dave.other_currencies) == (
        "4800.00", {JAN: Decimal("2500.00")}, {})  # fmt: skip
    west = await as_(fcast, "ada", team_id=fcast.teams["West"])
    assert str(west.horizon.weighted) == "4800.00"
    only_sam = await as_(fcast, "ada", owner_id=fcast.users["sam"])
    assert [r.name for r in only_sam.by_rep] == ["Sam Manager"]
    later = await as_(fcast, "ada")
    assert later.total[JAN].count == 2  # filters never leak into another reader's figures


async def test_the_page_shows_the_figures_and_the_chart_data(app, fcast):
    async with signed_in(app, fcast, "ada") as b:
        r = await b.get("/sales/forecast?start=2031-01&months=3")
        mia = await b.get("/sales/forecast?start=2031-01&months=99&owner=x")  # bad values fall back
    assert r.status_code == 200
    assert '<div class="value" id="fc-weighted">CN¥15,816.89</div>' in r.text
    assert '<div class="value" id="fc-won">CN¥9,500.00</div>' in r.text
    assert "1 deal in USD" in r.text
    assert '"data": [6666.67, 5400.22, 3750.0]' in r.text.replace("&#34;", '"')  # the chart's JSON
    assert "data-chart=" in r.text
    assert 'src="/static/js/charts.js"' in r.text
    assert mia.status_code == 200
    async with signed_in(app, fcast, "alice") as b:
        mine = await b.get("/sales/forecast?start=2031-01&months=3")
    assert '<div class="value" id="fc-weighted">CN¥10,416.67</div>' in mine.text
    assert "Dave Rep" not in mine.text
    async with signed_in(app, fcast, "bob") as b:
        assert (await b.get("/sales/forecast")).status_code == 403
