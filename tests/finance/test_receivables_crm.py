"""CRM reads the receivables (CRM-5, CRM-1): open invoices on the collections board and on the
account's profile, and invoices on its timeline — under the reader's record rules on accounts."""

from __future__ import annotations

import uuid
from datetime import timedelta

from app.crm.services import collections, timeline
from app.finance.services.receivables import tenant_today
from tenants.service import in_tenant
from tests.crm.support import acting_as
from tests.finance.ar_support import customer, invoiced
from tests.helpers import signed_in

LINES = [("100.00", "1", "20")]  # 120.00


async def two_reps_invoices(acme):  # type: ignore[no-untyped-def]
    today = tenant_today()
    tag = uuid.uuid4().hex[:8]
    async with in_tenant(acme.slug) as (session, _):
        alices = await customer(
            session, f"Alice's {tag}", owner_id=acme.users["alice"], team_id=acme.teams["East"]
        )
        daves = await customer(
            session, f"Dave's {tag}", owner_id=acme.users["dave"], team_id=acme.teams["West"]
        )
        late = await invoiced(session, alices, LINES, today - timedelta(days=45))  # 15 days late
        soon = await invoiced(session, alices, LINES, today - timedelta(days=10))  # due in 20 days
        theirs = await invoiced(session, daves, LINES, today - timedelta(days=40))
        return {
            "alices": alices.id,
            "daves": daves.id,
            "late": (late.id, late.number),
            "soon": (soon.id, soon.number),
            "theirs": (theirs.id, theirs.number),
        }


async def test_the_collections_board_shows_the_open_invoices_of_the_accounts_one_sees(app, acme):
    w = await two_reps_invoices(acme)
    async with acting_as(acme, "alice") as (session, alice):
        board = await collections.collection_board(session, alice)
    overdue = [i.invoice.number for i in board.invoices_overdue]
    due = [i.invoice.number for i in board.invoices_due]
    assert w["late"][1] in overdue
    assert w["soon"][1] in due
    assert w["theirs"][1] not in overdue + due
    item = next(i for i in board.invoices_overdue if i.invoice.number == w["late"][1])
    assert (item.invoice.days_late(board.today), item.owner_id, item.invoice.open_amount) == (
        15,
        acme.users["alice"],
        120,
    )
    async with acting_as(acme, "bob") as (session, bob):
        everything = await collections.collection_board(session, bob)
        daves_only = await collections.collection_board(session, bob, owner_id=acme.users["dave"])
    assert {w["late"][1], w["theirs"][1]} <= {i.invoice.number for i in everything.invoices_overdue}
    assert [i.invoice.number for i in daves_only.invoices_overdue if i.invoice.account_id == w["daves"]] == [
        w["theirs"][1]
    ]
    assert all(
        i.owner_id == acme.users["dave"] for i in daves_only.invoices_overdue + daves_only.invoices_due
    )

    async with signed_in(app, acme, "alice") as b:
        page = await b.get("/sales/collections")
    assert page.status_code == 200
    assert w["late"][1] in page.text
    assert w["theirs"][1] not in page.text
    assert 'href="/sales/orders/' in page.text.split('id="collections-invoices-overdue"', 1)[1]


async def test_the_profile_and_timeline_show_the_accounts_invoices(app, acme):
    w = await two_reps_invoices(acme)
    async with acting_as(acme, "alice") as (session, alice):
        mine = await collections.account_receivables(session, alice, w["alices"])
        hidden = await collections.account_receivables(session, alice, w["daves"])
        page = await timeline.account_timeline(session, alice, w["alices"], only=["invoices"])
    assert [i.number for i in mine or []] == [w["late"][1], w["soon"][1]]
    assert hidden == []
    assert {e.title for e in page.entries} == {w["late"][1], w["soon"][1]}
    assert all(e.href and e.href.startswith("/sales/orders/") for e in page.entries)
    async with acting_as(acme, "bob") as (session, bob):
        page = await timeline.account_timeline(session, bob, w["alices"], only=["invoices"])
    assert {e.href for e in page.entries} == {
        f"/finance/invoices/{w['late'][0]}",
        f"/finance/invoices/{w['soon'][0]}",
    }
    async with signed_in(app, acme, "alice") as b:
        profile = await b.get(f"/crm/accounts/{w['alices']}")
        other = await b.get(f"/crm/accounts/{w['daves']}")
    card = profile.text.split('id="card-receivables"', 1)[1].split("</div>", 1)[0]
    assert w["late"][1] in card
    assert "15 days late" in card
    assert other.status_code == 404
