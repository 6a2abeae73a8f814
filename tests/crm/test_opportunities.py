"""Opportunities (CRM-3), the service: create, update, move through stages, reassign — with the
record rules and every kind of bad input answered by field errors and nothing written."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.crm import events
from app.crm.models import StageChange
from app.crm.services import opportunities as opps
from app.kernel.errors import Forbidden, NotFound, ValidationFailed
from tests.crm.factories.pipeline import (
    PIPELINE_TABLES,
    deal_row,
    new_account,
    new_deal,
    published,
    stage_ids,
)
from tests.crm.support import acting_as, table_counts


def tag() -> str:
    return uuid.uuid4().hex[:8]


def fields(exc: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {e.field: e.message for e in exc.value.errors}


async def history(tenant, opportunity_id: int) -> list[tuple[int | None, int]]:
    from tenants.service import in_tenant

    async with in_tenant(tenant.slug) as (session, _):
        rows = await session.execute(
            select(StageChange.from_stage_id, StageChange.to_stage_id)
            .where(StageChange.opportunity_id == opportunity_id)
            .order_by(StageChange.id)
        )
        return [tuple(r) for r in rows.all()]


async def test_create_starts_in_the_first_stage_with_its_probability(acme):
    stages = await stage_ids(acme)
    account = await new_account(acme, "alice", f"Acct {tag()}")
    deal = await new_deal(acme, "alice", account, name="  Two   printers ", amount="1200.50")
    row = await deal_row(acme, deal)
    assert (row.name, row.amount, row.currency, row.probability) == (
        "Two printers",
        Decimal("1200.50"),
        "CNY",
        10,
    )
    assert (row.stage_id, row.owner_id, row.team_id) == (
        stages["prospecting"],
        acme.users["alice"],
        acme.teams["East"],
    )
    assert row.closed_at is None
    assert await history(acme, deal) == [(None, stages["prospecting"])]


async def test_create_in_the_won_stage_closes_the_deal_and_announces_it(acme):
    stages = await stage_ids(acme)
    account = await new_account(acme, "alice", f"Acct {tag()}")
    deal = await new_deal(acme, "alice", account, name="Signed already", amount="500", stage_id=stages["won"],
                          expected_close_date="2026-12-31")  # fmt: skip
    row = await deal_row(acme, deal)
    assert row.probability == 100
    assert row.closed_at is not None
    assert await published(events.OPPORTUNITY_WON, deal) == [
        {"opportunity_id": deal, "account_id": account, "amount": "500.00", "currency": "CNY",
         "owner_id": acme.users["alice"], "expected_close_date": "2026-12-31"}
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"amount": "-1"}, {"amount": "Must be at least {min}."}),
        ({"amount": "12.345"}, {"amount": "Use at most {n} decimal places."}),
        ({"amount": "lots"}, {"amount": "Enter a number."}),
        ({"probability": "101"}, {"probability": "Must be at most {max}."}),
        ({"probability": "-5"}, {"probability": "Must be at least {min}."}),
        ({"stage_id": "999999"}, {"stage_id": "Choose one of the pipeline's stages."}),
        ({"name": " "}, {"name": "This field is required."}),
        ({"expected_close_date": "31/12/2026"}, {"expected_close_date": "Enter a date as YYYY-MM-DD."}),
        ({"currency": "yuan"}, {"currency": "Use a three-letter currency code (CNY, TWD, USD…)."}),
        ({"campaign_id": "999999"}, {"campaign_id": "Choose an existing campaign."}),
        ({"owner_id": "dave"}, {"owner_id": "Enter a whole number."}),
    ],
)
async def test_bad_input_on_create_is_refused_and_nothing_is_written(acme, data, errors):
    account = await new_account(acme, "alice", f"Acct {tag()}")
    before = await table_counts(acme, *PIPELINE_TABLES)
    with pytest.raises(ValidationFailed) as exc:
        await new_deal(acme, "alice", account, **{"name": "Fine", "amount": "10", **data})
    assert fields(exc) == errors
    assert await table_counts(acme, *PIPELINE_TABLES) == before


async def test_create_refuses_what_the_rep_may_not_touch(acme):
    stages = await stage_ids(acme)
    mine = await new_account(acme, "alice", f"Mine {tag()}")
    daves = await new_account(acme, "dave", f"Dave's {tag()}")
    before = await table_counts(acme, *PIPELINE_TABLES)
    with pytest.raises(ValidationFailed) as exc:
        await new_deal(acme, "alice", daves, name="Steal", owner_id=acme.users["dave"])
    assert fields(exc) == {
        "account_id": "Choose an existing account.",  # hidden by the record rules: as if missing
        "owner_id": "You may only assign records to yourself or your team.",
    }
    with pytest.raises(ValidationFailed) as exc:
        await new_deal(acme, "alice", mine, name="Lost at birth", stage_id=stages["lost"])
    assert fields(exc) == {"lost_reason": "Say why the deal was lost."}
    with pytest.raises(ValidationFailed) as exc:
        await new_deal(acme, "alice", mine, name="No one", owner_id=acme.users["carol"])
    assert fields(exc) == {"owner_id": "Choose an active staff member."}
    assert await table_counts(acme, *PIPELINE_TABLES) == before


async def test_move_records_the_change_takes_the_probability_and_closes(acme):
    stages = await stage_ids(acme)
    account = await new_account(acme, "alice", f"Acct {tag()}")
    deal = await new_deal(acme, "alice", account, name="Mover", amount="8000")
    async with acting_as(acme, "alice") as (session, p):
        await opps.move_to_stage(session, p, deal, stages["proposal"])
    assert (await deal_row(acme, deal)).probability == 60
    async with acting_as(acme, "alice") as (session, p):
        await opps.move_to_stage(session, p, deal, stages["negotiation"], probability=90)
    assert (await deal_row(acme, deal)).probability == 90  # the rep's own estimate
    async with acting_as(acme, "alice") as (session, p):
        await opps.move_to_stage(session, p, deal, stages["lost"], lost_reason="  Cheaper supplier ")
    row = await deal_row(acme, deal)
    assert (row.stage_id, row.probability, row.lost_reason) == (stages["lost"], 0, "Cheaper supplier")
    assert row.closed_at is not None
    assert [e["amount"] for e in await published(events.OPPORTUNITY_LOST, deal)] == ["8000.00"]
    async with acting_as(acme, "alice") as (session, p):  # reopened
        await opps.move_to_stage(session, p, deal, stages["negotiation"])
    row = await deal_row(acme, deal)
    assert (row.closed_at, row.lost_reason, row.probability) == (None, None, 80)
    assert await history(acme, deal) == [
        (None, stages["prospecting"]),
        (stages["prospecting"], stages["proposal"]),
        (stages["proposal"], stages["negotiation"]),
        (stages["negotiation"], stages["lost"]),
        (stages["lost"], stages["negotiation"]),
    ]
    assert await published(events.OPPORTUNITY_WON, deal) == []


@pytest.mark.parametrize(
    ("stage", "extra", "errors"),
    [
        ("unknown", {}, {"stage_id": "Choose one of the pipeline's stages."}),
        ("lost", {}, {"lost_reason": "Say why the deal was lost."}),
        ("lost", {"lost_reason": "   "}, {"lost_reason": "Say why the deal was lost."}),
        ("won", {"probability": 150}, {"probability": "Must be at most {max}."}),
        ("won", {"lost_reason": "x" * 201}, {"lost_reason": "Use at most {n} characters."}),
    ],
)
async def test_bad_moves_change_nothing(acme, stage, extra, errors):
    stages = await stage_ids(acme)
    account = await new_account(acme, "alice", f"Acct {tag()}")
    deal = await new_deal(acme, "alice", account, name="Stay", amount="100")
    before = await table_counts(acme, *PIPELINE_TABLES)
    with pytest.raises(ValidationFailed) as exc:
        async with acting_as(acme, "alice") as (session, p):
            await opps.move_to_stage(session, p, deal, stages.get(stage, 999999), **extra)
    assert fields(exc) == errors
    assert await table_counts(acme, *PIPELINE_TABLES) == before
    row = await deal_row(acme, deal)
    assert (row.stage_id, row.closed_at) == (stages["prospecting"], None)
    assert await published(events.OPPORTUNITY_LOST, deal) == []


async def test_update_changes_only_what_is_sent(acme):
    account = await new_account(acme, "alice", f"Acct {tag()}")
    other = await new_account(acme, "alice", f"Other {tag()}")
    deal = await new_deal(acme, "alice", account, name="Edit me", amount="100", source="web",
                          expected_close_date="2027-02-01")  # fmt: skip
    async with acting_as(acme, "alice") as (session, p):
        await opps.update_opportunity(session, p, deal, {"amount": "250.00", "probability": "35"})
    row = await deal_row(acme, deal)
    assert (row.amount, row.probability, row.name, row.source) == (Decimal("250.00"), 35, "Edit me", "web")
    async with acting_as(acme, "alice") as (session, p):
        await opps.update_opportunity(session, p, deal, {"account_id": other, "probability": "",
                                                          "expected_close_date": None})  # fmt: skip
    row = await deal_row(acme, deal)
    assert (row.account_id, row.probability, row.expected_close_date) == (other, 10, None)


async def test_bad_updates_change_nothing(acme):
    account = await new_account(acme, "alice", f"Acct {tag()}")
    daves = await new_account(acme, "dave", f"Dave {tag()}")
    deal = await new_deal(acme, "alice", account, name="Keep", amount="100")
    before = await table_counts(acme, *PIPELINE_TABLES)
    for data, errors in [
        (
            {"amount": "-0.01", "name": ""},
            {"amount": "Must be at least {min}.", "name": "This field is required."},
        ),
        ({"account_id": daves}, {"account_id": "Choose an existing account."}),
        ({"contact_id": "999999"}, {"contact_id": "Choose a contact of this account."}),
        ({"probability": "2.5"}, {"probability": "Enter a whole number."}),
        (
            {"owner_id": acme.users["dave"]},
            {"owner_id": "You may only assign records to yourself or your team."},
        ),
    ]:
        with pytest.raises(ValidationFailed) as exc:
            async with acting_as(acme, "alice") as (session, p):
                await opps.update_opportunity(session, p, deal, data)
        assert fields(exc) == errors
    assert await table_counts(acme, *PIPELINE_TABLES) == before
    row = await deal_row(acme, deal)
    assert (row.name, row.amount, row.account_id, row.owner_id) == ("Keep", Decimal("100.00"), account,
                                                                    acme.users["alice"])  # fmt: skip


async def test_record_rules_decide_who_reads_and_changes_a_deal(acme):
    account = await new_account(acme, "alice", f"Acct {tag()}")
    deal = await new_deal(acme, "alice", account, name="Alice's", amount="100")
    async with acting_as(acme, "dave") as (session, p):  # another team's rep: as if it did not exist
        with pytest.raises(NotFound):
            await opps.get_opportunity(session, p, deal)
        with pytest.raises(NotFound):
            await opps.move_to_stage(session, p, deal, 1)
    async with acting_as(acme, "sam") as (session, p):  # alice's manager
        assert (await opps.get_opportunity(session, p, deal)).name == "Alice's"
    async with acting_as(acme, "bob") as (session, p):  # no CRM rights at all
        with pytest.raises(NotFound):
            await opps.get_opportunity(session, p, deal)
    async with acting_as(acme, "mia") as (session, p):  # marketers see reports, not deals
        with pytest.raises(NotFound):
            await opps.get_opportunity(session, p, deal)


async def test_a_custom_role_may_read_but_not_change(acme):
    from app.security.principal import Principal
    from app.security.roles import parse_grants

    account = await new_account(acme, "alice", f"Acct {tag()}")
    deal = await new_deal(acme, "alice", account, name="Look only", amount="100")
    async with acting_as(acme, "ada") as (session, ada):
        grants = parse_grants(["crm.opportunity.read:all", "crm.opportunity.write:own"])
        viewer = Principal(kind="user", id=ada.id, tenant=ada.tenant, label="viewer", grants=grants)
        assert (await opps.get_opportunity(session, viewer, deal)).id == deal
        with pytest.raises(Forbidden):
            await opps.update_opportunity(session, viewer, deal, {"amount": "1"})


async def test_reassign_moves_the_team_along_within_the_scope(acme):
    account = await new_account(acme, "alice", f"Acct {tag()}")
    deal = await new_deal(acme, "alice", account, name="Hand over", amount="100")
    async with acting_as(acme, "sam") as (session, p):
        await opps.reassign(session, p, deal, acme.users["sam"])
    row = await deal_row(acme, deal)
    assert (row.owner_id, row.team_id) == (acme.users["sam"], acme.teams["East"])
    before = await table_counts(acme, *PIPELINE_TABLES)
    async with acting_as(acme, "sam") as (session, p):
        with pytest.raises(ValidationFailed) as exc:
            await opps.reassign(session, p, deal, acme.users["dave"])  # West: not sam's team
    assert fields(exc) == {"owner_id": "You may only assign records to yourself or your team."}
    async with acting_as(acme, "ada") as (session, p):
        await opps.reassign(session, p, deal, acme.users["dave"])
    row = await deal_row(acme, deal)
    assert (row.owner_id, row.team_id) == (acme.users["dave"], acme.teams["West"])
    assert await table_counts(acme, *PIPELINE_TABLES) != before  # the admin's change was written
