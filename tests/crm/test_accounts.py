"""Accounts in the portal (CRM-1): list with filters, search and export; create and edit with
server validation; record rules on every read."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from app.crm.models import Account
from tenants.service import in_tenant
from tests.crm.customers_support import CUSTOMER_TABLES, mark, new_account
from tests.crm.support import count_rows, table_counts
from tests.helpers import signed_in


async def _account(tenant, account_id: int) -> Account:
    async with in_tenant(tenant.slug) as (session, _):
        return (await session.execute(select(Account).where(Account.id == account_id))).scalar_one()


async def test_alice_creates_an_account_from_the_form(app, acme):
    m = mark()
    async with signed_in(app, acme, "alice") as b:
        page = await b.get("/crm/accounts/new")
        assert page.status_code == 200
        assert 'id="dup-hints"' in page.text
        r = await b.post(
            "/crm/accounts",
            {
                "name": f"  上海{m}贸易有限公司 ",
                "kind": "company",
                "lifecycle_stage": "customer",
                "email": f"Info@{m}.CN",
                "phone": "+86 21 6123 4567",
                "region": "华东",
                "city": "上海",
                "country": "cn",
                "tags": "vip, 华东, vip",
                "needs": "A2 printers\nnext quarter",
            },
        )
        assert r.status_code == 303
        account_id = int(r.headers["location"].rsplit("/", 1)[1])
        profile = await b.get(r.headers["location"])
    assert profile.status_code == 200
    assert f"上海{m}贸易有限公司" in profile.text
    account = await _account(acme, account_id)
    assert (account.name, account.email, account.phone, account.country) == (
        f"上海{m}贸易有限公司",
        f"info@{m}.cn",
        "+86 21 6123 4567",
        "CN",
    )
    assert account.tags == ["vip", "华东"]
    assert account.needs == "A2 printers\nnext quarter"
    assert (account.owner_id, account.team_id) == (acme.users["alice"], acme.teams["East"])
    assert account.lifecycle_stage == "customer"


async def test_a_refused_account_form_shows_every_error_and_writes_nothing(app, acme):
    async with signed_in(app, acme, "alice") as b:
        before = await table_counts(acme, *CUSTOMER_TABLES)  # after signing in (a sign-in is audited)
        r = await b.post(
            "/crm/accounts",
            {
                "name": "  ",
                "email": "not-an-address",
                "phone": "call me",
                "country": "China",
                "lifecycle_stage": "vip",
                "tags": "x" * 41,
                "owner_id": str(acme.users["dave"]),
            },
        )
    assert r.status_code == 422
    for message in (
        "This field is required.",
        "Enter a valid e-mail address.",
        "Enter a valid phone number",
        "Use the two-letter country code",
        "Choose one of: prospect, customer, partner, churned.",
        "A tag has at most 40 characters and no commas.",
        "You may only assign records to yourself or your team.",
    ):
        assert message in r.text
    assert 'value="not-an-address"' in r.text  # what was typed is kept
    assert await table_counts(acme, *CUSTOMER_TABLES) == before


async def test_reps_see_their_own_accounts_managers_their_teams(app, acme):
    m = mark()
    alices = await new_account(acme, "alice", name=f"Alpha {m}")
    daves = await new_account(acme, "dave", name=f"Delta {m}")
    seen = {}
    for persona in ("alice", "dave", "sam", "ada", "sue"):
        async with signed_in(app, acme, persona) as b:
            r = await b.get(f"/crm/accounts?q={m}")
            assert r.status_code == 200
            seen[persona] = {n for n in (f"Alpha {m}", f"Delta {m}") if n in r.text}
    assert seen == {
        "alice": {f"Alpha {m}"},
        "dave": {f"Delta {m}"},
        "sam": {f"Alpha {m}"},  # East's manager: alice's, not West's
        "ada": {f"Alpha {m}", f"Delta {m}"},
        "sue": {f"Alpha {m}", f"Delta {m}"},  # service agents read every account
    }
    async with signed_in(app, acme, "dave") as b:
        assert (await b.get(f"/crm/accounts/{alices}")).status_code == 404
        assert (await b.get(f"/crm/accounts/{alices}/edit")).status_code == 404
        r = await b.post(f"/crm/accounts/{alices}", {"name": "Taken over"})
        assert r.status_code == 404
        assert (await b.get(f"/crm/accounts/{daves}")).status_code == 200
    async with signed_in(app, acme, "sue") as b:  # may read, may not change
        assert (await b.get(f"/crm/accounts/{alices}")).status_code == 200
        assert (await b.post(f"/crm/accounts/{alices}", {"name": "Renamed"})).status_code == 403
    assert (await _account(acme, alices)).name == f"Alpha {m}"


async def test_filters_search_and_sort(app, acme):
    m = mark()
    zhang = await new_account(
        acme,
        "ada",
        name=f"上海张伟{m}科技有限公司",
        region=f"华东{m}",
        tags="vip",
        lifecycle_stage="customer",
    )
    other = await new_account(
        acme,
        "ada",
        name=f"北京{m}商贸",
        region=f"华北{m}",
        lifecycle_stage="prospect",
        owner_id=acme.users["dave"],
        phone="010-8888 7777",
    )
    async with signed_in(app, acme, "ada") as b:
        full = await b.get("/crm/accounts")
        assert f"华东{m}" in full.text  # the region filter offers the regions in use
        by_name = await b.get("/crm/accounts?q=张伟" + m, headers={"HX-Request": "true"})
        by_sub = await b.get("/crm/accounts?q=张伟", headers={"HX-Request": "true"})
        by_region = await b.get(f"/crm/accounts?f_region=华北{m}", headers={"HX-Request": "true"})
        by_stage = await b.get(f"/crm/accounts?q={m}&f_stage=customer", headers={"HX-Request": "true"})
        by_owner = await b.get(
            f"/crm/accounts?q={m}&f_owner={acme.users['dave']}", headers={"HX-Request": "true"}
        )
        by_tag = await b.get(f"/crm/accounts?q={m}&f_tag=vip", headers={"HX-Request": "true"})
        by_phone = await b.get("/crm/accounts?q=88887777", headers={"HX-Request": "true"})
        sorted_desc = await b.get(f"/crm/accounts?q={m}&sort=name&dir=desc", headers={"HX-Request": "true"})
    assert f"/crm/accounts/{zhang}" in by_name.text
    assert f"/crm/accounts/{other}" not in by_name.text
    assert f"/crm/accounts/{zhang}" in by_sub.text  # a Chinese name inside the company name
    assert f"/crm/accounts/{other}" in by_region.text
    assert f"/crm/accounts/{zhang}" not in by_region.text
    assert f"/crm/accounts/{zhang}" in by_stage.text
    assert f"/crm/accounts/{other}" not in by_stage.text
    assert f"/crm/accounts/{other}" in by_owner.text
    assert f"/crm/accounts/{zhang}" not in by_owner.text
    assert f"/crm/accounts/{zhang}" in by_tag.text
    assert f"/crm/accounts/{other}" not in by_tag.text
    assert f"/crm/accounts/{other}" in by_phone.text
    assert "<html" not in by_name.text  # an htmx swap gets the table only
    # 北 (U+5317) sorts after 上 (U+4E0A): descending puts 北京 first.
    assert sorted_desc.text.index(f"/crm/accounts/{other}") < sorted_desc.text.index(f"/crm/accounts/{zhang}")


async def test_export_honours_filters_and_record_rules(app, acme):
    m = mark()
    await new_account(acme, "alice", name=f"Export {m} One", tags="fair", city="=cmd|' /C calc'!A0")
    await new_account(acme, "alice", name=f"Export {m} Two")
    await new_account(acme, "dave", name=f"Export {m} Dave's", tags="fair")
    async with signed_in(app, acme, "alice") as b:
        r = await b.get(f"/crm/accounts/export.csv?q={m}&f_tag=fair")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["ID", "Name", "Type"]
    assert [row[1] for row in rows[1:]] == [f"Export {m} One"]
    assert rows[1][rows[0].index("City")] == "'=cmd|' /C calc'!A0"  # a formula stays text
    assert rows[1][rows[0].index("Tags")] == "fair"


async def test_editing_keeps_what_is_not_on_the_form_and_refuses_bad_input(app, acme):
    m = mark()
    account_id = await new_account(acme, "alice", name=f"Edit {m}", email=f"a@{m}.example", tags="old")
    async with signed_in(app, acme, "alice") as b:
        form = await b.get(f"/crm/accounts/{account_id}/edit")
        assert form.status_code == 200
        assert f'value="a@{m}.example"' in form.text
        bad = await b.post(
            f"/crm/accounts/{account_id}", {"name": f"Edit {m}", "email": "nope@", "phone": "12"}
        )
        assert bad.status_code == 422
        assert "Enter a valid e-mail address." in bad.text
        assert (await _account(acme, account_id)).email == f"a@{m}.example"
        ok = await b.post(f"/crm/accounts/{account_id}", {"name": f"Edited {m}", "industry": "Printing"})
        assert ok.status_code == 303
    account = await _account(acme, account_id)
    assert (account.name, account.industry, account.email, account.tags) == (
        f"Edited {m}",
        "Printing",
        f"a@{m}.example",
        ["old"],
    )
    assert account.owner_id == acme.users["alice"]
    assert (
        await count_rows(
            acme, "audit_log", "event = 'crm.account_updated' AND entity_id = :i", i=str(account_id)
        )
        == 1
    )


async def test_an_export_longer_than_the_limit_is_refused_not_cut_short(app, acme, monkeypatch):
    from portals import exports

    m = mark()
    for n in range(3):
        await new_account(acme, "alice", name=f"Limit {m} {n}")
    monkeypatch.setattr(exports, "MAX_EXPORT_ROWS", 2)
    async with signed_in(app, acme, "alice") as b:
        refused = await b.get(f"/crm/accounts/export.csv?q={m}")
        narrowed = await b.get(f"/crm/accounts/export.csv?q=Limit {m} 1")
    assert refused.status_code == 422
    assert "text/csv" not in refused.headers["content-type"]
    message = "This list has more than 2 rows. Narrow it with a filter or a search, then export again."
    assert message in refused.text
    assert narrowed.status_code == 200
    rows = list(csv.reader(io.StringIO(narrowed.content.decode("utf-8-sig"))))
    assert [row[1] for row in rows[1:]] == [f"Limit {m} 1"]
