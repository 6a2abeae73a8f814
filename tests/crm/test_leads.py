"""Leads (CRM-2), service level: capture with source, record rules, qualification, activities."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from app.crm import events
from app.crm.errors import AlreadyConverted
from app.crm.models import Lead
from app.crm.models.leads import LEAD_SOURCES
from app.crm.services import lead_activities, leads
from app.kernel.errors import NotFound, ValidationFailed
from app.notifications.models import Notification
from tests.crm.factories.leads import add_lead
from tests.crm.support import acting_as, count_rows, outbox_count, table_counts


def marker() -> str:
    return uuid.uuid4().hex[:10]


def errors_of(exc: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {e.field: e.message.format(**e.params) for e in exc.value.errors}


async def test_a_rep_captures_a_lead_they_own_with_its_source(acme):
    m = marker()
    before = await outbox_count(events.LEAD_CREATED)
    async with acting_as(acme, "alice") as (s, alice):
        lead = await leads.create_lead(
            s,
            alice,
            {
                "full_name": f"  Wang   Fang {m} ",
                "email": f"WF.{m}@Example.CN",
                "phone": "+86 138-0013-8000",
                "company": "上海明辉贸易",
                "region": "华东",
                "source": "event",
                "source_detail": "Canton Fair 2026",
                "owner_id": str(alice.id),
                "score": "40",
            },
        )
        lead_id = lead.id
    async with acting_as(acme, "alice") as (s, alice):
        stored = await leads.get_lead(s, alice, lead_id)
        assert (stored.full_name, stored.email, stored.phone) == (
            f"Wang Fang {m}",
            f"wf.{m}@example.cn",
            "+86 138-0013-8000",
        )
        assert (stored.source, stored.source_detail, stored.status, stored.score) == (
            "event",
            "Canton Fair 2026",
            "new",
            40,
        )
        assert (stored.owner_id, stored.team_id) == (acme.users["alice"], acme.teams["East"])
        # Capturing your own lead notifies nobody.
        notes = await s.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.link == f"/sales/leads/{lead_id}")
        )
        assert notes == 0
    assert await outbox_count(events.LEAD_CREATED) == before + 1


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"full_name": "", "email": "a@b.example"}, {"full_name": "This field is required."}),
        ({"full_name": "X", "email": "not-an-email"}, {"email": "Enter a valid e-mail address."}),
        (
            {"full_name": "X", "phone": "call me maybe"},
            {"phone": "Enter a valid phone number (digits, spaces, + - ( ) only)."},
        ),
        ({"full_name": "X"}, {"email": "Give an e-mail address or a phone number."}),
        (
            {"full_name": "X", "email": "a@b.example", "status": "won"},
            {"status": "Choose one of: new, contacted, qualified."},
        ),
        (
            {"full_name": "X", "email": "a@b.example", "status": "converted"},
            {"status": "Choose one of: new, contacted, qualified."},
        ),
        ({"full_name": "X", "email": "a@b.example", "score": "101"}, {"score": "Must be at most 100."}),
        (
            {"full_name": "X", "email": "a@b.example", "source": "tv"},
            {"source": "Choose one of: " + ", ".join(LEAD_SOURCES) + "."},
        ),
        (
            {"full_name": "X", "email": "a@b.example", "campaign_id": "999999"},
            {"campaign_id": "Choose an existing campaign."},
        ),
        ({"full_name": "X" * 201, "email": "a@b.example"}, {"full_name": "Use at most 200 characters."}),
        (
            {"full_name": "X", "email": "a@b.example", "country": "China"},
            {"country": "Use the two-letter country code (CN, TW, HK, SG, US…)."},
        ),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_written(acme, data, expected):
    before = await table_counts(acme, "crm_leads", "audit_log")
    outbox = await outbox_count(events.LEAD_CREATED)
    with pytest.raises(ValidationFailed) as exc:
        async with acting_as(acme, "alice") as (s, alice):
            await leads.create_lead(s, alice, data)
    assert errors_of(exc) == expected
    assert await table_counts(acme, "crm_leads", "audit_log") == before
    assert await outbox_count(events.LEAD_CREATED) == outbox


async def test_a_rep_cannot_give_a_lead_to_another_team(acme):
    before = await count_rows(acme, "crm_leads")
    with pytest.raises(ValidationFailed) as exc:
        async with acting_as(acme, "alice") as (s, alice):
            await leads.create_lead(
                s, alice, {"full_name": "X", "email": "x@y.example", "owner_id": acme.users["dave"]}
            )
    assert errors_of(exc) == {"owner_id": "You may only assign records to yourself or your team."}
    assert await count_rows(acme, "crm_leads") == before


async def test_giving_a_lead_to_someone_else_notifies_them(acme):
    m = marker()
    async with acting_as(acme, "sam") as (s, sam):
        lead = await leads.create_lead(
            s,
            sam,
            {
                "full_name": f"Li Lei {m}",
                "company": "Globe Tea",
                "email": f"{m}@x.example",
                "owner_id": acme.users["alice"],
            },
        )
        lead_id = lead.id
    async with acting_as(acme, "alice") as (s, _):
        note = await s.scalar(select(Notification).where(Notification.link == f"/sales/leads/{lead_id}"))
        assert note is not None
        assert (note.kind, note.title, note.user_id) == (
            "crm.lead_assigned",
            f"New lead for you: Li Lei {m} (Globe Tea)",
            acme.users["alice"],
        )
        assert note.body == "Source: Entered by hand"


async def test_record_rules_own_team_all_and_unassigned(acme):
    m = marker()
    async with acting_as(acme, "ada") as (s, _):
        mine = await add_lead(s, f"Alice's {m}", owner_id=acme.users["alice"], team_id=acme.teams["East"])
        daves = await add_lead(s, f"Dave's {m}", owner_id=acme.users["dave"], team_id=acme.teams["West"])
        nobody = await add_lead(s, f"Nobody's {m}")
        ids = {"alice": mine.id, "dave": daves.id, "none": nobody.id}

    async def visible(persona: str) -> set[int]:
        async with acting_as(acme, persona) as (s, p):
            stmt = leads.search_leads(leads.visible_leads(p), m)
            return {lead.id for lead in (await s.execute(stmt)).scalars()}

    assert await visible("alice") == {ids["alice"]}
    assert await visible("dave") == {ids["dave"]}
    assert await visible("sam") == {ids["alice"], ids["none"]}  # the team's, and the unassigned
    assert await visible("ada") == set(ids.values())
    assert await visible("mia") == set(ids.values())  # marketing reads every lead
    assert await visible("bob") == set()
    async with acting_as(acme, "alice") as (s, alice):
        with pytest.raises(NotFound):
            await leads.get_lead(s, alice, ids["dave"])
        with pytest.raises(NotFound):
            await leads.get_lead(s, alice, ids["none"])
    async with acting_as(acme, "sam") as (s, sam):
        updated = await leads.update_lead(s, sam, ids["none"], {"owner_id": acme.users["alice"]})
        assert (updated.owner_id, updated.team_id) == (acme.users["alice"], acme.teams["East"])


async def test_search_finds_names_companies_emails_and_chinese_substrings(acme):
    m = marker()
    async with acting_as(acme, "ada") as (s, _):
        a = await add_lead(s, f"张伟 {m}", company="上海张伟科技有限公司", email=f"zw{m}@corp.example")
        b = await add_lead(s, f"Olivia Stone {m}", company="Stone & Co", phone="+1 555 0100")
    async with acting_as(acme, "ada") as (s, ada):

        async def found(q: str) -> set[int]:
            stmt = leads.search_leads(leads.visible_leads(ada), q).where(Lead.id.in_([a.id, b.id]))
            return {lead.id for lead in (await s.execute(stmt)).scalars()}

        assert await found("张伟科技") == {a.id}
        assert await found(f"zw{m}") == {a.id}
        assert await found("olivia sto") == {b.id}
        assert await found("stone & co") == {b.id}
        assert await found("100%_") == set()


async def test_qualify_disqualify_reopen(acme):
    m = marker()
    async with acting_as(acme, "ada") as (s, _):
        lead = await add_lead(s, f"Q {m}", owner_id=acme.users["alice"], team_id=acme.teams["East"])
    async with acting_as(acme, "alice") as (s, alice):
        done = await leads.qualify_lead(s, alice, lead.id, score="85")
        assert (done.status, done.score, done.qualified_at is not None) == ("qualified", 85, True)
    async with acting_as(acme, "alice") as (s, alice):
        done = await leads.disqualify_lead(s, alice, lead.id, reason="  No budget  this year ")
        assert (done.status, done.disqualified_reason, done.qualified_at) == (
            "disqualified",
            "No budget this year",
            None,
        )
    async with acting_as(acme, "alice") as (s, alice):
        reopened = await leads.set_status(s, alice, lead.id, "contacted")
        assert (reopened.status, reopened.disqualified_reason) == ("contacted", None)


async def test_disqualifying_needs_a_reason_and_other_reps_cannot(acme):
    m = marker()
    async with acting_as(acme, "ada") as (s, _):
        lead = await add_lead(s, f"D {m}", owner_id=acme.users["alice"], team_id=acme.teams["East"])
    with pytest.raises(ValidationFailed) as exc:
        async with acting_as(acme, "alice") as (s, alice):
            await leads.disqualify_lead(s, alice, lead.id, reason="   ")
    assert errors_of(exc) == {"reason": "This field is required."}
    with pytest.raises(NotFound):
        async with acting_as(acme, "dave") as (s, dave):
            await leads.disqualify_lead(s, dave, lead.id, reason="mine now")
    with pytest.raises(ValidationFailed) as exc:
        async with acting_as(acme, "alice") as (s, alice):
            await leads.set_status(s, alice, lead.id, "won")
    assert errors_of(exc) == {"status": "Choose one of: new, contacted, qualified."}
    async with acting_as(acme, "alice") as (s, alice):
        assert (await leads.get_lead(s, alice, lead.id)).status == "new"


async def test_without_lead_permissions_a_lead_reads_as_missing(acme):
    m = marker()
    async with acting_as(acme, "ada") as (s, _):
        lead = await add_lead(s, f"R {m}", owner_id=acme.users["alice"], team_id=acme.teams["East"])
    with pytest.raises(NotFound):
        async with acting_as(acme, "sue") as (s, sue):  # service agents hold no lead permissions
            await leads.get_writable_lead(s, sue, lead.id)


async def test_a_converted_lead_cannot_change(acme):
    m = marker()
    async with acting_as(acme, "ada") as (s, _):
        lead = await add_lead(s, f"C {m}", status="converted", owner_id=acme.users["alice"])
    with pytest.raises(AlreadyConverted):
        async with acting_as(acme, "ada") as (s, ada):
            await leads.update_lead(s, ada, lead.id, {"full_name": "Changed"})
    with pytest.raises(AlreadyConverted):
        async with acting_as(acme, "ada") as (s, ada):
            await leads.disqualify_lead(s, ada, lead.id, reason="x")
    async with acting_as(acme, "ada") as (s, ada):
        assert (await leads.get_lead(s, ada, lead.id)).full_name == f"C {m}"


async def test_logging_a_call_moves_a_new_lead_to_contacted(acme):
    m = marker()
    async with acting_as(acme, "ada") as (s, _):
        lead = await add_lead(s, f"A {m}", owner_id=acme.users["alice"], team_id=acme.teams["East"])
    async with acting_as(acme, "alice") as (s, alice):
        call = await lead_activities.log_activity(
            s,
            alice,
            lead.id,
            {"kind": "call", "subject": "Intro call", "body": "Wants 100 units", "direction": "out"},
        )
        assert (call.kind, call.direction, call.user_id, call.lead_id) == ("call", "out", alice.id, lead.id)
    async with acting_as(acme, "alice") as (s, alice):
        stored = await leads.get_lead(s, alice, lead.id)
        assert stored.status == "contacted"
        timeline = await lead_activities.lead_activities(s, stored)
        assert [(a.kind, a.subject) for a in timeline] == [("call", "Intro call")]


async def test_logging_bad_activities_is_refused(acme):
    m = marker()
    async with acting_as(acme, "ada") as (s, _):
        lead = await add_lead(s, f"B {m}", owner_id=acme.users["alice"], team_id=acme.teams["East"])
    before = await count_rows(acme, "crm_activities", "lead_id = :id", id=lead.id)
    with pytest.raises(ValidationFailed) as exc:
        async with acting_as(acme, "alice") as (s, alice):
            await lead_activities.log_activity(
                s, alice, lead.id, {"kind": "fax", "subject": "", "occurred_at": "2999-01-01T10:00"}
            )
    assert errors_of(exc) == {
        "kind": "Choose one of: call, email, meeting, note.",
        "subject": "This field is required.",
        "occurred_at": "This moment is in the future.",
    }
    assert await count_rows(acme, "crm_activities", "lead_id = :id", id=lead.id) == before
    async with acting_as(acme, "alice") as (s, alice):
        assert (await leads.get_lead(s, alice, lead.id)).status == "new"
    assert await count_rows(acme, "crm_activities", "lead_id = :id", id=lead.id) == 0
