"""Admin › Users: the list (search, filters, sorting, pages, htmx), the edit form, deactivation."""

from __future__ import annotations

import re

from app.security.models import User
from tests.admin.support import (
    get,
    is_fragment,
    make_user,
    marker,
    pager_text,
    role_keys,
    row_with,
    team_id,
)
from tests.helpers import signed_in


async def test_list_shows_people_with_roles_team_and_status(app, acme):
    async with signed_in(app, acme, "ada") as b:
        r = await b.get("/admin/users")
    assert r.status_code == 200
    alice = row_with(r.text, "alice@acme.example")
    assert f'href="/admin/users/{acme.users["alice"]}"' in alice
    assert "Alice Rep" in alice
    assert "Sales representative" in alice
    assert "East" in alice
    assert "Active" in alice
    carol = row_with(r.text, "carol@acme-customer.example")
    assert "External" in carol
    assert "Customer" in carol


async def test_search_matches_name_or_email(app, acme):
    async with signed_in(app, acme, "ada") as b:
        by_name = await b.get("/admin/users?q=alice+rep")
        by_mail = await b.get("/admin/users?q=BOB@ACME")
    assert pager_text(by_name.text) == "1–1 of 1"
    assert "alice@acme.example" in by_name.text
    assert pager_text(by_mail.text) == "1–1 of 1"
    assert "bob@acme.example" in by_mail.text
    assert "alice@acme.example" not in by_mail.text


async def test_filters_by_role_and_status(app, acme):
    tag = marker("flt")
    gone, gone_email = await make_user(acme, name=f"Gone {tag}")
    async with signed_in(app, acme, "ada") as b:
        await b.post(f"/admin/users/{gone}/deactivate")
        accountants = await b.get("/admin/users?f_role=accountant")
        deactivated = await b.get(f"/admin/users?f_status=deactivated&q={tag}")
        active = await b.get(f"/admin/users?f_status=active&q={tag}")
        external = await b.get("/admin/users?f_status=external")
    assert pager_text(accountants.text) == "1–1 of 1"
    assert "bob@acme.example" in accountants.text
    assert pager_text(deactivated.text) == "1–1 of 1"
    assert "Deactivated" in row_with(deactivated.text, gone_email)
    assert pager_text(active.text) == "0–0 of 0"
    assert "No users match these filters." in active.text
    assert "carol@acme-customer.example" in external.text
    assert "alice@acme.example" not in external.text


async def test_sorts_by_email_both_ways_and_pages(app, acme):
    tag = marker("srt")
    emails = sorted([(await make_user(acme, name=f"Sort {tag} {i:02d}"))[1] for i in range(12)])
    async with signed_in(app, acme, "ada") as b:
        asc = await b.get(f"/admin/users?q={tag}&sort=email&dir=asc&per_page=10")
        desc = await b.get(f"/admin/users?q={tag}&sort=email&dir=desc&per_page=10")
        page2 = await b.get(f"/admin/users?q={tag}&sort=email&dir=asc&per_page=10&page=2")
    shown = re.findall(r"u[0-9a-f]{10}@acme\.example", asc.text)
    assert shown == emails[:10]
    assert re.findall(r"u[0-9a-f]{10}@acme\.example", desc.text) == emails[::-1][:10]
    assert re.findall(r"u[0-9a-f]{10}@acme\.example", page2.text) == emails[10:]
    assert pager_text(asc.text) == "1–10 of 12"
    assert pager_text(page2.text) == "11–12 of 12"
    assert 'aria-sort="ascending"' in asc.text


async def test_htmx_request_gets_only_the_table(app, acme):
    async with signed_in(app, acme, "ada") as b:
        r = await b.htmx("GET", "/admin/users?q=alice")
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<div id="users-table">')
    assert is_fragment(r.text)
    assert "alice@acme.example" in r.text
    assert "bob@acme.example" not in r.text


async def test_detail_shows_the_form_with_current_roles_team_and_history(app, acme):
    async with signed_in(app, acme, "ada") as b:
        r = await b.get(f"/admin/users/{acme.users['alice']}")
    assert r.status_code == 200
    assert 'name="full_name" type="text"\n         value="Alice Rep"' in r.text
    assert re.search(r'value="sales_rep" checked', r.text)
    assert not re.search(r'value="accountant" checked', r.text)
    east = await team_id(acme, "East")
    assert f'<option value="{east}" selected>East</option>' in r.text
    assert "user.created" in r.text  # her audit history


async def test_admin_changes_name_roles_and_team(app, acme):
    uid, _ = await make_user(acme, name="Before Name")
    east = await team_id(acme, "East")
    async with signed_in(app, acme, "ada") as b:
        r = await b.post(
            f"/admin/users/{uid}",
            {"full_name": "  After   Name ", "roles": ["sales_rep", "marketer"], "team_id": str(east)},
        )
        assert r.status_code == 303
        assert r.headers["location"] == f"/admin/users/{uid}"
        page = await b.get(r.headers["location"])
    assert "The changes to After Name are saved." in page.text
    user = await get(acme, User, uid)
    assert (user.full_name, user.team_id, user.is_external) == ("After Name", east, False)
    assert await role_keys(acme, uid) == ["marketer", "sales_rep"]


async def test_bad_input_rerenders_with_field_errors_and_changes_nothing(app, acme):
    uid, _ = await make_user(acme, name="Stays Same")
    async with signed_in(app, acme, "ada") as b:
        r = await b.post(f"/admin/users/{uid}", {"full_name": "   ", "team_id": ""})
        unknown_team = await b.post(
            f"/admin/users/{uid}", {"full_name": "X", "roles": "employee", "team_id": "abc"}
        )
        mixed = await b.post(f"/admin/users/{uid}", {"full_name": "X", "roles": ["employee", "customer"]})
    assert r.status_code == 422
    assert "Please correct the highlighted fields." in r.text
    assert "This field is required." in r.text
    assert "Choose at least one role." in r.text
    assert unknown_team.status_code == 422
    assert "Choose an existing team." in unknown_team.text
    assert mixed.status_code == 422
    assert "The customer role cannot be combined with staff roles." in mixed.text
    user = await get(acme, User, uid)
    assert (user.full_name, user.team_id) == ("Stays Same", None)
    assert await role_keys(acme, uid) == ["employee"]


async def test_making_a_customer_staff_clears_the_external_flag(app, acme):
    uid, _ = await make_user(acme, roles=("customer",))
    assert (await get(acme, User, uid)).is_external is True
    async with signed_in(app, acme, "ada") as b:
        r = await b.post(f"/admin/users/{uid}", {"full_name": "Now Staff", "roles": "employee"})
    assert r.status_code == 303
    assert (await get(acme, User, uid)).is_external is False


async def test_the_last_administrator_keeps_the_role(app, initech):
    ada = initech.users["ada"]
    async with signed_in(app, initech, "ada") as b:
        r = await b.post(f"/admin/users/{ada}", {"full_name": "Ada Admin", "roles": "employee"})
    assert r.status_code == 422
    assert "A tenant must keep at least one active administrator." in r.text
    assert await role_keys(initech, ada) == ["tenant_admin"]


async def test_deactivate_ends_the_sessions_and_reactivate_lets_them_back(app, acme):
    uid, email = await make_user(acme)
    before = await get(acme, User, uid)
    async with signed_in(app, acme, "ada") as admin:
        from tests.helpers import browser, login

        async with browser(app, acme) as victim:
            await login(victim, email)
            assert (await victim.get("/")).status_code == 200
            r = await admin.post(f"/admin/users/{uid}/deactivate")
            assert r.status_code == 303
            page = await admin.get(r.headers["location"])
            assert f"{email} is deactivated and signed out." in page.text
            gone = await get(acme, User, uid)
            assert (gone.is_active, gone.session_epoch) == (False, before.session_epoch + 1)
            after = await victim.get("/")
            assert after.status_code == 303
            assert after.headers["location"].startswith("/login")
        r = await admin.post(f"/admin/users/{uid}/reactivate")
        assert r.status_code == 303
        page = await admin.get(r.headers["location"])
        assert f"{email} can sign in again." in page.text
    assert (await get(acme, User, uid)).is_active is True


async def test_an_admin_cannot_deactivate_themselves(app, acme):
    async with signed_in(app, acme, "ada") as b:
        r = await b.post(f"/admin/users/{acme.users['ada']}/deactivate")
    assert r.status_code == 422
    assert "You cannot deactivate your own account." in r.text
    assert (await get(acme, User, acme.users["ada"])).is_active is True


async def test_people_without_the_permission_get_403_and_change_nothing(app, acme):
    uid, _ = await make_user(acme, name="Untouched")
    async with signed_in(app, acme, "alice") as b:
        assert (await b.get("/admin/users")).status_code == 403
        assert (await b.get(f"/admin/users/{uid}")).status_code == 403
        r = await b.post(f"/admin/users/{uid}", {"full_name": "Hacked", "roles": "tenant_admin"})
        assert r.status_code == 403
        assert (await b.post(f"/admin/users/{uid}/deactivate")).status_code == 403
        home = await b.get("/")
    assert "/admin/users" not in home.text  # no Administration entries in her navigation
    user = await get(acme, User, uid)
    assert (user.full_name, user.is_active) == ("Untouched", True)
    assert await role_keys(acme, uid) == ["employee"]
