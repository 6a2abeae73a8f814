"""Search across accounts, contacts and leads (CRM-1): words, substrings of Chinese names, e-mail
and phone; each kind under its own record rules."""

from __future__ import annotations

from app.crm.models import Lead
from app.crm.services import search
from tests.crm.customers_support import mark, new_account, new_contact
from tests.crm.support import acting_as
from tests.helpers import signed_in


async def _lead(tenant, persona: str, **values) -> int:
    async with acting_as(tenant, persona) as (session, principal):
        lead = Lead(owner_id=principal.id, team_id=min(principal.team_ids, default=None), **values)
        session.add(lead)
        await session.flush()
        return lead.id


def test_prefix_query_quotes_every_word():
    assert search.prefix_tsquery("ada lov") == "'ada':* & 'lov':*"
    assert search.prefix_tsquery("it's a & b | !c") == "'its':* & 'a':* & '&':* & 'b':* & '|':* & '!c':*"
    assert search.prefix_tsquery("  ") is None
    assert search.like_pattern("50%_off\\") == "%50\\%\\_off\\\\%"


async def test_chinese_name_inside_a_company_name(acme):
    m = mark()
    account = await new_account(acme, name=f"上海张伟{m}科技有限公司")
    async with acting_as(acme, "alice") as (session, principal):
        inside = await search.search_everything(session, principal, f"张伟{m}科技")
        exact = await search.search_everything(session, principal, f"上海张伟{m}科技有限公司")
        wider = await search.search_everything(session, principal, "张伟", limit=200)
    assert [a.id for a in inside.accounts.rows] == [account]
    assert [a.id for a in exact.accounts.rows] == [account]
    assert account in [a.id for a in wider.accounts.rows]


async def test_words_email_and_phone(acme):
    m = mark()
    account = await new_account(acme, name=f"Lovelace {m} Engines", email=f"ada@{m}.example")
    contact = await new_contact(acme, account, full_name=f"Ada {m} Byron")
    async with acting_as(acme, "alice") as (session, principal):
        by_words = await search.search_everything(session, principal, f"lovel {m}")
        by_email = await search.search_everything(session, principal, f"ada@{m}.example")
        by_contact = await search.search_everything(session, principal, f"byron {m}")
    assert [a.id for a in by_words.accounts.rows] == [account]
    assert [a.id for a in by_email.accounts.rows] == [account]
    assert [c.id for c, _name in by_contact.contacts.rows] == [contact]
    assert by_contact.contacts.rows[0][1] == f"Lovelace {m} Engines"


async def test_each_kind_keeps_its_record_rules(acme):
    m = mark()
    await new_account(acme, "alice", name=f"Findable {m} Alice")
    await new_account(acme, "dave", name=f"Findable {m} Dave")
    await _lead(acme, "alice", full_name=f"Findable {m} Lead of Alice", company="Co")
    await _lead(acme, "dave", full_name=f"Findable {m} Lead of Dave")
    async with acting_as(acme, "alice") as (session, principal):
        alice = await search.search_everything(session, principal, f"findable {m}")
    async with acting_as(acme, "ada") as (session, principal):
        ada = await search.search_everything(session, principal, f"findable {m}")
    async with acting_as(acme, "bob") as (session, principal):  # accountant: accounts yes, leads no
        bob = await search.search_everything(session, principal, f"findable {m}")
    assert [a.name for a in alice.accounts.rows] == [f"Findable {m} Alice"]
    assert alice.leads is not None
    assert [x.full_name for x in alice.leads.rows] == [f"Findable {m} Lead of Alice"]
    assert (ada.accounts.total, ada.leads.total if ada.leads else None) == (2, 2)
    assert bob.leads is None
    assert bob.accounts.total == 2


async def test_search_page(app, acme):
    m = mark()
    account = await new_account(acme, "alice", name=f"上海{m}明辉")
    await new_contact(acme, account, full_name=f"王芳{m}")
    await _lead(acme, "alice", full_name=f"李雷{m}", company=f"上海{m}明辉")
    async with signed_in(app, acme, "alice") as b:
        empty = await b.get("/crm/search")
        r = await b.get(f"/crm/search?q={m}")
        nothing = await b.get("/crm/search?q=zzqqxx-nothing")
    assert empty.status_code == 200
    assert "Nothing matches" not in empty.text
    assert r.status_code == 200
    assert f"/crm/accounts/{account}" in r.text
    assert f"王芳{m}" in r.text
    assert f"李雷{m}" in r.text
    assert "Nothing matches “zzqqxx-nothing”." in nothing.text


async def test_counts_stop_at_a_cap(acme, monkeypatch):
    m = mark()
    for i in range(4):
        await new_account(acme, "alice", name=f"Capped {m} {i}")
    monkeypatch.setattr(search, "MAX_COUNTED", 2)
    async with acting_as(acme, "alice") as (session, principal):
        capped = await search.search_everything(session, principal, f"capped {m}", limit=1)
        exact = await search.search_everything(session, principal, f"capped {m}", limit=10)
    hits = capped.accounts
    assert (len(hits.rows), hits.total, hits.more_than_counted) == (1, 3, True)
    assert (exact.accounts.total, exact.accounts.more_than_counted) == (4, False)


async def test_a_manager_finds_unassigned_leads_like_the_lead_list_shows_them(acme):
    """Search applies the same lead rule as the list (app/crm/services/visibility.visible_leads)."""
    m = mark()
    async with acting_as(acme, "ada") as (session, _):
        lead = Lead(full_name=f"Unplaced {m} Lead", owner_id=None, team_id=None)
        session.add(lead)
        await session.flush()
        unassigned = lead.id
    async with acting_as(acme, "sam") as (session, principal):
        manager = await search.search_everything(session, principal, f"unplaced {m}")
    async with acting_as(acme, "alice") as (session, principal):
        rep = await search.search_everything(session, principal, f"unplaced {m}")
    assert [lead.id for lead in manager.leads.rows] == [unassigned]
    assert rep.leads.rows == []


def test_chinese_runs_become_bigram_terms():
    assert search.prefix_tsquery("华信科技") == "'华信' & '信科' & '科技'"
    assert search.prefix_tsquery("张伟 Lovelace") == "'张伟' & 'Lovelace':*"
    assert search.prefix_tsquery("上海abc") == "'上海abc':*"  # mixed token: the parser keeps it whole
    assert search.prefix_tsquery("张") is None  # one character: no bigram (a substring scan instead)


async def test_two_chinese_characters_find_the_names_they_are_part_of(acme):
    m = mark()
    inside = await new_account(acme, name=f"上海明辉{m}贸易有限公司")
    apart = await new_account(acme, name=f"明{m}辉")  # both characters, not together: no match
    hua_xin_tech = await new_account(acme, name=f"北京华信科技{m}")
    hua_xin_trade = await new_account(acme, name=f"华信贸易科技{m}")  # 华信 and 科技, not 信科
    async with acting_as(acme, "ada") as (session, principal):
        two = await search.search_everything(session, principal, "明辉", limit=200)
        four = await search.search_everything(session, principal, "华信科技", limit=200)
        one = await search.search_everything(session, principal, f"{m}辉", limit=200)
    assert inside in [a.id for a in two.accounts.rows]
    assert apart not in [a.id for a in two.accounts.rows]
    four_ids = [a.id for a in four.accounts.rows]
    assert hua_xin_tech in four_ids
    assert hua_xin_trade not in four_ids
    assert [a.id for a in one.accounts.rows] == [apart]  # a lone character + marker: the substring path
