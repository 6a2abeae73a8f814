"""The kanban board (CRM-3): columns and exact totals under the record rules, the owner and team
filters, the closed-deal window, moves between and within columns through the htmx endpoint,
refused moves that change nothing — and a rep's board over 20,000 deals (through the index)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from app.crm.models import Opportunity, StageChange
from app.crm.services import board
from app.kernel.db import utcnow
from tests.admin.support import many
from tests.crm.factories.pipeline import (
    PIPELINE_TABLES,
    backdate,
    deal_row,
    new_account,
    new_deal,
    private_tenant,
    stage_ids,
)
from tests.crm.support import acting_as, table_counts
from tests.helpers import signed_in


@pytest.fixture(scope="module")
async def boardia(world):
    """alice: 3 open + 1 won (recent) + 1 won long ago; sam: 1 open; dave: 2 open."""
    tenant = await private_tenant("boardia")
    s = await stage_ids(tenant)
    east = await new_account(tenant, "alice", "East Co")
    west = await new_account(tenant, "dave", "West Co")
    deals = {
        "a1": await new_deal(tenant, "alice", east, name="a1", amount="1000.00", stage_id=s["prospecting"]),
        "a2": await new_deal(tenant, "alice", east, name="a2", amount="2500.50", stage_id=s["prospecting"]),
        "a3": await new_deal(tenant, "alice", east, name="a3", amount="333.33", stage_id=s["proposal"],
                             probability=45),
        "a_won": await new_deal(tenant, "alice", east, name="a_won", amount="7000", stage_id=s["won"]),
        "a_old": await new_deal(tenant, "alice", east, name="a_old", amount="9999", stage_id=s["won"]),
        "s1": await new_deal(tenant, "sam", east, name="s1", amount="400", stage_id=s["proposal"]),
        "d1": await new_deal(tenant, "dave", west, name="d1", amount="800", stage_id=s["prospecting"]),
        "d2": await new_deal(tenant, "dave", west, name="d2", amount="1200", stage_id=s["negotiation"]),
    }  # fmt: skip
    await backdate(tenant, deals["a_old"], closed_at=utcnow() - timedelta(days=board.CLOSED_DAYS + 5))
    tenant.deals = deals  # type: ignore[attr-defined]
    tenant.stage = s  # type: ignore[attr-defined]
    return tenant


def summary(b: board.Board) -> dict[str, tuple[int, list[str], str, str]]:
    """stage key → (count, card names, total, weighted) in the organisation's currency."""
    return {
        c.stage.key: (
            c.count,
            [card.name for card in c.cards],
            str(c.amount.get("CNY", Decimal("0"))),
            str(c.weighted.get("CNY", Decimal("0"))),
        )
        for c in b.columns
        if c.count
    }


async def test_each_reader_sees_their_columns_with_exact_totals(boardia):
    async with acting_as(boardia, "alice") as (session, p):
        alice = await board.load_board(session, p)
    assert summary(alice) == {
        "prospecting": (2, ["a2", "a1"], "3500.50", "350.05"),  # newest on top
        "proposal": (1, ["a3"], "333.33", "150.00"),  # 333.33 × 45 % = 149.9985
        "won": (1, ["a_won"], "7000.00", "7000.00"),  # a_old closed before the window
    }
    assert (alice.open_count, str(alice.open_amount), str(alice.open_weighted)) == (3, "3833.83", "500.05")
    async with acting_as(boardia, "sam") as (session, p):
        sam = await board.load_board(session, p)
    assert summary(sam)["proposal"] == (2, ["s1", "a3"], "733.33", "390.00")
    assert "d1" not in [c.name for col in sam.columns for c in col.cards]
    async with acting_as(boardia, "dave") as (session, p):
        dave = await board.load_board(session, p)
    assert summary(dave) == {
        "prospecting": (1, ["d1"], "800.00", "80.00"),
        "negotiation": (1, ["d2"], "1200.00", "960.00"),
    }


async def test_owner_and_team_filters_narrow_inside_the_rules(boardia):
    async with acting_as(boardia, "ada") as (session, p):
        everyone = await board.load_board(session, p)
        dave = await board.load_board(session, p, owner_id=boardia.users["dave"])
        east = await board.load_board(session, p, team_id=boardia.teams["East"])
        few = await board.load_board(session, p, limit=1)
    assert everyone.open_count == 6
    assert summary(dave) == {
        "prospecting": (1, ["d1"], "800.00", "80.00"),
        "negotiation": (1, ["d2"], "1200.00", "960.00"),
    }
    assert east.open_count == 4
    prospecting = few.column(boardia.stage["prospecting"])
    assert (prospecting.count, len(prospecting.cards), prospecting.more) == (3, 1, 2)
    async with acting_as(boardia, "alice") as (session, p):  # a rep asking for dave's board sees nothing
        other = await board.load_board(session, p, owner_id=boardia.users["dave"])
    assert other.open_count == 0


async def test_the_board_page_and_the_more_link(app, boardia):
    async with signed_in(app, boardia, "sam") as b:
        page = await b.get(f"/sales/pipeline?owner={boardia.users['alice']}")
        fragment = await b.htmx("GET", "/sales/pipeline")
    assert page.status_code == 200
    names = re.findall(
        r'class="card-name" href="/sales/opportunities/\d+" draggable="false">(\w+)<', page.text
    )
    assert names == ["a2", "a1", "a3", "a_won"]
    assert 'src="/static/js/board.js"' in page.text
    assert fragment.text.lstrip().startswith('<div id="board"')
    assert ">s1<" in fragment.text


async def _move(b, deal: int, **form) -> object:
    return await b.htmx("POST", f"/sales/pipeline/cards/{deal}/move", {k: str(v) for k, v in form.items()})


async def test_a_drop_moves_the_card_and_answers_both_columns(app, boardia):
    s = boardia.stage
    account = await new_account(boardia, "alice", "Drop Co")
    deal = await new_deal(
        boardia, "alice", account, name="dropped", amount="100", stage_id=s["qualification"]
    )
    async with signed_in(app, boardia, "alice") as b:
        await b.get("/sales/pipeline")
        r = await _move(b, deal, stage_id=s["needs_analysis"], before_id="", after_id="", owner="", team="")
    assert r.status_code == 200, r.text
    assert r.text.lstrip().startswith(
        f'<section class="board-col board-col-open" id="col-{s["needs_analysis"]}"'
    )
    assert f'id="col-{s["qualification"]}"' in r.text  # the source column, out of band
    assert 'id="board-summary" class="grid grid-3 board-summary" hx-swap-oob="true"' in r.text
    assert re.search(r'id="col-\d+"[^>]*hx-swap-oob="true"', r.text)
    row = await deal_row(boardia, deal)
    assert (row.stage_id, row.probability) == (s["needs_analysis"], 40)
    changes = await many(boardia, select(StageChange.to_stage_id).where(StageChange.opportunity_id == deal))
    assert changes == [s["qualification"], s["needs_analysis"]]


async def test_within_a_column_the_drop_sets_the_order(app, boardia):
    s = boardia.stage
    account = await new_account(boardia, "alice", "Order Co")
    ids = [
        await new_deal(boardia, "alice", account, name=f"o{i}", amount="1", stage_id=s["negotiation"])
        for i in range(3)
    ]  # fmt: skip  — board order now o2, o1, o0

    async def order() -> list[str]:
        async with acting_as(boardia, "alice") as (session, p):
            loaded = await board.load_board(session, p)
        return [c.name for c in loaded.column(s["negotiation"]).cards]

    assert await order() == ["o2", "o1", "o0"]
    async with signed_in(app, boardia, "alice") as b:
        await b.get("/sales/pipeline")
        assert (await _move(b, ids[2], stage_id=s["negotiation"], after_id=ids[0])).status_code == 200
        assert await order() == ["o1", "o0", "o2"]
        assert (await _move(b, ids[0], stage_id=s["negotiation"], before_id=ids[1])).status_code == 200
        assert await order() == ["o0", "o1", "o2"]
        from tenants.service import in_tenant

        async with in_tenant(boardia.slug) as (
            session,
            _,
        ):  # ties from an import: renumbered on the next drop
            await session.execute(
                Opportunity.__table__.update().where(Opportunity.id.in_(ids)).values(board_position=5.0)
            )
        assert (await _move(b, ids[0], stage_id=s["negotiation"], before_id=ids[2])).status_code == 200
    assert await order() == ["o1", "o0", "o2"]


async def test_refused_moves_change_nothing(app, boardia):
    s = boardia.stage
    deal = boardia.deals["a1"]
    async with signed_in(app, boardia, "alice") as b:
        await b.get("/sales/pipeline")
        before = await table_counts(boardia, *PIPELINE_TABLES)
        lost = await _move(b, deal, stage_id=s["lost"])
        unknown = await _move(b, deal, stage_id=999999)
        assert await table_counts(boardia, *PIPELINE_TABLES) == before
    assert (lost.status_code, lost.text) == (422, "Say why the deal was lost.")
    assert (unknown.status_code, unknown.text) == (422, "Choose one of the pipeline's stages.")
    async with signed_in(app, boardia, "dave") as b:
        await b.get("/sales/pipeline")
        assert (await _move(b, deal, stage_id=s["won"])).status_code == 404
    async with signed_in(app, boardia, "bob") as b:
        await b.get("/")
        assert (await _move(b, deal, stage_id=s["won"])).status_code == 403
    async with signed_in(app, boardia, "alice") as b:
        await b.get("/sales/pipeline")
        ok = await _move(b, deal, stage_id=s["lost"], lost_reason="Went with a competitor")
    assert ok.status_code == 200
    assert "Went with a competitor" in ok.text
    assert (await deal_row(boardia, deal)).lost_reason == "Went with a competitor"


# --- 20,000 deals ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def bulk(world):
    """20,000 deals in one tenant: alice owns 1,000 of them, the others belong to other reps."""
    from app.kernel.db import get_database

    tenant = await private_tenant("bulkco")
    schema = f'"{tenant.schema}"'
    owners = [tenant.users[p] for p in ("dave", "sam", "ada", "mia")]
    alice = tenant.users["alice"]
    async with get_database().engine.begin() as conn:
        await conn.execute(text(
            f"INSERT INTO {schema}.crm_accounts "
            "(kind, name, lifecycle_stage, owner_id, tags, needs, preferences) "
            f"SELECT 'company', 'Bulk account ' || g, 'prospect', {alice}, '{{}}', '', '{{}}' "
            "FROM generate_series(1, 2000) g"
        ))  # fmt: skip
        await conn.execute(text(
            f"INSERT INTO {schema}.crm_opportunities "
            "(name, account_id, stage_id, amount, currency, probability, expected_close_date, description, "
            "stage_changed_at, board_position, owner_id, closed_at) "
            "SELECT 'Bulk deal ' || g, a.id, s.id, (g % 500) * 100, 'CNY', s.probability, "
            "current_date + (g % 300), '', now(), g, "
            f"CASE WHEN g % 20 = 0 THEN {alice} ELSE (ARRAY{owners})[1 + g % 4] END, "
            "CASE WHEN s.is_won OR s.is_lost THEN now() - make_interval(days => g % 200) END "
            f"FROM generate_series(1, 20000) g JOIN {schema}.crm_accounts a "
            f"ON a.id = (SELECT min(id) FROM {schema}.crm_accounts) + g % 2000 "
            f"JOIN {schema}.crm_pipeline_stages s ON s.position = 1 + g % 7"
        ))  # fmt: skip
        await conn.execute(text(f"ANALYZE {schema}.crm_opportunities"))
        await conn.execute(text(f"ANALYZE {schema}.crm_accounts"))
    return tenant


async def test_a_reps_board_reads_only_their_cards_through_the_index(bulk):
    from app.crm.services.reps import narrowed
    from app.security.permissions import CRM_OPPORTUNITY_READ

    async with acting_as(bulk, "alice") as (session, p):
        stages = [c.stage.id for c in (await board.load_board(session, p)).columns if not c.closing]
        clauses = narrowed(Opportunity, p, CRM_OPPORTUNITY_READ)
        stmt = board._cards_query(stages, clauses, closing=False, limit=board.CARDS_PER_COLUMN)
    from app.kernel.db import get_database

    async with get_database().engine.begin() as conn:  # a connection of its own: SET LOCAL is safe
        await conn.execute(text(f'SET LOCAL search_path TO "{bulk.schema}", public'))
        compiled = stmt.compile(conn, compile_kwargs={"literal_binds": True})
        plan = "\n".join((await conn.execute(text(f"EXPLAIN ANALYZE {compiled}"))).scalars())
    print(plan)
    assert "ix_crm_opportunities_owner_stage" in plan, plan
    assert "Seq Scan on crm_opportunities" not in plan, plan


async def test_a_reps_board_with_20000_deals_shows_a_page_of_their_cards_per_column(app, bulk):
    """Correctness at scale only; the 150 ms target is measured by bench/crm_pages.py, not here."""
    async with acting_as(bulk, "alice") as (session, p):
        loaded = await board.load_board(session, p)
    assert loaded.open_count == sum(c.count for c in loaded.columns if not c.closing)
    assert max(len(c.cards) for c in loaded.columns) == board.CARDS_PER_COLUMN
    total = sum(c.count for c in loaded.columns)
    assert 600 < total < 1000  # alice's 1,000 less those closed before the window
    async with signed_in(app, bulk, "alice") as b:
        r = await b.get("/sales/pipeline")
    assert r.status_code == 200
    assert r.text.count('class="card-name"') == sum(len(c.cards) for c in loaded.columns)
