"""Importing leads from CSV (CRM-2): all or nothing, a report by line, duplicates against leads and
contacts by e-mail (skipped or kept), owners by column, by choice or by the rules; the page."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from app.crm import events
from app.crm.models import Account, Contact, Lead
from app.crm.services import lead_import
from app.kernel.errors import ValidationFailed
from tenants.service import in_tenant
from tests.crm.support import acting_as, outbox_count, table_counts
from tests.helpers import signed_in


def marker() -> str:
    return uuid.uuid4().hex[:10]


def csv_of(*lines: str, bom: bool = True) -> bytes:
    text = "\r\n".join(lines) + "\r\n"
    return ("\ufeff" + text).encode("utf-8") if bom else text.encode("utf-8")


async def test_a_clean_file_is_imported_with_source_and_owner(acme):
    m = marker()
    data = csv_of(
        "姓名,公司,邮箱,电话,地区,score,notes",
        f"王芳 {m},明辉贸易,wf{m}@example.cn,+86 21 5555 0100,华东,40,Wants a demo",
        f"Li Lei {m},Globe Tea,,+86 592 555 0101,华南,,",
    )
    events_before = await outbox_count(events.LEAD_CREATED)
    async with acting_as(acme, "alice") as (s, alice):
        report = await lead_import.import_leads(s, alice, data, owner="me", source_detail="fair.csv")
        assert (report.rows, report.created, report.skipped, report.problems, report.duplicates) == (
            2,
            2,
            0,
            [],
            [],
        )
        ids = report.lead_ids
    async with acting_as(acme, "alice") as (s, _):
        rows = (await s.execute(select(Lead).where(Lead.id.in_(ids)).order_by(Lead.id))).scalars().all()
        assert [(r.full_name, r.company, r.email, r.region, r.score, r.message) for r in rows] == [
            (f"王芳 {m}", "明辉贸易", f"wf{m}@example.cn", "华东", 40, "Wants a demo"),
            (f"Li Lei {m}", "Globe Tea", None, "华南", 0, ""),
        ]
        assert {(r.source, r.source_detail, r.owner_id, r.team_id) for r in rows} == {
            ("import", "fair.csv", acme.users["alice"], acme.teams["East"])
        }
    assert await outbox_count(events.LEAD_CREATED) == events_before + 2


async def test_one_bad_row_and_nothing_is_imported(acme):
    m = marker()
    data = csv_of(
        "full_name,email,phone,score,source,owner_email",
        f"Good {m},good{m}@x.example,,10,event,",
        f",nobody{m}@x.example,,,,",
        f"Bad mail {m},not-an-email,,,,",
        f"Bad score {m},s{m}@x.example,,150,tv,",
        f"Bad owner {m},o{m}@x.example,,,,nobody@acme.example",
        f"Far owner {m},f{m}@x.example,,,,dave@acme.example",
    )
    before = await table_counts(acme, "crm_leads", "audit_log")
    with pytest.raises(lead_import.ImportRejected) as exc:
        async with acting_as(acme, "alice") as (s, alice):
            await lead_import.import_leads(s, alice, data)
    problems = [(p.line, p.field, p.message.format(**p.params)) for p in exc.value.report.problems]
    assert problems == [
        (3, "full_name", "This field is required."),
        (4, "email", "Enter a valid e-mail address."),
        (5, "score", "Must be at most 100."),
        (
            5,
            "source",
            "Choose one of: manual, web_form, api, import, campaign, referral, event, email, phone.",
        ),
        (6, "owner_email", "No staff member has the e-mail nobody@acme.example."),
        (7, "owner_email", "You may only assign records to yourself or your team."),
    ]
    assert await table_counts(acme, "crm_leads", "audit_log") == before


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "The file is empty."),
        (b"email,phone\r\na@b.example,\r\n", "The header row needs a name column (full_name or name)."),
        (b"name,company\r\nX,Y\r\n", "The header row needs an email or a phone column."),
        (b"\x00\x01PK\x03\x04binary", "This is not a CSV file (it contains binary data)."),
    ],
)
async def test_files_that_are_not_lead_lists_are_refused(acme, data, expected):
    with pytest.raises(ValidationFailed) as exc:
        async with acting_as(acme, "alice") as (s, alice):
            await lead_import.import_leads(s, alice, data)
    assert [e.message for e in exc.value.errors] == [expected]


async def test_gb18030_files_from_chinese_excel_are_read(acme):
    m = marker()
    data = f"姓名,邮箱\r\n张伟 {m},zw{m}@example.cn\r\n".encode("gb18030")
    async with acting_as(acme, "alice") as (s, alice):
        report = await lead_import.import_leads(s, alice, data, owner="me")
        assert report.created == 1
        assert (await s.get(Lead, report.lead_ids[0])).full_name == f"张伟 {m}"


async def test_duplicates_by_email_are_reported_and_skipped_or_kept(acme):
    m = marker()
    async with in_tenant(acme.slug) as (s, _):
        s.add(Lead(full_name="Known lead", email=f"lead{m}@x.example"))
        account = Account(name=f"Known {m}")
        s.add(account)
        await s.flush()
        s.add(Contact(account_id=account.id, full_name="Known contact", email=f"contact{m}@x.example"))
    data = csv_of(
        "name,email",
        f"New {m},new{m}@x.example",
        f"Again {m},LEAD{m}@x.example",
        f"Person {m},contact{m}@x.example",
        f"Twice {m},new{m}@X.example",
    )
    async with acting_as(acme, "alice") as (s, alice):
        report = await lead_import.import_leads(s, alice, data, owner="me", skip_duplicates=True)
        assert [
            (d.line, d.email, d.lead_id is not None, d.contact_id is not None, d.earlier_line)
            for d in report.duplicates
        ] == [
            (3, f"lead{m}@x.example", True, False, None),
            (4, f"contact{m}@x.example", False, True, None),
            (5, f"new{m}@x.example", False, False, 2),
        ]
        assert (report.created, report.skipped) == (1, 3)
    async with acting_as(acme, "alice") as (s, alice):
        kept = await lead_import.import_leads(s, alice, data, owner="me", skip_duplicates=False)
        assert (kept.created, kept.skipped, len(kept.duplicates)) == (4, 0, 4)  # now "new" is known too
    async with in_tenant(acme.slug) as (s, _):
        count = await s.scalar(select(func.count()).select_from(Lead).where(Lead.full_name.like(f"% {m}")))
        assert count == 5


async def test_without_an_owner_the_rules_decide_and_owners_hear_once(acme):
    from sqlalchemy import any_, delete

    from app.crm.models import AssignmentRule
    from app.crm.services import lead_assignment
    from app.notifications.models import Notification

    m = marker()
    region = f"R-{m}"
    async with in_tenant(acme.slug) as (s, _):
        await lead_assignment.create_rule(
            s,
            {
                "name": "Import split",
                "strategy": "round_robin",
                "active": "1",
                "match_regions": region,
                "user_ids": [str(acme.users["alice"]), str(acme.users["sam"])],
            },
        )
    rows = [f"P{i} {m},p{i}{m}@x.example,{region}" for i in range(5)]
    try:
        async with acting_as(acme, "sam") as (s, sam):
            report = await lead_import.import_leads(s, sam, csv_of("name,email,region", *rows))
        async with in_tenant(acme.slug) as (s, _):
            owners = await s.execute(
                select(Lead.owner_id).where(Lead.id.in_(report.lead_ids)).order_by(Lead.id)
            )
            a, sm = acme.users["alice"], acme.users["sam"]
            assert list(owners.scalars()) == [a, sm, a, sm, a]
            notes = (
                await s.execute(
                    select(Notification.title).where(
                        Notification.user_id == a,
                        Notification.title == "3 imported leads are assigned to you",
                    )
                )
            ).all()
            assert len(notes) == 1  # one notice for the batch; sam imported and is not told
    finally:
        async with in_tenant(acme.slug) as (s, _):
            await s.execute(delete(AssignmentRule).where(any_(AssignmentRule.match_regions) == region))


async def test_the_import_page(app, acme):
    m = marker()
    async with signed_in(app, acme, "alice") as b:
        page = await b.get("/sales/leads/import")
        assert page.status_code == 200
        bad = await b.client.post(
            "/sales/leads/import",
            data={"csrf_token": b.csrf, "owner": "me", "skip_duplicates": "1"},
            files={"file": ("leads.csv", csv_of("name,email", f"Ok {m},ok{m}@x.example", f"Nope {m},nope"))},
        )
        assert bad.status_code == 422
        assert True
        assert "1 problem — nothing was imported" in bad.text
        assert "Enter a valid e-mail address." in bad.text
        ok = await b.client.post(
            "/sales/leads/import",
            data={"csrf_token": b.csrf, "owner": "me", "skip_duplicates": "1"},
            files={"file": ("leads.csv", csv_of("name,email", f"Ok {m},ok{m}@x.example"))},
        )
        assert ok.status_code == 200
        assert "1 lead imported." in ok.text
        none = await b.client.post("/sales/leads/import", data={"csrf_token": b.csrf, "owner": "me"})
        assert none.status_code == 422
        assert "Choose a CSV file." in none.text
    async with signed_in(app, acme, "sue") as b:
        assert (await b.get("/sales/leads/import")).status_code == 403
