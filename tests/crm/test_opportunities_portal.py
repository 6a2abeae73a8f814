"""Sales › Opportunities in the portal: the list (record rules, filters, search, sort, CSV), a
deal's page (history, activities, quotes and orders), the forms and the no-JS stage change."""

from __future__ import annotations

import csv
import io
import re
import uuid

from app.crm.models import Activity
from tests.crm.factories.pipeline import (
    PIPELINE_TABLES,
    deal_row,
    new_account,
    new_deal,
    new_order,
    stage_ids,
)
from tests.crm.support import table_counts
from tests.helpers import signed_in


def tag() -> str:
    return uuid.uuid4().hex[:8]


def rows_of(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<a href="/sales/opportunities/\d+"><strong>([^<]+)</strong>', body)


def csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


async def _deals(acme, t: str) -> dict[str, int]:
    stages = await stage_ids(acme)
    a = await new_account(acme, "alice", f"Alpha {t}")
    d = await new_account(acme, "dave", f"Delta {t}")
    return {
        "alice_open": await new_deal(acme, "alice", a, name=f"A-open {t}", amount="1000",
                                     stage_id=stages["proposal"], expected_close_date="2031-03-15"),
        "alice_won": await new_deal(acme, "alice", a, name=f"A-won {t}", amount="3000",
                                    stage_id=stages["won"], expected_close_date="2031-04-15"),
        "dave_open": await new_deal(acme, "dave", d, name=f"D-open {t}", amount="2000",
                                    stage_id=stages["proposal"], expected_close_date="2031-03-20"),
    }  # fmt: skip


async def test_the_list_follows_the_record_rules(app, acme):
    t = tag()
    await _deals(acme, t)
    seen = {}
    for persona in ("alice", "sam", "dave", "ada"):
        async with signed_in(app, acme, persona) as b:
            r = await b.get(f"/sales/opportunities?q={t}&sort=name")
            assert r.status_code == 200
            seen[persona] = rows_of(r.text)
    assert seen == {
        "alice": [f"A-open {t}", f"A-won {t}"],
        "sam": [f"A-open {t}", f"A-won {t}"],  # East's manager
        "dave": [f"D-open {t}"],
        "ada": [f"A-open {t}", f"A-won {t}", f"D-open {t}"],
    }
    async with signed_in(app, acme, "bob") as b:
        assert (await b.get("/sales/opportunities")).status_code == 403


async def test_filters_search_and_sort(app, acme):
    t = tag()
    ids = await _deals(acme, t)
    stages = await stage_ids(acme)
    async with signed_in(app, acme, "ada") as b:
        by_amount = await b.get(f"/sales/opportunities?q={t}&sort=amount&dir=desc")
        won = await b.get(f"/sales/opportunities?q={t}&f_status=won")
        proposal = await b.get(f"/sales/opportunities?q={t}&f_stage={stages['proposal']}&sort=name")
        march = await b.get(f"/sales/opportunities?q={t}&f_close=2031-03&f_owner={acme.users['dave']}")
        fragment = await b.htmx("GET", f"/sales/opportunities?q=D-open+{t}")
        unknown = await b.get(f"/sales/opportunities?q={t}&f_stage=abc&sort=drop+table&sort=name")
    assert rows_of(by_amount.text) == [f"A-won {t}", f"D-open {t}", f"A-open {t}"]
    assert rows_of(won.text) == [f"A-won {t}"]
    assert rows_of(proposal.text) == [f"A-open {t}", f"D-open {t}"]
    assert rows_of(march.text) == [f"D-open {t}"]
    assert fragment.text.lstrip().startswith('<div id="opportunities-table">')  # only the table
    assert rows_of(fragment.text) == [f"D-open {t}"]
    assert len(rows_of(unknown.text)) == 3  # undeclared values are ignored, not passed to SQL
    assert f'href="/sales/opportunities/{ids["dave_open"]}"' in march.text


async def test_csv_export_honours_filters_and_record_rules(app, acme):
    t = tag()
    await _deals(acme, t)
    async with signed_in(app, acme, "alice") as b:
        r = await b.get(f"/sales/opportunities/export.csv?q={t}&sort=name")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    rows = csv_rows(r.content)
    assert rows[0][:9] == ["Opportunity", "Account", "Stage", "Status", "Amount", "Currency",
                           "Probability (%)", "Weighted amount", "Expected close"]  # fmt: skip
    assert [r[:10] for r in rows[1:]] == [
        [
            f"A-open {t}",
            f"Alpha {t}",
            "Proposal",
            "Open",
            "1000.00",
            "CNY",
            "60",
            "600.00",
            "2031-03-15",
            "Alice Rep",
        ],
        [
            f"A-won {t}",
            f"Alpha {t}",
            "Won",
            "Won",
            "3000.00",
            "CNY",
            "100",
            "3000.00",
            "2031-04-15",
            "Alice Rep",
        ],
    ]  # fmt: skip — dave's deal is not exported to alice
    async with signed_in(app, acme, "ada") as b:
        only_open = await b.get(f"/sales/opportunities/export.csv?q={t}&f_status=open&sort=name")
    assert [r[0] for r in csv_rows(only_open.content)[1:]] == [f"A-open {t}", f"D-open {t}"]


async def test_a_deal_page_shows_history_activities_and_documents(app, acme):
    from tenants.service import in_tenant

    t = tag()
    stages = await stage_ids(acme)
    account = await new_account(acme, "alice", f"Page {t}")
    deal = await new_deal(acme, "alice", account, name=f"Deal page {t}", amount="4200")
    async with signed_in(app, acme, "alice") as b:
        await b.get(f"/sales/opportunities/{deal}")
        moved = await b.post(f"/sales/opportunities/{deal}/stage", {"stage_id": str(stages["negotiation"])})
        assert moved.status_code == 303
    async with in_tenant(acme.slug) as (session, _):
        call = Activity(kind="call", subject=f"Called about {t}", account_id=account, opportunity_id=deal)
        session.add(call)
    await new_order(acme, "alice", account, f"SO-{t}", status="confirmed", order_date="2026-11-02",
                    total="4200.00", opportunity_id=deal)  # fmt: skip
    await new_order(acme, "dave", account, f"SO-D{t}", status="draft", order_date="2026-11-03",
                    total="99.00", opportunity_id=deal)  # fmt: skip
    async with signed_in(app, acme, "alice") as b:
        page = await b.get(f"/sales/opportunities/{deal}")
    assert page.status_code == 200
    html = page.text
    assert '<span class="tag tag-info">Negotiation</span>' in html
    assert "<td>Prospecting</td>" in html
    assert "<td><strong>Negotiation</strong></td>" in html
    assert f"Called about {t}" in html
    assert f"SO-{t}" in html
    assert f"SO-D{t}" not in html
    async with signed_in(app, acme, "dave") as b:
        assert (await b.get(f"/sales/opportunities/{deal}")).status_code == 404


async def test_create_form_creates_or_shows_the_errors(app, acme):
    t = tag()
    stages = await stage_ids(acme)
    account = await new_account(acme, "alice", f"Form {t}")
    async with signed_in(app, acme, "alice") as b:
        form = await b.get(f"/sales/opportunities/new?account_id={account}")
        assert f'<option value="{account}" selected>Form {t}</option>' in form.text
        before = await table_counts(acme, *PIPELINE_TABLES)
        bad = await b.post("/sales/opportunities", {"name": f"Bad {t}", "account_id": str(account),
                                                   "amount": "-5", "probability": "120", "stage_id": "abc",
                                                   "owner_id": str(acme.users["alice"])})  # fmt: skip
        assert bad.status_code == 422
        assert "Must be at least 0." in bad.text
        assert "Must be at most 100." in bad.text
        assert "Choose one of the pipeline&#39;s stages." in bad.text  # "abc" names no stage
        assert f'value="Bad {t}"' in bad.text  # what was typed stays
        assert await table_counts(acme, *PIPELINE_TABLES) == before
        good = await b.post("/sales/opportunities", {
            "name": f"Good {t}", "account_id": str(account), "amount": "9,900.00",
            "stage_id": str(stages["qualification"]), "expected_close_date": "2031-06-30", "source": "web",
            "owner_id": str(acme.users["alice"])})  # fmt: skip
        assert good.status_code == 303
        deal = int(good.headers["location"].rsplit("/", 1)[1])
        page = await b.get(good.headers["location"])
    assert f"The opportunity Good {t} is created." in page.text
    row = await deal_row(acme, deal)
    assert (str(row.amount), row.probability, row.source) == ("9900.00", 20, "web")


async def test_edit_form_saves_or_shows_the_errors(app, acme):
    t = tag()
    account = await new_account(acme, "alice", f"Edit {t}")
    deal = await new_deal(acme, "alice", account, name=f"Edit {t}", amount="100")
    values = {"name": f"Edited {t}", "account_id": str(account), "contact_id": "", "amount": "150",
              "currency": "CNY", "probability": "", "expected_close_date": "2031-01-31",
              "owner_id": str(acme.users["alice"]), "source": "", "description": "Two sites"}  # fmt: skip
    async with signed_in(app, acme, "alice") as b:
        form = await b.get(f"/sales/opportunities/{deal}/edit")
        assert f'value="Edit {t}"' in form.text
        bad = await b.post(f"/sales/opportunities/{deal}", {**values, "amount": "x", "owner_id": "12abc"})
        assert bad.status_code == 422
        assert "Enter a number." in bad.text
        assert "Choose an active staff member." in bad.text
        assert (await deal_row(acme, deal)).name == f"Edit {t}"
        ok = await b.post(f"/sales/opportunities/{deal}", values)
        assert ok.status_code == 303
    row = await deal_row(acme, deal)
    assert (row.name, str(row.amount), row.description, str(row.expected_close_date)) == (
        f"Edited {t}", "150.00", "Two sites", "2031-01-31")  # fmt: skip
    async with signed_in(app, acme, "dave") as b:
        assert (await b.get(f"/sales/opportunities/{deal}/edit")).status_code == 404
        assert (await b.post(f"/sales/opportunities/{deal}", values)).status_code == 404


async def test_stage_select_without_javascript(app, acme):
    t = tag()
    stages = await stage_ids(acme)
    account = await new_account(acme, "alice", f"Sel {t}")
    deal = await new_deal(acme, "alice", account, name=f"Sel {t}", amount="100")
    async with signed_in(app, acme, "alice") as b:
        page = await b.get(f"/sales/opportunities/{deal}")
        assert f'<option value="{stages["lost"]}" data-lost' in page.text
        before = await table_counts(acme, *PIPELINE_TABLES)
        refused = await b.post(f"/sales/opportunities/{deal}/stage", {"stage_id": str(stages["lost"])})
        assert refused.status_code == 422
        assert "Say why the deal was lost." in refused.text
        assert await table_counts(acme, *PIPELINE_TABLES) == before
        lost = await b.post(f"/sales/opportunities/{deal}/stage",
                            {"stage_id": str(stages["lost"]), "lost_reason": "No budget"})  # fmt: skip
        assert lost.status_code == 303
        done = await b.get(lost.headers["location"])
    assert f"Sel {t} is now in Lost." in done.text
    row = await deal_row(acme, deal)
    assert (row.stage_id, row.lost_reason) == (stages["lost"], "No budget")


async def test_pickers_offer_only_visible_accounts(app, acme):
    t = tag()
    mine = await new_account(acme, "alice", f"Picker mine {t}")
    await new_account(acme, "dave", f"Picker dave {t}")
    async with signed_in(app, acme, "alice") as b:
        r = await b.htmx("GET", f"/sales/opportunities/account-options?account_q=Picker+mine+{t}")
        contacts = await b.htmx("GET", f"/sales/opportunities/contact-options?account_id={mine}")
    assert r.status_code == 200
    assert f">Picker mine {t}<" in r.text
    assert "Picker dave" not in r.text
    assert contacts.text.strip() == '<option value="">No contact</option>'
