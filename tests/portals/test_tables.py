"""The reusable table: sorting, filtering and paging state survive htmx swaps."""

from __future__ import annotations

from tests.helpers import signed_in


async def test_an_htmx_sort_carries_its_state_into_the_toolbar_form(app, acme):
    async with signed_in(app, acme, "ada") as b:
        page = await b.get("/admin/users")
        assert '<form id="users-table-tools"' in page.text
        fragment = await b.htmx("GET", "/admin/users?sort=email&dir=desc&per_page=10&page=1")
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert '<input type="hidden" form="users-table-tools" name="sort" value="email">' in fragment.text
    assert '<input type="hidden" form="users-table-tools" name="dir" value="desc">' in fragment.text
    assert '<input type="hidden" form="users-table-tools" name="per_page" value="10">' in fragment.text


async def test_unknown_sort_and_page_size_fall_back_to_defaults(app, acme):
    async with signed_in(app, acme, "ada") as b:
        r = await b.htmx("GET", "/admin/users?sort=password_hash&dir=sideways&per_page=100000&page=-3")
    assert r.status_code == 200
    assert 'name="per_page" value="25"' in r.text
    assert 'name="dir" value="asc"' in r.text
    assert 'name="sort" value="password_hash"' not in r.text
