"""Merging duplicates (CRM-1): every referencing record moves (found from the metadata), unique
keys are respected, the survivor is filled in, the duplicate stays as merged; refusals change nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Column, ForeignKey, Integer, Table, select

from app.crm.errors import AlreadyMerged, MergeIntoSelf
from app.crm.events import ACCOUNTS_MERGED
from app.crm.models import Account, Activity, Contact, Opportunity, Segment, SegmentMember, Ticket
from app.crm.services import activities, merge, opportunities
from app.crm.services.accounts import get_account
from app.kernel.errors import Forbidden, NotFound, ValidationFailed
from tenants.service import in_tenant
from tests.crm.customers_support import CUSTOMER_TABLES, mark, new_account, new_contact
from tests.crm.support import acting_as, count_rows, outbox_count, table_counts
from tests.helpers import signed_in

TABLES = (*CUSTOMER_TABLES, "crm_opportunities", "crm_segment_members", "crm_tickets")


async def _get(tenant, model, ident):
    async with in_tenant(tenant.slug) as (session, _):
        return (await session.execute(select(model).where(model.id == ident))).scalar_one()


async def _pair(tenant, m: str):
    """A (the survivor) and B (the duplicate), each with related records; both in segment S, B also in T."""
    a = await new_account(
        tenant,
        "ada",
        name=f"Minghui {m}",
        email=None,
        tags="vip",
        owner_id=tenant.users["alice"],
        preferences={"language": "zh"},
    )
    b = await new_account(
        tenant,
        "ada",
        name=f"Minghui {m} Ltd",
        email=f"info@{m}.cn",
        phone="021 6123 4567",
        city="上海",
        tags="VIP, fair",
        needs="Printers",
        preferences={"language": "en", "channel": "wechat"},
        owner_id=tenant.users["alice"],
    )
    a_contact = await new_contact(tenant, a, "ada", full_name="Primary of A", is_primary="1")
    b_contact = await new_contact(tenant, b, "ada", full_name="Primary of B", is_primary="1")
    async with acting_as(tenant, "ada") as (session, principal):
        await activities.log_activity(session, principal, b, {"kind": "call", "subject": f"Call {m}"})
        opp = await opportunities.create_opportunity(
            session, principal, {"account_id": b, "name": f"Deal {m}", "owner_id": tenant.users["alice"]}
        )
        s, t = Segment(name=f"S {m}"), Segment(name=f"T {m}")
        session.add_all([s, t])
        await session.flush()
        session.add_all(
            [
                SegmentMember(segment_id=s.id, account_id=a),
                SegmentMember(segment_id=s.id, account_id=b, monetary=Decimal("5")),
                SegmentMember(segment_id=t.id, account_id=b),
            ]
        )
        session.add(Ticket(number=f"T-{m}", subject="Jam", account_id=b, contact_id=b_contact))
    return a, b, a_contact, b_contact, opp.id, s.id, t.id


async def test_merge_moves_every_related_record_and_fills_the_survivor(acme):
    m = mark()
    a, b, a_contact, b_contact, opp, _s, _t = await _pair(acme, m)
    events = await outbox_count(ACCOUNTS_MERGED)
    async with acting_as(acme, "ada") as (session, principal):
        result = await merge.merge_accounts(session, principal, a, b)
    assert result.counts["crm_contacts.account_id"] == 1
    assert result.counts["crm_activities.account_id"] == 1
    assert result.counts["crm_opportunities.account_id"] == 1
    assert result.counts["crm_tickets.account_id"] == 1
    assert result.counts["crm_segment_members.account_id"] == 1  # T moved; S was a duplicate key
    survivor, gone = await _get(acme, Account, a), await _get(acme, Account, b)
    assert (survivor.email, survivor.phone, survivor.city, survivor.needs) == (
        f"info@{m}.cn",
        "021 6123 4567",
        "上海",
        "Printers",
    )
    assert survivor.tags == ["vip", "fair"]  # united, case-insensitively
    assert survivor.preferences == {"language": "zh", "channel": "wechat"}  # the survivor's value wins
    assert survivor.name == f"Minghui {m}"
    assert gone.merged_into_id == a
    assert (await _get(acme, Contact, b_contact)).account_id == a
    assert (await _get(acme, Contact, b_contact)).is_primary is False  # A keeps its one primary contact
    assert (await _get(acme, Contact, a_contact)).is_primary is True
    assert (await _get(acme, Opportunity, opp)).account_id == a
    assert await count_rows(acme, "crm_segment_members", "account_id = :b", b=b) == 0
    assert await count_rows(acme, "crm_segment_members", "account_id = :a", a=a) == 2
    assert await count_rows(acme, "crm_activities", "account_id = :a", a=a) == 1
    assert await outbox_count(ACCOUNTS_MERGED) == events + 1
    audit = await count_rows(
        acme,
        "audit_log",
        "action = 'crm_accounts.merge' AND entity_id = :a "
        "AND (after->'moved_counts'->>'crm_contacts.account_id')::int = 1",
        a=str(a),
    )
    assert audit == 1
    async with acting_as(acme, "ada") as (session, principal):
        with pytest.raises(NotFound):
            await get_account(session, principal, b)  # the duplicate reads as missing


def test_references_come_from_the_metadata_including_tables_added_later():
    names = {r.name for r in merge.references_to(Account.__table__)}
    assert {
        "crm_contacts.account_id",
        "crm_segment_members.account_id",
        "crm_accounts.merged_into_id",
        "crm_leads.converted_account_id",
        "crm_tickets.account_id",
    } <= names
    from app.kernel.db import TenantBase

    later = Table(
        "zz_invoices_test",
        TenantBase.metadata,
        Column("id", Integer, primary_key=True),
        Column("account_id", ForeignKey("crm_accounts.id")),
    )
    try:
        found = [r for r in merge.references_to(Account.__table__) if r.table is later]
        assert [(r.name, r.unique_with) for r in found] == [("zz_invoices_test.account_id", ())]
    finally:
        TenantBase.metadata.remove(later)
    members = next(
        r for r in merge.references_to(Account.__table__) if r.name == "crm_segment_members.account_id"
    )
    assert [[c.name for c in key] for key in members.unique_with] == [["segment_id"]]


async def test_merging_into_itself_or_twice_or_without_rights_changes_nothing(acme):
    m = mark()
    a, b, *_ = await _pair(acme, m)
    daves = await new_account(acme, "dave", name=f"Minghui {m} West")
    before = await table_counts(acme, *TABLES)
    async with acting_as(acme, "ada") as (session, principal):
        with pytest.raises(MergeIntoSelf):
            await merge.merge_accounts(session, principal, a, a)
        with pytest.raises(ValidationFailed) as err:
            await merge.merge_accounts(session, principal, a, "x")
        assert [e.field for e in err.value.errors] == ["merge_id"]
    async with acting_as(acme, "alice") as (session, principal):  # a rep may not merge
        with pytest.raises(Forbidden):
            await merge.merge_accounts(session, principal, a, b)
    async with acting_as(acme, "sam") as (session, principal):  # East's manager: dave's is hidden
        with pytest.raises(ValidationFailed) as err:
            await merge.merge_accounts(session, principal, a, daves)
        assert [e.message for e in err.value.errors] == ["Choose an existing account."]
    assert await table_counts(acme, *TABLES) == before
    async with acting_as(acme, "sam") as (session, principal):
        await merge.merge_accounts(session, principal, a, b)
    after_first = await table_counts(acme, *TABLES)
    async with acting_as(acme, "ada") as (session, principal):
        with pytest.raises(AlreadyMerged) as err:
            await merge.merge_accounts(session, principal, daves, b)
        assert err.value.code == "account_already_merged"
        with pytest.raises(AlreadyMerged):
            await merge.merge_accounts(session, principal, b, daves)  # nor can it absorb another
    assert await table_counts(acme, *TABLES) == after_first


async def test_merge_pages(app, acme):
    m = mark()
    a, b, *_ = await _pair(acme, m)
    async with signed_in(app, acme, "ada") as browser:
        choose = await browser.get(f"/crm/accounts/{a}/merge")
        assert f"/crm/accounts/{a}/merge?other={b}" in choose.text  # suggested by its similar name
        found = await browser.get(f"/crm/accounts/{a}/merge?q=Minghui+{m}+Ltd")
        assert f"/crm/accounts/{a}/merge?other={b}" in found.text
        compare = await browser.get(f"/crm/accounts/{a}/merge?other={b}")
        assert compare.status_code == 200
        assert f"info@{m}.cn" in compare.text
        assert "Segment memberships" in compare.text
        own = await browser.post(f"/crm/accounts/{a}/merge", {"merge_id": str(a)})
        assert own.status_code == 422
        assert "An account cannot be merged into itself." in own.text
        done = await browser.post(f"/crm/accounts/{a}/merge", {"merge_id": str(b)})
        assert done.status_code == 303
        assert done.headers["location"] == f"/crm/accounts/{a}"
        follow = await browser.get(f"/crm/accounts/{b}")  # the old link leads to the survivor
        assert follow.status_code == 303
        assert follow.headers["location"] == f"/crm/accounts/{a}"
        again = await browser.post(f"/crm/accounts/{a}/merge", {"merge_id": str(b)})
        assert again.status_code == 422
        assert "has already been merged into another record." in again.text
        pairs = await browser.get("/crm/duplicates")
        assert pairs.status_code == 200
    async with signed_in(app, acme, "alice") as browser:
        assert (await browser.get(f"/crm/accounts/{a}/merge")).status_code == 403
        assert (await browser.get("/crm/duplicates")).status_code == 403


async def test_contact_merge_moves_interactions_and_the_portal_sign_in(acme):
    account = await new_account(acme, "ada")
    keep = await new_contact(acme, account, "ada", full_name="Wang Fang", email=None, title="Buyer")
    dupe = await new_contact(
        acme, account, "ada", full_name="王芳", email="wang@x.cn", phone="138 0013 8000", is_primary="1"
    )
    async with acting_as(acme, "ada") as (session, principal):
        await activities.log_activity(
            session, principal, account, {"kind": "call", "subject": "x", "contact_id": dupe}
        )
    async with acting_as(acme, "ada") as (session, principal):
        result = await merge.merge_contacts(session, principal, keep, dupe)
    assert result.counts == {"crm_activities.contact_id": 1}
    kept, gone = await _get(acme, Contact, keep), await _get(acme, Contact, dupe)
    assert (kept.email, kept.phone, kept.title, kept.is_primary) == (
        "wang@x.cn",
        "138 0013 8000",
        "Buyer",
        True,
    )
    assert (gone.merged_into_id, gone.is_primary, gone.archived_at is not None) == (keep, False, True)
    assert await count_rows(acme, "crm_activities", "contact_id = :k", k=keep) == 1
    other_account = await new_contact(acme, await new_account(acme, "ada"), "ada")
    async with acting_as(acme, "ada") as (session, principal):
        with pytest.raises(ValidationFailed) as err:
            await merge.merge_contacts(session, principal, keep, other_account)
    assert err.value.errors[0].message == "Only contacts of the same account can be merged; move one first."
    assert await count_rows(acme, "crm_activities", "contact_id = :k", k=keep) == 1
    assert isinstance(await _get(acme, Activity, (await _first_activity(acme, keep))), Activity)


async def _first_activity(tenant, contact_id):
    async with in_tenant(tenant.slug) as (session, _):
        return (
            await session.execute(select(Activity.id).where(Activity.contact_id == contact_id))
        ).scalar_one()
