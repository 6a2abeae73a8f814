"""Users over the API: list with filters, read, partial update (PLAT-9).

Tests create their own users (``m<hex>`` markers) and never change the shared personas.
"""

from __future__ import annotations

from sqlalchemy import select

from tests.api.conftest import create_team, create_user, foreign_user, marker, problem_of, row_counts


async def _user_row(tenant, user_id):
    from app.security.models import User
    from tenants.service import in_tenant

    async with in_tenant(tenant.slug) as (session, _ref):
        return (await session.execute(select(User).where(User.id == user_id))).scalar_one()


async def test_a_user_is_shown_with_roles_and_team(api, acme):
    m = marker()
    team_id = await create_team(acme, f"Team {m}")
    uid = await create_user(
        acme, f"{m}@example.com", "Grace Hopper", ["sales_rep", "marketer"], team_id=team_id
    )
    r = await api.get(f"/api/v1/users/{uid}")
    assert r.status_code == 200
    body = r.json()
    assert {k: v for k, v in body.items() if k not in ("created_at", "updated_at")} == {
        "id": uid,
        "email": f"{m}@example.com",
        "full_name": "Grace Hopper",
        "active": True,
        "external": False,
        "roles": ["marketer", "sales_rep"],
        "team_id": team_id,
        "locale": None,
        "timezone": None,
        "last_login_at": None,
    }
    row = await _user_row(acme, uid)
    assert body["created_at"] == row.created_at.isoformat().replace("+00:00", "Z")


async def test_an_unknown_user_is_a_404_problem(api):
    r = await api.get("/api/v1/users/987654321")
    assert r.status_code == 404
    assert problem_of(r)["code"] == "not_found"
    assert r.json()["detail"] == "The user was not found."


async def test_the_list_filters_by_text_role_and_activity(api, acme):
    m = marker()
    a = await create_user(acme, f"{m}-a@example.com", "Ann Filter", ["sales_rep"])
    b = await create_user(acme, f"{m}-b@example.com", "Ben Filter", ["accountant"])
    c = await create_user(acme, f"{m}-c@example.com", "Cid Filter", ["sales_rep"])
    r = await api.patch(f"/api/v1/users/{c}", json={"active": False})
    assert r.status_code == 200

    async def ids(**params):
        r = await api.get("/api/v1/users", params={"q": m, **params})
        assert r.status_code == 200, r.text
        return [u["id"] for u in r.json()["items"]]

    assert await ids() == [a, b, c]  # ordered by e-mail
    assert await ids(q=m.upper()) == [a, b, c]  # case-insensitive
    assert await ids(role="sales_rep") == [a, c]
    assert await ids(active="true") == [a, b]
    assert await ids(active="false") == [c]
    assert await ids(role="sales_rep", active="true") == [a]
    assert await ids(role="no_such_role") == []


async def test_patch_changes_only_the_fields_sent(api, acme):
    m = marker()
    team_id = await create_team(acme, f"Team {m}")
    uid = await create_user(acme, f"{m}@example.com", "Old Name", ["sales_rep"], team_id=team_id)
    r = await api.patch(f"/api/v1/users/{uid}", json={"full_name": "  New   Name "})
    assert r.status_code == 200
    assert (r.json()["full_name"], r.json()["roles"], r.json()["team_id"]) == (
        "New Name",
        ["sales_rep"],
        team_id,
    )

    r = await api.patch(f"/api/v1/users/{uid}", json={"roles": ["accountant", "marketer"], "team_id": None})
    assert (r.json()["full_name"], r.json()["roles"], r.json()["team_id"]) == (
        "New Name",
        ["accountant", "marketer"],
        None,
    )
    assert (await api.get(f"/api/v1/users/{uid}")).json() == r.json()


async def test_deactivating_ends_the_users_sessions(api, acme):
    m = marker()
    uid = await create_user(acme, f"{m}@example.com", "Leaving Soon", ["sales_rep"])
    epoch = (await _user_row(acme, uid)).session_epoch
    r = await api.patch(f"/api/v1/users/{uid}", json={"active": False})
    assert r.status_code == 200
    assert r.json()["active"] is False
    row = await _user_row(acme, uid)
    assert (row.is_active, row.session_epoch) == (False, epoch + 1)
    r = await api.patch(f"/api/v1/users/{uid}", json={"active": True})
    assert r.json()["active"] is True


async def test_an_empty_patch_changes_nothing(api, acme):
    uid = await create_user(acme, f"{marker()}@example.com", "Same Person", ["sales_rep"])
    before = (await api.get(f"/api/v1/users/{uid}")).json()
    counts = await row_counts(acme)
    r = await api.patch(f"/api/v1/users/{uid}", json={})
    assert (r.status_code, r.json()) == (200, before)
    assert await row_counts(acme) == counts


async def test_domain_validation_is_a_422_with_field_errors_and_writes_nothing(api, acme):
    uid = await create_user(acme, f"{marker()}@example.com", "Kept Name", ["sales_rep"])
    counts = await row_counts(acme)
    r = await api.patch(
        f"/api/v1/users/{uid}", json={"full_name": " ", "roles": ["wizard"], "team_id": 999999}
    )
    assert r.status_code == 422
    assert problem_of(r)["code"] == "validation_failed"
    assert r.json()["errors"] == [
        {"field": "full_name", "message": "This field is required."},
        {"field": "roles", "message": "Unknown role: wizard."},
        {"field": "team_id", "message": "Choose an existing team."},
    ]
    assert await row_counts(acme) == counts
    assert (await _user_row(acme, uid)).full_name == "Kept Name"


async def test_the_last_administrator_cannot_be_deactivated_or_demoted(api, acme):
    counts = await row_counts(acme)
    for change in ({"active": False}, {"roles": ["sales_rep"]}):
        r = await api.patch(f"/api/v1/users/{acme.users['ada']}", json=change)
        assert r.status_code == 409
        assert problem_of(r)["code"] == "last_admin"
        assert r.json()["detail"] == "A tenant must keep at least one active administrator."
    assert await row_counts(acme) == counts
    assert (await api.get(f"/api/v1/users/{acme.users['ada']}")).json()["roles"] == ["tenant_admin"]


async def test_another_tenants_user_is_not_found_even_with_an_invalid_change(api, acme, globex):
    """The record is loaded before the change is judged: a 422 would reveal that the id exists."""
    uid = await foreign_user(globex)
    counts = await row_counts(globex)
    r = await api.patch(f"/api/v1/users/{uid}", json={"roles": ["wizard"]})
    assert r.status_code == 404
    assert problem_of(r)["detail"] == "The user was not found."
    assert await row_counts(globex) == counts
