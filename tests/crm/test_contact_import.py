"""CSV import of contacts and accounts (CRM-1): all or nothing, a row-by-row report, accounts
matched or created, duplicates stopped, skipped or imported; the upload page and its one-click
confirmation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.crm.models import Account, Contact
from app.crm.services.account_import import import_accounts
from app.crm.services.contact_import import import_contacts
from app.crm.services.import_support import ImportRejected
from app.kernel.csvfile import csv_bytes
from app.kernel.errors import Forbidden, ValidationFailed
from tenants.service import in_tenant
from tests.crm.customers_support import mark, new_account, new_contact, phone_of
from tests.crm.support import acting_as, count_rows, table_counts
from tests.helpers import signed_in

TABLES = ("crm_accounts", "crm_contacts", "audit_log")
HEADER = ["account_name", "first_name", "last_name", "full_name", "email", "phone", "title", "region", "tags"]


def _csv(rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    return csv_bytes(header, rows)


async def _contacts_named(tenant, marker: str) -> list[Contact]:
    async with in_tenant(tenant.slug) as (session, _):
        stmt = select(Contact).where(Contact.full_name.contains(marker)).order_by(Contact.id)
        return list((await session.execute(stmt)).scalars())


async def test_import_creates_and_matches_accounts_in_a_few_statements(acme):
    m = mark()
    existing = await new_account(acme, name=f"Existing {m} Ltd")
    data = _csv(
        [
            [
                f"上海明辉{m}",
                "芳",
                f"王{m}",
                "",
                f"wang@{m}.cn",
                phone_of(m)[0],
                "采购经理",
                "华东",
                "vip, 展会",
            ],
            [f"上海明辉{m}", "", "", f"Li Lei {m}", "", "", "", "华北", "fair"],
            [f"EXISTING {m} ltd", "Ada", f"King {m}", "", f"ada@{m}.example", "", "", "", ""],
            ["", "", "", f"Solo {m}", f"solo@{m}.example", "", "", "", ""],
        ]
    )
    async with acting_as(acme, "alice") as (session, principal):
        report = await import_contacts(session, principal, data)
    assert (
        report.rows,
        report.created,
        report.accounts_created,
        report.accounts_matched,
        report.written,
    ) == (4, 4, 2, 1, True)
    people = await _contacts_named(acme, m)
    assert [p.full_name for p in people] == [f"王{m}芳", f"Li Lei {m}", f"Ada King {m}", f"Solo {m}"]
    assert [p.is_primary for p in people] == [True, False, False, True]  # first of each new account
    assert people[0].phone_digits == phone_of(m)[1]
    assert people[0].email == f"wang@{m}.cn"
    assert people[2].account_id == existing
    async with in_tenant(acme.slug) as (session, _):
        minghui = await session.get(Account, people[0].account_id)
        solo = await session.get(Account, people[3].account_id)
    assert minghui is not None
    assert solo is not None
    assert (minghui.name, minghui.region, minghui.tags, minghui.source) == (
        f"上海明辉{m}",
        "华东",
        ["vip", "展会", "fair"],
        "import",
    )
    assert (minghui.owner_id, minghui.team_id) == (acme.users["alice"], acme.teams["East"])
    assert (solo.name, solo.kind) == (f"Solo {m}", "person")
    ids = [str(p.id) for p in people]
    audited = await count_rows(
        acme,
        "audit_log",
        "event = 'crm.contacts_imported' AND action = 'crm_contacts.create' "
        "AND entity_id = ANY(:ids) AND actor_id = :u",
        ids=ids,
        u=acme.users["alice"],
    )
    assert audited == 4
    assert (
        await count_rows(
            acme,
            "audit_log",
            "entity_id = :i AND after->>'full_name' = :n AND after ? 'email' AND NOT after ? 'search'",
            i=ids[0],
            n=f"王{m}芳",
        )
        == 1
    )


async def test_any_bad_row_rejects_the_whole_file(acme):
    m = mark()
    data = _csv(
        [
            [f"Fine {m}", "Ok", "Row", "", f"ok@{m}.example", "", "", "", ""],
            [f"Fine {m}", "", "", "", "not-an-email", "phone?", "", "", ""],
            ["x" * 201, "Long", "Name", "", "", "", "", "", "y" * 41],
        ]
    )
    before = await table_counts(acme, *TABLES)
    with pytest.raises(ImportRejected) as err:
        async with acting_as(acme, "alice") as (session, principal):
            await import_contacts(session, principal, data)
    problems = [(p.line, p.field, p.message) for p in err.value.report.problems]
    assert problems == [
        (3, "email", "Enter a valid e-mail address."),
        (3, "full_name", "This field is required."),
        (3, "phone", "Enter a valid phone number (digits, spaces, + - ( ) only)."),
        (4, "account_name", "Use at most {n} characters."),
        (4, "tags", "A tag has at most 40 characters and no commas."),
    ]
    assert err.value.code == "import_rejected"
    assert err.value.params == {"n": 2}
    assert await table_counts(acme, *TABLES) == before


async def test_duplicates_stop_skip_or_import(acme):
    m = mark()
    account = await new_account(acme, name=f"Dup {m}")
    await new_contact(
        acme,
        account,
        full_name=f"Known {m}",
        email=f"known@{m}.example",
        phone=phone_of(m, "21")[0].replace(" ", "-"),
    )
    await new_contact(acme, account, full_name=f"王小明{m}")
    rows = [
        [f"Dup {m}", "", "", f"Mail twin {m}", f"KNOWN@{m}.example", "", "", "", ""],
        [f"Dup {m}", "", "", f"Phone twin {m}", "", phone_of(m, "21")[0], "", "", ""],
        [f"Dup {m}", "", "", f"王小明{m}", "", "", "", "", ""],
        [f"Other {m}", "", "", f"New one {m}", f"new@{m}.example", "", "", "", ""],
        [f"Other {m}", "", "", f"Same file {m}", f"NEW@{m}.example", "", "", "", ""],
    ]
    before = await table_counts(acme, *TABLES)
    with pytest.raises(ImportRejected) as err:
        async with acting_as(acme, "alice") as (session, principal):
            await import_contacts(session, principal, _csv(rows))
    found = [(d.line, d.reason, d.existing_name or d.same_as_line) for d in err.value.report.duplicates]
    assert found == [
        (2, "Same e-mail address", f"Known {m}"),
        (3, "Same phone number", f"Known {m}"),
        (4, "Similar name", f"王小明{m}"),
        (6, "Same e-mail address", 5),
    ]
    assert await table_counts(acme, *TABLES) == before
    async with acting_as(acme, "alice") as (session, principal):
        skipped = await import_contacts(session, principal, _csv(rows), duplicates="skip")
    assert (skipped.created, skipped.skipped, skipped.accounts_created) == (1, 4, 1)
    assert [c.full_name for c in await _contacts_named(acme, f"New one {m}")] == [f"New one {m}"]
    async with acting_as(acme, "alice") as (session, principal):
        everything = await import_contacts(session, principal, _csv(rows[:2]), duplicates="import")
    assert (everything.created, everything.skipped) == (2, 0)


async def test_accounts_hidden_from_the_importer_are_flagged_not_matched(acme):
    m = mark()
    daves = await new_account(acme, "dave", name=f"Westwind {m}")
    data = _csv([[f"westwind {m}", "", "", f"P {m}", "", "", "", "", ""]])
    with pytest.raises(ImportRejected) as err:
        async with acting_as(acme, "alice") as (session, principal):
            await import_contacts(session, principal, data)
    [dup] = err.value.report.duplicates
    assert (dup.line, dup.reason, dup.existing_id, dup.account_name) == (
        2,
        "An account with this name belongs to someone else",
        None,
        f"westwind {m}",
    )
    async with acting_as(acme, "alice") as (session, principal):
        report = await import_contacts(session, principal, data, duplicates="import")
    assert (report.accounts_created, report.accounts_matched) == (1, 0)
    [person] = await _contacts_named(acme, f"P {m}")
    assert person.account_id != daves  # alice's own new account, never dave's


async def test_file_problems_and_permissions(acme):
    async with acting_as(acme, "alice") as (session, principal):
        with pytest.raises(ValidationFailed) as err:
            await import_contacts(session, principal, b"email,phone\r\na@b.example,1\r\n")
        assert err.value.errors[0].message == "The header row needs a column named {columns}."
        with pytest.raises(ValidationFailed):
            await import_contacts(session, principal, b"")
    async with acting_as(acme, "mia") as (session, principal):  # imports leads, may not create accounts
        with pytest.raises(Forbidden):
            await import_contacts(session, principal, _csv([["A", "", "", "B", "", "", "", "", ""]]))


async def test_gb18030_file_from_excel(acme):
    m = mark()
    data = ("account_name,full_name,email\r\n" + f"广州{m}贸易,陈静{m},chen@{m}.cn\r\n").encode("gb18030")
    async with acting_as(acme, "alice") as (session, principal):
        report = await import_contacts(session, principal, data)
    assert report.created == 1
    assert [c.full_name for c in await _contacts_named(acme, m)] == [f"陈静{m}"]


async def test_account_import(acme):
    m = mark()
    await new_account(acme, name=f"Same {m}", email=f"same@{m}.example")
    header = ["name", "kind", "email", "phone", "region", "lifecycle_stage", "tags"]
    rows = [
        [f"New {m} Trading", "company", f"new@{m}.example", "", "华南", "customer", "fair"],
        [f"SAME {m}", "", "", "", "", "", ""],
        [f"Bad {m}", "shop", "", "", "", "vip", ""],
    ]
    with pytest.raises(ImportRejected) as err:
        async with acting_as(acme, "alice") as (session, principal):
            await import_accounts(session, principal, _csv(rows, header))
    assert [(p.line, p.field) for p in err.value.report.problems] == [(4, "kind"), (4, "lifecycle_stage")]
    with pytest.raises(ImportRejected) as err:
        async with acting_as(acme, "alice") as (session, principal):
            await import_accounts(session, principal, _csv(rows[:2], header))
    assert [(d.line, d.reason) for d in err.value.report.duplicates] == [(3, "Same name")]
    async with acting_as(acme, "alice") as (session, principal):
        report = await import_accounts(session, principal, _csv(rows[:2], header), duplicates="skip")
    assert (report.created, report.skipped) == (1, 1)
    async with in_tenant(acme.slug) as (session, _):
        new = (await session.execute(select(Account).where(Account.name == f"New {m} Trading"))).scalar_one()
    assert (new.region, new.lifecycle_stage, new.tags, new.owner_id) == (
        "华南",
        "customer",
        ["fair"],
        acme.users["alice"],
    )


async def test_upload_page_reports_rows_and_confirms_in_one_click(app, acme):
    m = mark()
    account = await new_account(acme, name=f"Page {m}")
    await new_contact(acme, account, full_name=f"Known {m}", email=f"known@{m}.example")
    good = _csv(
        [
            [f"Page {m}", "", "", f"Fresh {m}", f"fresh@{m}.example", "", "", "", ""],
            [f"Page {m}", "", "", f"Twin {m}", f"known@{m}.example", "", "", "", ""],
        ]
    )
    bad = _csv([[f"Page {m}", "", "", "", "nope", "", "", "", ""]])
    async with signed_in(app, acme, "alice") as b:
        page = await b.get("/crm/import")
        assert page.status_code == 200
        assert 'enctype="multipart/form-data"' in page.text
        before = await table_counts(acme, *TABLES)
        refused = await b.client.post(
            "/crm/import",
            data={"csrf_token": b.csrf, "kind": "contacts"},
            files={"file": ("bad.csv", bad, "text/csv")},
        )
        assert refused.status_code == 422
        assert "Enter a valid e-mail address." in refused.text
        assert '<td class="num">2</td>' in refused.text
        empty = await b.client.post(
            "/crm/import",
            data={"csrf_token": b.csrf, "kind": "contacts"},
            files={"file": ("e.csv", b"", "text/csv")},
        )
        assert empty.status_code == 422
        assert "Choose a CSV file to import." in empty.text
        dupes = await b.client.post(
            "/crm/import",
            data={"csrf_token": b.csrf, "kind": "contacts"},
            files={"file": ("good.csv", good, "text/csv")},
        )
        assert dupes.status_code == 422
        assert f"Known {m}" in dupes.text
        assert await table_counts(acme, *TABLES) == before
        token = dupes.text.split('name="token" value="', 1)[1].split('"', 1)[0]
        done = await b.post("/crm/import/confirm", {"token": token, "duplicates": "skip"})
        assert done.status_code == 303
        assert done.headers["location"] == "/crm/contacts"
        again = await b.post("/crm/import/confirm", {"token": token, "duplicates": "skip"})
        assert again.status_code == 422
        assert "no longer waiting" in again.text
        template = await b.get("/crm/import/template.csv?kind=contacts")
        assert template.content.decode("utf-8-sig").startswith("account_name,first_name,last_name,full_name")
    assert [c.full_name for c in await _contacts_named(acme, m)] == [f"Known {m}", f"Fresh {m}"]
    async with signed_in(app, acme, "mia") as b:
        warned = await b.get("/crm/import")
    assert "which your roles do not allow" in warned.text


def test_the_export_formula_guard_is_undone_on_import():
    from app.crm.services.import_support import unescape_cells

    assert unescape_cells({"phone": "'+86 21 6123 4567", "name": "'quoted", "x": "'", "tag": "'=1+1"}) == {
        "phone": "+86 21 6123 4567",
        "name": "'quoted",
        "x": "'",
        "tag": "=1+1",
    }


async def test_the_upload_route_takes_files_over_the_default_body_limit(app, acme):
    m = mark()
    notes = "n" * 1000
    header = ["account_name", "full_name", "notes"]
    big = csv_bytes(header, [[f"Big {m}", f"Person {m} {i}", notes] for i in range(2600)])
    assert len(big) > 2 * 1024 * 1024  # the application's default limit
    async with signed_in(app, acme, "alice") as b:
        await b.get("/crm/import")
        r = await b.client.post(
            "/crm/import",
            data={"csrf_token": b.csrf, "kind": "contacts", "duplicates": "stop"},
            files={"file": ("big.csv", big, "text/csv")},
        )
    assert r.status_code == 303
    assert await count_rows(acme, "crm_contacts", "full_name LIKE :p", p=f"Person {m} %") == 2600


async def test_account_import_flags_similar_company_names_among_the_nearest(acme):
    """The similar-name check takes the nearest cores by KNN per row (bounded work): a legal-form
    variant and a one-letter typo are flagged, an unrelated company is not."""
    m = mark()
    existing = await new_account(acme, name=f"Hangzhou {m} Printing Co., Ltd.")
    header = ["name"]
    rows = [[f"Hangzhou {m} Printing"], [f"Hangzhou {m} Printng Ltd"], [f"Qingdao {mark()} Brewery"]]
    with pytest.raises(ImportRejected) as err:
        async with acting_as(acme, "alice") as (session, principal):
            await import_accounts(session, principal, _csv(rows, header))
    found = [(d.line, d.reason, d.existing_id) for d in err.value.report.duplicates]
    assert found == [(2, "Similar name", existing), (3, "Similar name", existing)]
