"""Admin › Roles: built-in roles read-only, custom roles created, edited and deleted."""

from __future__ import annotations

from app.security.models import Role, UserRole
from tests.admin.support import count, get, make_user, marker, role_id, row_with
from tests.helpers import signed_in


async def _custom_role(tenant, name: str, grants: list[str]) -> int:
    from app.security.services.roles import create_role
    from tenants.service import in_tenant

    async with in_tenant(tenant.slug) as (session, _ref):
        role = await create_role(session, name=name, description="", grants=grants)
        await session.flush()
        return role.id


async def _assign(tenant, user_id: int, role: int) -> None:
    from tenants.service import in_tenant

    async with in_tenant(tenant.slug) as (session, _ref):
        session.add(UserRole(user_id=user_id, role_id=role))


async def test_list_shows_builtin_and_custom_roles_with_member_counts(app, acme):
    name = f"Auditors {marker()}"
    rid = await _custom_role(acme, name, ["admin.audit.read", "crm.lead.read:team"])
    for _ in range(2):
        uid, _email = await make_user(acme)
        await _assign(acme, uid, rid)
    async with signed_in(app, acme, "ada") as b:
        r = await b.get("/admin/roles")
    assert r.status_code == 200
    custom = row_with(r.text, name)
    assert 'tag-info">custom' in custom
    assert '<td class="num">2</td><td class="num">2</td>' in custom.replace("\n", "").replace("  ", "")
    assert f'action="/admin/roles/{rid}/delete"' in custom
    builtin = row_with(r.text, "Sales representative")
    assert "built-in" in builtin
    assert "/delete" not in builtin


async def test_builtin_role_is_shown_read_only_with_its_grants(app, acme):
    rid = await role_id(acme, "sales_rep")
    async with signed_in(app, acme, "ada") as b:
        r = await b.get(f"/admin/roles/{rid}")
        post = await b.post(f"/admin/roles/{rid}", {"name": "Mine now", "grant": "admin.roles.manage"})
        delete = await b.post(f"/admin/roles/{rid}/delete")
    assert r.status_code == 200
    assert "Built-in roles are maintained by Tessera and cannot be changed." in r.text
    assert "15 permissions" in r.text
    leads = row_with(r.text.replace("<li>", "<tr>").replace("</li>", "</tr>"), "crm.lead.read")
    assert "View leads" in leads
    assert "Own records" in leads
    assert f'action="/admin/roles/{rid}"' not in r.text
    assert post.status_code == 422
    assert "Built-in roles cannot be changed; create your own role instead." in post.text
    assert delete.status_code == 422
    assert "Built-in roles cannot be deleted." in delete.text
    role = await get(acme, Role, rid)
    assert (role.name, role.is_builtin) == ("Sales representative", True)


async def test_create_a_custom_role_with_scoped_grants(app, acme):
    name = f"Night shift {marker()}"
    async with signed_in(app, acme, "ada") as b:
        form = await b.get("/admin/roles/new")
        assert form.status_code == 200
        assert 'name="scope.crm.lead.read"' in form.text
        assert 'name="scope.admin.audit.read"' not in form.text  # unscoped: no scope select
        assert "<summary><strong>Customer relationships</strong>" in form.text
        r = await b.post(
            "/admin/roles",
            {
                "name": name,
                "description": "Covers the night",
                "grant": ["crm.lead.read", "admin.audit.read", "crm.ticket.write"],
                "scope.crm.lead.read": "team",
                "scope.crm.ticket.write": "all",
                "scope.crm.account.read": "all",  # not ticked: no grant
            },
        )
        assert r.status_code == 303
        page = await b.get(r.headers["location"])
    assert f"The role {name} is created." in page.text
    role = await _one_role(acme, name)
    assert role.grants == ["admin.audit.read", "crm.lead.read:team", "crm.ticket.write:all"]
    assert (role.description, role.is_builtin) == ("Covers the night", False)
    assert role.key.startswith("custom_night_shift_")


async def _one_role(tenant, name: str) -> Role:
    from sqlalchemy import select

    from tests.admin.support import one

    return await one(tenant, select(Role).where(Role.name == name))


async def test_refused_role_rerenders_with_errors_and_creates_nothing(app, acme):
    existing = f"Taken {marker()}"
    await _custom_role(acme, existing, [])
    before = await count(acme, Role)
    async with signed_in(app, acme, "ada") as b:
        blank = await b.post(
            "/admin/roles",
            {"name": " ", "grant": ["nope.x.y", "crm.lead.read"], "scope.crm.lead.read": "galaxy"},
        )
        clash = await b.post("/admin/roles", {"name": existing.upper(), "grant": "admin.audit.read"})
    assert blank.status_code == 422
    assert "This field is required." in blank.text
    assert "Unknown permission: nope.x.y." in blank.text
    assert "Unknown scope galaxy for crm.lead.read." in blank.text
    assert clash.status_code == 422
    assert "A role with this name already exists." in clash.text
    assert 'value="admin.audit.read" checked' in clash.text  # the ticks survive the round trip
    assert await count(acme, Role) == before


async def test_edit_a_custom_role(app, acme):
    name = f"Editable {marker()}"
    rid = await _custom_role(acme, name, ["admin.audit.read"])
    async with signed_in(app, acme, "ada") as b:
        form = await b.get(f"/admin/roles/{rid}")
        assert 'value="admin.audit.read" checked' in form.text
        r = await b.post(
            f"/admin/roles/{rid}",
            {
                "name": f"{name} v2",
                "description": "",
                "grant": "hr.employee.read",
                "scope.hr.employee.read": "own",
            },
        )
        assert r.status_code == 303
        bad = await b.post(f"/admin/roles/{rid}", {"name": "", "grant": "admin.audit.read"})
    assert bad.status_code == 422
    assert "This field is required." in bad.text
    role = await get(acme, Role, rid)
    assert (role.name, role.grants) == (f"{name} v2", ["hr.employee.read:own"])


async def test_delete_is_refused_while_the_role_is_assigned(app, acme):
    used = await _custom_role(acme, f"Used {marker()}", ["admin.audit.read"])
    unused = await _custom_role(acme, f"Unused {marker()}", ["admin.audit.read"])
    uid, _ = await make_user(acme)
    await _assign(acme, uid, used)
    async with signed_in(app, acme, "ada") as b:
        refused = await b.post(f"/admin/roles/{used}/delete")
        done = await b.post(f"/admin/roles/{unused}/delete")
    assert refused.status_code == 422
    assert "This role is still assigned to users; remove it from them first." in refused.text
    assert await get(acme, Role, used) is not None
    assert done.status_code == 303
    assert await get(acme, Role, unused) is None


async def test_people_without_the_permission_get_403(app, acme):
    rid = await _custom_role(acme, f"Guarded {marker()}", ["admin.audit.read"])
    async with signed_in(app, acme, "bob") as b:
        assert (await b.get("/admin/roles")).status_code == 403
        assert (
            await b.post("/admin/roles", {"name": "Bob's", "grant": "admin.roles.manage"})
        ).status_code == 403
        assert (await b.post(f"/admin/roles/{rid}/delete")).status_code == 403
    assert await get(acme, Role, rid) is not None
    assert await _one_role(acme, "Bob's") is None
