"""Converting a lead (CRM-2): account + contact + opportunity in one transaction, attaching to an
existing account, the proposed matches, converting twice, disqualified leads, and the page."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.crm import events
from app.crm.errors import AlreadyConverted
from app.crm.models import Account, Activity, Contact, Lead, Opportunity
from app.crm.services import lead_conversion
from app.crm.services.lead_conversion import LeadDisqualified
from app.kernel.errors import Forbidden, NotFound, ValidationFailed
from tenants.service import in_tenant
from tests.crm.factories.leads import add_lead
from tests.crm.support import acting_as, outbox_count, table_counts
from tests.helpers import signed_in

TABLES = ("crm_accounts", "crm_contacts", "crm_opportunities", "crm_stage_changes", "crm_leads", "audit_log")


def marker() -> str:
    return uuid.uuid4().hex[:10]


def errors_of(exc: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {e.field: e.message.format(**e.params) for e in exc.value.errors}


async def _alices_lead(acme, m: str, **values) -> int:
    async with in_tenant(acme.slug) as (s, _):
        lead = await add_lead(
            s,
            values.pop("name", f"Wang Fang {m}"),
            company=values.pop("company", f"明辉贸易 {m}"),
            email=f"wf{m}@minghui.example",
            phone="+86 21 5555 0100",
            title="采购经理",
            region="华东",
            source="web_form",
            message="需要 100 台打印机",
            owner_id=acme.users["alice"],
            team_id=acme.teams["East"],
            status=values.pop("status", "qualified"),
            **values,
        )
        s.add(Activity(kind="call", subject="Intro", lead_id=lead.id, user_id=acme.users["alice"]))
        return lead.id


async def test_convert_into_a_new_account_contact_and_opportunity(acme):
    m = marker()
    lead_id = await _alices_lead(acme, m)
    before = await outbox_count(events.LEAD_CONVERTED)
    async with acting_as(acme, "alice") as (s, alice):
        done = await lead_conversion.convert_lead(
            s,
            alice,
            lead_id,
            {
                "account_mode": "new",
                "create_opportunity": "1",
                "opportunity_name": "100 台 A2 打印机",
                "opportunity_amount": "120000",
                "opportunity_close_date": "2027-01-31",
            },
        )
        ids = (done.account.id, done.contact.id, done.opportunity.id)
        assert (done.account_created, done.contact_created) == (True, True)
    async with acting_as(acme, "alice") as (s, _):
        lead = await s.get(Lead, lead_id)
        account, contact, opp = (
            await s.get(Account, ids[0]),
            await s.get(Contact, ids[1]),
            await s.get(Opportunity, ids[2]),
        )
        assert (
            lead.status,
            lead.converted_account_id,
            lead.converted_contact_id,
            lead.converted_opportunity_id,
        ) == (
            "converted",
            *ids,
        )
        assert lead.converted_at is not None
        assert (account.name, account.kind, account.region, account.source, account.owner_id) == (
            f"明辉贸易 {m}",
            "company",
            "华东",
            "web_form",
            acme.users["alice"],
        )
        assert account.email is None  # a company account does not take the person's address
        assert (contact.full_name, contact.email, contact.title, contact.is_primary, contact.account_id) == (
            f"Wang Fang {m}",
            f"wf{m}@minghui.example",
            "采购经理",
            True,
            account.id,
        )
        assert (opp.name, opp.amount, str(opp.expected_close_date), opp.account_id, opp.contact_id) == (
            "100 台 A2 打印机",
            Decimal("120000.00"),
            "2027-01-31",
            account.id,
            contact.id,
        )
        assert (opp.source, opp.owner_id, opp.description) == (
            "web_form",
            acme.users["alice"],
            "需要 100 台打印机",
        )
        call = await s.scalar(select(Activity).where(Activity.lead_id == lead_id))
        assert (call.account_id, call.contact_id) == (account.id, contact.id)  # joins the account timeline
    assert await outbox_count(events.LEAD_CONVERTED) == before + 1


async def test_attach_to_an_existing_account_reusing_its_contact(acme):
    m = marker()
    lead_id = await _alices_lead(acme, m)
    async with acting_as(acme, "alice") as (s, _):
        account = Account(
            name=f"明辉贸易有限公司 {m}", owner_id=acme.users["alice"], team_id=acme.teams["East"]
        )
        s.add(account)
        await s.flush()
        known = Contact(account_id=account.id, full_name="Fang W.", email=f"WF{m}@minghui.example")
        s.add(known)
        await s.flush()
        account_id, known_id = account.id, known.id
    async with acting_as(acme, "alice") as (s, alice):
        lead = await s.get(Lead, lead_id)
        suggested = await lead_conversion.likely_accounts(s, alice, lead)
        assert suggested[0].id == account_id
    before = await table_counts(acme, "crm_accounts", "crm_contacts", "crm_opportunities")
    async with acting_as(acme, "alice") as (s, alice):
        done = await lead_conversion.convert_lead(
            s, alice, lead_id, {"account_mode": "existing", "account_id": str(account_id)}
        )
        assert (done.account.id, done.contact.id, done.opportunity) == (account_id, known_id, None)
        assert (done.account_created, done.contact_created) == (False, False)
    after = await table_counts(acme, "crm_accounts", "crm_contacts", "crm_opportunities")
    assert after == before


async def test_converting_twice_is_refused_and_changes_nothing(acme):
    m = marker()
    lead_id = await _alices_lead(acme, m)
    async with acting_as(acme, "alice") as (s, alice):
        await lead_conversion.convert_lead(s, alice, lead_id, {"account_mode": "new"})
    before = await table_counts(acme, *TABLES)
    events_before = await outbox_count(events.LEAD_CONVERTED)
    with pytest.raises(AlreadyConverted) as exc:
        async with acting_as(acme, "alice") as (s, alice):
            await lead_conversion.convert_lead(s, alice, lead_id, {"account_mode": "new"})
    assert (exc.value.status, exc.value.code) == (409, "lead_already_converted")
    assert await table_counts(acme, *TABLES) == before
    assert await outbox_count(events.LEAD_CONVERTED) == events_before


async def test_two_people_converting_at_once_make_one_account(acme):
    m = marker()
    lead_id = await _alices_lead(acme, m)
    before = await table_counts(acme, "crm_accounts")

    async def convert(persona: str) -> str:
        try:
            async with acting_as(acme, persona) as (s, p):
                await lead_conversion.convert_lead(s, p, lead_id, {"account_mode": "new"})
                await asyncio.sleep(0.2)  # hold the lead's row lock until commit
            return "converted"
        except AlreadyConverted:
            return "refused"

    results = await asyncio.gather(convert("alice"), convert("sam"))
    assert sorted(results) == ["converted", "refused"]
    assert (await table_counts(acme, "crm_accounts"))["crm_accounts"] == before["crm_accounts"] + 1


async def test_a_disqualified_lead_cannot_be_converted(acme):
    m = marker()
    lead_id = await _alices_lead(acme, m, status="disqualified")
    before = await table_counts(acme, *TABLES)
    with pytest.raises(LeadDisqualified) as exc:
        async with acting_as(acme, "alice") as (s, alice):
            await lead_conversion.convert_lead(s, alice, lead_id, {"account_mode": "new"})
    assert exc.value.english == "A disqualified lead cannot be converted. Reopen it first."
    assert await table_counts(acme, *TABLES) == before


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"account_mode": "existing"}, {"account_id": "Choose the account to attach the lead to."}),
        (
            {"account_mode": "existing", "account_id": "999999"},
            {"account_id": "Choose an account you may change."},
        ),
        ({"account_mode": "sideways"}, {"account_mode": "Choose one of: new, existing."}),
        ({"account_name": "x" * 201}, {"account_name": "Use at most 200 characters."}),
        (
            {
                "create_opportunity": "1",
                "opportunity_name": "",
                "opportunity_amount": "-5",
                "opportunity_close_date": "31/01/2027",
            },
            {
                "opportunity_name": "This field is required.",
                "opportunity_amount": "Must be at least 0.",
                "opportunity_close_date": "Enter a date as YYYY-MM-DD.",
            },
        ),
        (
            {"create_opportunity": "1", "opportunity_name": "Deal", "opportunity_stage_id": "999999"},
            {"opportunity_stage_id": "Choose an open stage of the pipeline."},
        ),
    ],
)
async def test_bad_choices_are_refused_with_nothing_written(acme, data, expected):
    lead_id = await _alices_lead(acme, marker())
    before = await table_counts(acme, *TABLES)
    with pytest.raises(ValidationFailed) as exc:
        async with acting_as(acme, "alice") as (s, alice):
            await lead_conversion.convert_lead(s, alice, lead_id, data)
    assert errors_of(exc) == expected
    assert await table_counts(acme, *TABLES) == before
    async with acting_as(acme, "alice") as (s, _):
        assert (await s.get(Lead, lead_id)).status == "qualified"


async def test_another_reps_account_and_lead_are_out_of_reach(acme):
    m = marker()
    lead_id = await _alices_lead(acme, m)
    async with in_tenant(acme.slug) as (s, _):
        daves = Account(name=f"Dave's {m}", owner_id=acme.users["dave"], team_id=acme.teams["West"])
        s.add(daves)
        await s.flush()
        daves_id = daves.id
    with pytest.raises(ValidationFailed) as exc:
        async with acting_as(acme, "alice") as (s, alice):
            await lead_conversion.convert_lead(
                s, alice, lead_id, {"account_mode": "existing", "account_id": daves_id}
            )
    assert errors_of(exc) == {"account_id": "Choose an account you may change."}
    with pytest.raises(NotFound):
        async with acting_as(acme, "dave") as (s, dave):
            await lead_conversion.convert_lead(s, dave, lead_id, {"account_mode": "new"})
    with pytest.raises(Forbidden):  # marketing may qualify leads but not create accounts
        async with acting_as(acme, "mia") as (s, mia):
            await lead_conversion.convert_lead(s, mia, lead_id, {"account_mode": "new"})


async def test_the_convert_page(app, acme):
    m = marker()
    lead_id = await _alices_lead(acme, m, company=f"Globe Tea {m}")
    async with in_tenant(acme.slug) as (s, _):
        s.add(
            Account(name=f"Globe Tea Company {m}", owner_id=acme.users["alice"], team_id=acme.teams["East"])
        )
    async with signed_in(app, acme, "alice") as b:
        page = await b.get(f"/sales/leads/{lead_id}/convert")
        assert page.status_code == 200
        assert f"Globe Tea Company {m}" in page.text
        assert "likely match" in page.text
        search = await b.htmx("GET", f"/sales/leads/{lead_id}/convert/accounts?q=globe+tea+company+{m}")
        assert f"Globe Tea Company {m}" in search.text
        bad = await b.post(
            f"/sales/leads/{lead_id}/convert",
            {
                "account_mode": "new",
                "create_opportunity": "1",
                "opportunity_name": "",
                "opportunity_amount": "abc",
            },
        )
        assert bad.status_code == 422
        assert "Enter a number." in bad.text
        ok = await b.post(
            f"/sales/leads/{lead_id}/convert",
            {
                "account_mode": "new",
                "account_name": f"Globe Tea (Xiamen) {m}",
                "create_opportunity": "1",
                "opportunity_name": "Spring order",
                "opportunity_amount": "8800.50",
            },
        )
        assert ok.status_code == 303
        detail = await b.get(f"/sales/leads/{lead_id}")
        assert f"is converted: account Globe Tea (Xiamen) {m}" in detail.text
        assert "Open the account" in detail.text
        again = await b.post(f"/sales/leads/{lead_id}/convert", {"account_mode": "new"})
        assert again.status_code == 409
        assert "This lead has already been converted." in again.text
