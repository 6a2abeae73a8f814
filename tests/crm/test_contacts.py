"""Contacts in the portal and services (CRM-1): create, edit, list, export, the portal-invitation
form, and visibility that follows the account."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from app.crm.models import Contact
from app.crm.services import contacts
from app.kernel.errors import ValidationFailed
from tenants.service import in_tenant
from tests.crm.customers_support import CUSTOMER_TABLES, mark, new_account, new_contact
from tests.crm.support import acting_as, table_counts
from tests.helpers import signed_in


async def _contact(tenant, contact_id: int) -> Contact:
    async with in_tenant(tenant.slug) as (session, _):
        return (await session.execute(select(Contact).where(Contact.id == contact_id))).scalar_one()


async def test_contact_created_from_the_account_goes_back_to_it(app, acme):
    account = await new_account(acme, name=f"Home {mark()}")
    async with signed_in(app, acme, "alice") as b:
        form = await b.get(f"/crm/contacts/new?account_id={account}")
        assert form.status_code == 200
        assert f'name="account_id" id="f-account_id" value="{account}"' in form.text
        r = await b.post(
            "/crm/contacts",
            {
                "account_id": str(account),
                "first_name": "芳",
                "last_name": "王",
                "title": "采购经理",
                "email": "Wang.Fang@Minghui.CN",
                "phone": "138-0013-8000",
                "is_primary": "1",
                "back": "account",
            },
        )
        assert r.status_code == 303
        assert r.headers["location"] == f"/crm/accounts/{account}"
        profile = await b.get(r.headers["location"])
    assert "王芳" in profile.text
    async with in_tenant(acme.slug) as (session, _):
        contact = (await session.execute(select(Contact).where(Contact.account_id == account))).scalar_one()
    assert (contact.full_name, contact.email, contact.phone_digits, contact.is_primary) == (
        "王芳",
        "wang.fang@minghui.cn",
        "13800138000",
        True,
    )


async def test_refused_contact_forms_write_nothing(app, acme):
    account = await new_account(acme, name=f"Refuse {mark()}")
    daves = await new_account(acme, "dave", name=f"Dave's {mark()}")
    async with signed_in(app, acme, "alice") as b:
        before = await table_counts(acme, *CUSTOMER_TABLES)
        bad = await b.post("/crm/contacts", {"account_id": str(account), "email": "wang@", "mobile": "abc"})
        hidden = await b.post("/crm/contacts", {"account_id": str(daves), "full_name": "Someone"})
        none = await b.post("/crm/contacts", {"full_name": "Nobody's"})
        assert await table_counts(acme, *CUSTOMER_TABLES) == before
    assert bad.status_code == 422
    for message in ("This field is required.", "Enter a valid e-mail address.", "Enter a valid phone number"):
        assert message in bad.text
    assert hidden.status_code == 422
    assert "Choose an existing account." in hidden.text
    assert none.status_code == 422
    assert "Choose the account this person belongs to." in none.text


async def test_contacts_follow_their_accounts_visibility(app, acme):
    m = mark()
    alices = await new_contact(acme, await new_account(acme, "alice"), full_name=f"Ann {m}")
    daves = await new_contact(acme, await new_account(acme, "dave"), "dave", full_name=f"Dan {m}")
    async with signed_in(app, acme, "alice") as b:
        listing = await b.get(f"/crm/contacts?q={m}")
        assert (await b.get(f"/crm/contacts/{daves}")).status_code == 404
        assert (await b.post(f"/crm/contacts/{daves}", {"full_name": "Mine now"})).status_code == 404
        export = await b.get(f"/crm/contacts/export.csv?q={m}")
    assert f"Ann {m}" in listing.text
    assert f"Dan {m}" not in listing.text
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert [r[1] for r in rows[1:]] == [f"Ann {m}"]
    assert rows[0][rows[0].index("Account")] == "Account"
    async with signed_in(app, acme, "sam") as b:  # East's manager sees alice's people, not West's
        listing = await b.get(f"/crm/contacts?q={m}")
    assert f"Ann {m}" in listing.text
    assert f"Dan {m}" not in listing.text
    assert (await _contact(acme, daves)).full_name == f"Dan {m}"
    assert alices


async def test_contact_search_finds_the_account_name_and_phone_digits(app, acme):
    m = mark()
    account = await new_account(acme, name=f"上海{m}科技")
    zhang = await new_contact(acme, account, full_name="张伟", phone="+86 138 0013 8000")
    async with signed_in(app, acme, "alice") as b:
        by_account = await b.get(f"/crm/contacts?q=上海{m}", headers={"HX-Request": "true"})
        by_digits = await b.get("/crm/contacts?q=138-0013-8000&per_page=100", headers={"HX-Request": "true"})
        by_other = await b.get("/crm/contacts?q=139 0013 8000", headers={"HX-Request": "true"})
    assert f"/crm/contacts/{zhang}" in by_account.text
    assert f"/crm/contacts/{zhang}" in by_digits.text
    assert f"/crm/contacts/{zhang}" not in by_other.text


async def test_edit_changes_only_what_was_sent_and_keeps_a_name(acme):
    account = await new_account(acme)
    contact_id = await new_contact(
        acme, account, first_name="Ada", last_name="Lovelace", email="ada@x.example"
    )
    async with acting_as(acme, "alice") as (session, principal):
        await contacts.update_contact(session, principal, contact_id, {"last_name": "King"})
    contact = await _contact(acme, contact_id)
    assert (contact.full_name, contact.email) == ("Ada King", "ada@x.example")
    with pytest.raises(ValidationFailed) as err:
        async with acting_as(acme, "alice") as (session, principal):
            await contacts.update_contact(
                session, principal, contact_id, {"full_name": "", "first_name": "", "last_name": ""}
            )
    assert [(e.field, e.message) for e in err.value.errors] == [("full_name", "This field is required.")]
    assert (await _contact(acme, contact_id)).full_name == "Ada King"


async def test_moving_a_contact_needs_a_target_the_user_may_change(acme):
    source = await new_account(acme)
    target = await new_account(acme)
    daves = await new_account(acme, "dave")
    contact_id = await new_contact(acme, source, is_primary="1")
    with pytest.raises(ValidationFailed) as err:
        async with acting_as(acme, "alice") as (session, principal):
            await contacts.update_contact(session, principal, contact_id, {"account_id": daves})
    assert [e.message for e in err.value.errors] == ["Choose an existing account."]
    async with acting_as(acme, "alice") as (session, principal):
        await contacts.update_contact(session, principal, contact_id, {"account_id": target})
    moved = await _contact(acme, contact_id)
    assert (moved.account_id, moved.is_primary) == (target, False)


async def test_portal_invitation_form_only_for_user_admins(app, acme):
    account = await new_account(acme, "ada")
    with_mail = await new_contact(acme, account, "ada", full_name="Mailable", email=f"{mark()}@x.example")
    without = await new_contact(acme, account, "ada", full_name="No mail")
    action = f'action="/crm/contacts/{with_mail}/portal-invitation"'
    async with signed_in(app, acme, "ada") as b:
        page = await b.get(f"/crm/contacts/{with_mail}")
        no_mail = await b.get(f"/crm/contacts/{without}")
    assert action in page.text
    assert "Invite to the customer portal" in page.text
    assert 'disabled title="Add an e-mail address first."' in no_mail.text
    async with signed_in(app, acme, "sam") as b:  # the account is outside his team
        assert (await b.get(f"/crm/contacts/{with_mail}")).status_code == 404
    mine = await new_contact(acme, await new_account(acme), full_name="Alice's", email=f"{mark()}@x.example")
    async with signed_in(app, acme, "alice") as b:  # no admin.users.manage, nobody invited: no card
        page = await b.get(f"/crm/contacts/{mine}")
    assert page.status_code == 200
    assert "portal-invitation" not in page.text
    assert "Customer portal" not in page.text


async def test_only_one_primary_contact_per_account(acme):
    account = await new_account(acme)
    first = await new_contact(acme, account, is_primary="1")
    second = await new_contact(acme, account, is_primary="1")
    assert ((await _contact(acme, first)).is_primary, (await _contact(acme, second)).is_primary) == (
        False,
        True,
    )


async def test_typing_hints_for_contacts(app, acme):
    m = mark()
    account = await new_account(acme)
    await new_contact(acme, account, full_name=f"Hint {m}", email=f"hint@{m}.example")
    async with signed_in(app, acme, "alice") as b:
        by_mail = await b.get(
            f"/crm/contacts/duplicates?email=HINT@{m}.example", headers={"HX-Request": "true"}
        )
        by_name = await b.get(f"/crm/contacts/duplicates?full_name=Hint+{m}&account_id={account}")
        nothing = await b.get(f"/crm/contacts/duplicates?full_name=Hint+{m}")
    assert f"Hint {m}" in by_mail.text
    assert "Same e-mail address" in by_mail.text
    assert "Similar name" in by_name.text
    assert f"Hint {m}" not in nothing.text  # a name alone, at no account, proves nothing


async def test_account_picker_lists_visible_matches_only(app, acme):
    m = mark()
    mine = await new_account(acme, name=f"Pick {m} Alpha")
    theirs = await new_account(acme, "dave", name=f"Pick {m} Beta")
    async with signed_in(app, acme, "alice") as b:
        r = await b.get(f"/crm/accounts/lookup?account_q=pick+{m}", headers={"HX-Request": "true"})
        none = await b.get("/crm/accounts/lookup?account_q=zzz-none", headers={"HX-Request": "true"})
    assert f'name="account_id" value="{mine}" checked' in r.text
    assert f'value="{theirs}"' not in r.text
    assert "No account matches “zzz-none”." in none.text
