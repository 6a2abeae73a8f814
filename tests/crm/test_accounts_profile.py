"""The account profile (CRM-1): figures at a glance, and the cards edited in place — tags, needs,
preferences, account manager — with htmx answers, 422s that name their card, and no change on
refusal."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from app.crm.models import Account
from app.crm.services import opportunities
from app.crm.services.account_summary import account_summary
from tenants.service import in_tenant
from tests.crm.customers_support import CUSTOMER_TABLES, mark, new_account
from tests.crm.support import acting_as, table_counts
from tests.helpers import signed_in


async def _account(tenant, account_id: int) -> Account:
    async with in_tenant(tenant.slug) as (session, _):
        return (await session.execute(select(Account).where(Account.id == account_id))).scalar_one()


async def test_tags_needs_and_preferences_cards(app, acme):
    account = await new_account(acme, name=f"Cards {mark()}", tags="old", preferences={"Language": "zh"})
    async with signed_in(app, acme, "alice") as b:
        await b.get(f"/crm/accounts/{account}")
        tags = await b.htmx("POST", f"/crm/accounts/{account}/tags", {"tags": "vip, 华东"})
        needs = await b.htmx("POST", f"/crm/accounts/{account}/needs", {"needs": "Two A2 printers\nby March"})
        prefs = await b.htmx(
            "POST",
            f"/crm/accounts/{account}/preferences",
            {"pref_name[]": ["Language", "", "Delivery day"], "pref_value[]": ["en", "ignored", "Tuesday"]},
        )
    assert tags.status_code == 200
    assert 'id="card-tags"' in tags.text
    assert "Saved" in tags.text
    assert "<html" not in tags.text
    assert needs.status_code == 200
    assert prefs.status_code == 200
    assert "Delivery day" in prefs.text
    account_row = await _account(acme, account)
    assert account_row.tags == ["vip", "华东"]
    assert account_row.needs == "Two A2 printers\nby March"
    assert account_row.preferences == {"Language": "en", "Delivery day": "Tuesday"}


async def test_refused_card_edits_name_their_card_and_change_nothing(app, acme):
    account = await new_account(acme, name=f"Refuse {mark()}", tags="keep")
    async with signed_in(app, acme, "alice") as b:
        await b.get(f"/crm/accounts/{account}")
        before = await table_counts(acme, *CUSTOMER_TABLES)
        tags = await b.htmx("POST", f"/crm/accounts/{account}/tags", {"tags": "x" * 41})
        prefs = await b.htmx(
            "POST",
            f"/crm/accounts/{account}/preferences",
            {"pref_name[]": [f"p{i}" for i in range(31)], "pref_value[]": ["v"] * 31},
        )
        owner = await b.htmx("POST", f"/crm/accounts/{account}/owner", {"owner_id": str(acme.users["dave"])})
        plain = await b.post(f"/crm/accounts/{account}/tags", {"tags": "y" * 41})  # no htmx: the whole page
        assert await table_counts(acme, *CUSTOMER_TABLES) == before
    assert (tags.status_code, tags.headers["HX-Retarget"]) == (422, "#card-tags")
    assert "A tag has at most 40 characters and no commas." in tags.text
    assert (prefs.status_code, prefs.headers["HX-Retarget"]) == (422, "#card-preferences")
    assert "Use at most 30 preferences." in prefs.text
    assert (owner.status_code, owner.headers["HX-Retarget"]) == (422, "#card-owner")
    assert "You may only assign records to yourself or your team." in owner.text
    assert plain.status_code == 422
    assert 'id="timeline-block"' in plain.text
    assert "A tag has at most 40 characters" in plain.text
    assert (await _account(acme, account)).tags == ["keep"]


async def test_a_manager_reassigns_within_the_team(app, acme):
    account = await new_account(acme, "alice", name=f"Hand over {mark()}")
    async with signed_in(app, acme, "sam") as b:
        page = await b.get(f"/crm/accounts/{account}")
        assert "Reassign" in page.text
        west = await b.htmx("POST", f"/crm/accounts/{account}/owner", {"owner_id": str(acme.users["dave"])})
        mine = await b.post(f"/crm/accounts/{account}/owner", {"owner_id": str(acme.users["sam"])})
    assert west.status_code == 422
    assert mine.status_code == 303
    row = await _account(acme, account)
    assert (row.owner_id, row.team_id) == (acme.users["sam"], acme.teams["East"])
    async with signed_in(app, acme, "alice") as b:  # no longer alice's: hidden from her
        assert (await b.get(f"/crm/accounts/{account}")).status_code == 404


async def test_figures_at_a_glance_follow_each_permission(acme):
    account = await new_account(acme, "alice")
    async with acting_as(acme, "alice") as (session, principal):
        await opportunities.create_opportunity(
            session, principal, {"account_id": account, "name": "A", "amount": "1200.50"}
        )
        await opportunities.create_opportunity(
            session, principal, {"account_id": account, "name": "B", "amount": "99.50"}
        )
        await opportunities.create_opportunity(
            session, principal, {"account_id": account, "name": "C", "amount": "10", "currency": "USD"}
        )
    async with acting_as(acme, "alice") as (session, principal):
        summary = await account_summary(session, principal, account, currency="CNY")
    assert (summary.open_deals, summary.open_pipeline, summary.won_this_year) == (
        3,
        Decimal("1300.00"),
        Decimal("0"),
    )
    assert (summary.orders, summary.open_tickets, summary.last_interaction_at) == (0, 0, None)
    async with acting_as(acme, "bob") as (session, principal):  # the accountant reads orders, not deals
        books = await account_summary(session, principal, account, currency="CNY")
    assert (books.open_deals, books.orders, books.open_tickets) == (None, 0, None)


async def test_profile_pages_show_the_account(app, acme):
    person = await new_account(
        acme, "alice", name=f"Zhang Wei {mark()}", kind="person", needs="Wants a quote"
    )
    async with signed_in(app, acme, "alice") as b:
        page = await b.get(f"/crm/accounts/{person}")
        edit = await b.get(f"/crm/accounts/{person}/edit")
    assert page.status_code == 200
    assert "Individual" in page.text
    assert "Wants a quote" in page.text
    assert "Log an interaction" in page.text
    assert '<script src="/static/js/crm.js" defer></script>' in page.text
    assert edit.status_code == 200
    assert 'value="person" selected' in edit.text
