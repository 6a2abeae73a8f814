"""Duplicate detection (CRM-1): while typing and as a list of pairs, with record rules."""

from __future__ import annotations

from app.crm.services import duplicates
from app.crm.services.duplicates import REASON_EMAIL, REASON_NAME, REASON_PHONE, core_name
from tests.crm.customers_support import mark, new_account, new_contact, phone_of
from tests.crm.support import acting_as
from tests.helpers import signed_in


def test_core_name_drops_legal_forms_and_punctuation():
    assert core_name("上海明辉贸易有限公司") == "上海明辉贸易"
    assert core_name("ACME Co., Ltd.") == "acme"
    assert core_name("Globex Corporation") == "globex"
    assert core_name("  Initech GmbH ") == "initech"


async def test_similar_accounts_by_name_email_and_phone(acme):
    m = mark()
    named = await new_account(acme, name=f"上海{m}贸易有限公司")
    # The other two carry names of their own (not the marker), so the name search cannot find
    # them by a random resemblance of markers.
    mailed = await new_account(acme, name=f"Mailed {mark()}", email=f"sales@{m}.cn")
    typed, digits = phone_of(m, "21")
    phoned = await new_account(acme, name=f"Phoned {mark()}", phone=f"+86 {typed.replace(' ', '-')}")
    async with acting_as(acme, "alice") as (session, principal):
        by_name = await duplicates.similar_accounts(session, principal, name=f"{m}贸易")
        by_email = await duplicates.similar_accounts(session, principal, name="x", email=f"SALES@{m}.cn")
        by_phone = await duplicates.similar_accounts(session, principal, name="", phone=f"86{digits}")
    assert [(d.id, d.reasons) for d in by_name] == [(named, [REASON_NAME])]
    assert [(d.id, d.reasons) for d in by_email] == [(mailed, [REASON_EMAIL])]
    assert [(d.id, d.reasons) for d in by_phone] == [(phoned, [REASON_PHONE])]


async def test_company_names_sharing_only_city_and_legal_form_are_not_duplicates(acme):
    m = mark()
    await new_account(acme, name=f"上海张伟{m}科技有限公司")
    async with acting_as(acme, "alice") as (session, principal):
        hits = await duplicates.similar_accounts(session, principal, name="上海明辉科技有限公司")
    assert [d.name for d in hits if m in d.name] == []


async def test_hints_never_show_accounts_the_user_cannot_see(acme):
    m = mark()
    await new_account(acme, "dave", name=f"Westwind {m}", email=f"info@{m}.example")
    async with acting_as(acme, "alice") as (session, principal):
        assert await duplicates.similar_accounts(session, principal, name=f"Westwind {m}") == []
        assert await duplicates.similar_accounts(session, principal, name="", email=f"info@{m}.example") == []
    async with acting_as(acme, "ada") as (session, principal):
        hits = await duplicates.similar_accounts(session, principal, name=f"Westwind {m}")
    assert [h.name for h in hits] == [f"Westwind {m}"]


async def test_similar_contacts_same_email_phone_or_name_at_the_account(acme):
    m = mark()
    account = await new_account(acme, name=f"People {m}")
    other = await new_account(acme, name=f"Others {m}")
    wang = await new_contact(acme, account, full_name=f"王芳{m}", email=f"fang@{m}.cn", phone="138 0013 8000")
    async with acting_as(acme, "alice") as (session, principal):
        same_mail = await duplicates.similar_contacts(session, principal, full_name="x", email=f"Fang@{m}.cn")
        same_name = await duplicates.similar_contacts(
            session, principal, full_name=f"王芳{m}", account_id=account
        )
        elsewhere = await duplicates.similar_contacts(
            session, principal, full_name=f"王芳{m}", account_id=other
        )
    assert [(d.id, d.reasons) for d in same_mail] == [(wang, [REASON_EMAIL])]
    assert [(d.id, d.reasons) for d in same_name] == [(wang, [REASON_NAME])]
    assert elsewhere == []


async def test_duplicate_pairs_list_newest_first(acme):
    m = mark()
    older = await new_account(acme, "ada", name=f"Pairwise {m} Trading Co., Ltd.")
    newer = await new_account(acme, "ada", name=f"Pairwise {m} Trading")
    async with acting_as(acme, "ada") as (session, principal):
        pairs, _more = await duplicates.duplicate_account_pairs(session, principal)
    mine = [p for p in pairs if m in p.first.name]
    assert [(p.first.id, p.second.id, p.reasons) for p in mine] == [(older, newer, [REASON_NAME])]


async def test_typing_hints_fragment(app, acme):
    m = mark()
    await new_account(acme, name=f"Hinted {m} Ltd")
    async with signed_in(app, acme, "alice") as b:
        r = await b.get(f"/crm/accounts/duplicates?name=Hinted+{m}", headers={"HX-Request": "true"})
        empty = await b.get("/crm/accounts/duplicates?name=zz", headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert f"Hinted {m} Ltd" in r.text
    assert "Similar name" in r.text
    assert empty.status_code == 200
    assert "Hinted" not in empty.text
