"""Pipeline stages (CRM-3): the admin page renames, re-weighs, adds, reorders and switches stages
off; won and lost stay exactly one each and last. Runs on a tenant of its own (the stages are
tenant-wide), so acme keeps its default pipeline for every other suite."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.crm.models import PipelineStage
from app.crm.services import stages as svc
from app.kernel.errors import ValidationFailed
from tests.admin.support import one
from tests.crm.factories.pipeline import deal_row, new_account, new_deal, private_tenant, stage_ids
from tests.crm.support import table_counts
from tests.helpers import signed_in

TABLES = ("crm_pipeline_stages", "crm_opportunities", "audit_log")


@pytest.fixture(scope="module")
async def stagia(world):
    return await private_tenant("stagia")


async def board_order(tenant) -> list[str]:
    from tenants.service import in_tenant

    async with in_tenant(tenant.slug) as (session, _):
        return [s.key for s in await svc.list_stages(session)]


async def test_defaults_are_seeded_in_order(stagia):
    from tenants.service import in_tenant

    async with in_tenant(stagia.slug) as (session, _):
        listed = [(s.name, s.probability, svc.kind_of(s), s.active) for s in await svc.list_stages(session)]
    assert listed[:7] == [
        ("Prospecting", 10, "open", True),
        ("Qualification", 20, "open", True),
        ("Needs analysis", 40, "open", True),
        ("Proposal", 60, "open", True),
        ("Negotiation", 80, "open", True),
        ("Won", 100, "won", True),
        ("Lost", 0, "lost", True),
    ]


async def test_rename_and_reweigh_a_stage_and_the_deals_that_follow_it(app, stagia):
    stages = await stage_ids(stagia)
    account = await new_account(stagia, "alice", "Weights Ltd")
    follows = await new_deal(stagia, "alice", account, name="Follows", stage_id=stages["qualification"])
    own = await new_deal(
        stagia, "alice", account, name="Own", stage_id=stages["qualification"], probability=35
    )
    async with signed_in(app, stagia, "ada") as b:
        r = await b.post(
            f"/sales/stages/{stages['qualification']}", {"name": "  Qualified  lead ", "probability": "25"}
        )
        assert r.status_code == 303
        page = await b.get("/sales/stages")
    assert "The stage Qualified lead is saved." in page.text
    assert await one(
        stagia, select(PipelineStage.name).where(PipelineStage.id == stages["qualification"])
    ) == ("Qualified lead")
    assert (await deal_row(stagia, follows)).probability == 25
    assert (await deal_row(stagia, own)).probability == 35  # the rep's own estimate stays


async def test_refused_stage_edits_change_nothing(app, stagia):
    stages = await stage_ids(stagia)
    async with signed_in(app, stagia, "ada") as b:
        before = await table_counts(stagia, *TABLES)
        cases = [
            (stages["proposal"], {"name": "", "probability": "60"}, "This field is required."),
            (stages["proposal"], {"name": "Proposal", "probability": "160"}, "Must be at most 100."),
            (stages["proposal"], {"name": "Proposal", "probability": "sixty"}, "Enter a whole number."),
            (stages["proposal"], {"name": "negotiation", "probability": "60"},
             "Another stage already has this name."),
            (stages["won"], {"name": "Won", "probability": "90"}, "The won stage always has probability 100"),
            (stages["lost"], {"name": "Lost", "probability": "5"}, "The lost stage always has probability 0"),
        ]  # fmt: skip
        for stage_id, form, message in cases:
            r = await b.post(f"/sales/stages/{stage_id}", form)
            assert r.status_code == 422, form
            assert message in r.text, (form, r.text[-3000:])
        create = await b.post("/sales/stages", {"name": "Demo", "probability": "-1"})
        assert create.status_code == 422
        assert "Must be at least 0." in create.text
        assert await table_counts(stagia, *TABLES) == before


async def test_add_a_stage_before_won_and_move_it(app, stagia):
    async with signed_in(app, stagia, "ada") as b:
        r = await b.post("/sales/stages", {"name": "Product demo", "probability": "50"})
        assert r.status_code == 303
    order = await board_order(stagia)
    assert order.index("product_demo") == order.index("won") - 1
    demo = (await stage_ids(stagia))["product_demo"]
    async with signed_in(app, stagia, "ada") as b:
        await b.get("/sales/stages")
        await b.post(f"/sales/stages/{demo}/move", {"direction": "left"})
        after_left = await board_order(stagia)
        await b.post(f"/sales/stages/{demo}/move", {"direction": "right"})
        await b.post(f"/sales/stages/{demo}/move", {"direction": "right"})  # at the end of the open stages
        refused = await b.post(
            f"/sales/stages/{(await stage_ids(stagia))['won']}/move", {"direction": "left"}
        )
    assert after_left.index("product_demo") == after_left.index("negotiation") - 1
    assert (await board_order(stagia))[-3:] == ["product_demo", "won", "lost"]
    assert refused.status_code == 422
    assert "The won and lost stages always come last on the board." in refused.text


async def test_switch_off_only_an_empty_open_stage(app, stagia):
    stages = await stage_ids(stagia)
    account = await new_account(stagia, "alice", "Busy Ltd")
    await new_deal(stagia, "alice", account, name="Sits here", stage_id=stages["needs_analysis"])
    async with signed_in(app, stagia, "ada") as b:
        before = await table_counts(stagia, *TABLES)
        busy = await b.post(f"/sales/stages/{stages['needs_analysis']}/deactivate")
        won = await b.post(f"/sales/stages/{stages['won']}/deactivate")
        assert await table_counts(stagia, *TABLES) == before
        empty = await b.post(f"/sales/stages/{stages['negotiation']}/deactivate")
        board = await b.get("/sales/pipeline")
        back = await b.post(f"/sales/stages/{stages['negotiation']}/activate")
    assert busy.status_code == 422
    assert "Open opportunities in this stage: 1. Move them to another stage first." in busy.text
    assert won.status_code == 422
    assert "The won and lost stages close opportunities; they cannot be switched off." in won.text
    assert empty.status_code == 303
    assert f'id="col-{stages["negotiation"]}"' not in board.text  # off the board
    assert back.status_code == 303
    assert await one(stagia, select(PipelineStage.active).where(PipelineStage.id == stages["negotiation"]))


async def test_deals_cannot_enter_a_switched_off_stage(stagia):
    from tests.crm.support import acting_as

    stages = await stage_ids(stagia)
    account = await new_account(stagia, "alice", "Closed door")
    deal = await new_deal(stagia, "alice", account, name="Knocking")
    async with acting_as(stagia, "ada") as (session, _):
        off = await svc.create_stage(session, {"name": "Pilot", "probability": "55"})
        await svc.set_stage_active(session, off.id, False)
    from app.crm.services.opportunities import move_to_stage

    with pytest.raises(ValidationFailed) as exc:
        async with acting_as(stagia, "alice") as (session, p):
            await move_to_stage(session, p, deal, off.id)
    assert [e.message for e in exc.value.errors] == ["Choose one of the pipeline's stages."]
    assert (await deal_row(stagia, deal)).stage_id == stages["prospecting"]


async def test_the_database_keeps_one_won_and_one_lost_stage(stagia):
    from sqlalchemy.exc import IntegrityError

    from tenants.service import in_tenant

    async def second(flag: str) -> None:
        async with in_tenant(stagia.slug) as (session, _):
            values = {"is_won": False, "is_lost": False, flag: True}
            session.add(PipelineStage(key=f"{flag}_2", name=f"Second {flag}", probability=0, position=99,
                                      active=True, **values))  # fmt: skip
            await session.flush()

    for flag in ("is_won", "is_lost"):
        with pytest.raises(IntegrityError):
            await second(flag)


async def test_only_administrators_manage_stages(app, stagia):
    stages = await stage_ids(stagia)
    for persona in ("sam", "alice"):
        async with signed_in(app, stagia, persona) as b:
            assert (await b.get("/sales/stages")).status_code == 403
            r = await b.post(f"/sales/stages/{stages['proposal']}", {"name": "Hacked", "probability": "1"})
            assert r.status_code == 403
    async with signed_in(app, stagia, "sam") as b:
        nav = await b.get("/sales/pipeline")
    assert 'href="/sales/stages"' not in nav.text
