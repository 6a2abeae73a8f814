"""Admin › Invitations: invite (plain POST and htmx), list with statuses, resend, revoke."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.kernel.db import utcnow
from app.security.models import Invitation
from tests.admin.support import count, get, is_fragment, marker, one, pager_text, row_with, team_id
from tests.helpers import signed_in


async def _invitation(tenant, email: str) -> Invitation:
    return await one(
        tenant, select(Invitation).where(Invitation.email == email).order_by(Invitation.id.desc()).limit(1)
    )


async def _make(tenant, tag: str, **changes) -> Invitation:
    from tenants.service import in_tenant

    async with in_tenant(tenant.slug) as (session, _ref):
        values = {
            "email": f"{tag}@invited.example",
            "full_name": f"Invitee {tag}",
            "role_keys": ["employee"],
            "expires_at": utcnow() + timedelta(days=3),
            "locale": "en",
        }
        inv = Invitation(**{**values, **changes})
        session.add(inv)
        await session.flush()
        return inv


async def test_invite_by_plain_post_then_redirect(app, acme):
    email = f"{marker('inv')}@newhire.example"
    east = await team_id(acme, "East")
    async with signed_in(app, acme, "ada") as b:
        r = await b.post(
            "/admin/invitations",
            {
                "email": email.upper(),
                "full_name": "New  Hire",
                "roles": ["sales_rep", "marketer"],
                "team_id": str(east),
                "locale": "zh_Hant",
            },
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/admin/invitations"
        page = await b.get("/admin/invitations")
    assert f"Invitation sent to {email}." in page.text
    assert "Pending" in row_with(page.text, email)
    inv = await _invitation(acme, email)
    assert (inv.full_name, inv.role_keys, inv.team_id, inv.locale) == (
        "New Hire",
        ["marketer", "sales_rep"],
        east,
        "zh_Hant",
    )
    assert inv.invited_by_id == acme.users["ada"]
    assert timedelta(days=6, hours=23) < inv.expires_at - utcnow() <= timedelta(days=7)


async def test_invite_with_htmx_swaps_the_table_and_resets_the_form(app, acme):
    email = f"{marker('hx')}@newhire.example"
    async with signed_in(app, acme, "ada") as b:
        await b.get("/admin/invitations")
        r = await b.htmx("POST", "/admin/invitations", {"email": email, "roles": "employee", "locale": "en"})
    assert r.status_code == 200
    assert is_fragment(r.text)
    assert r.text.lstrip().startswith('<div id="invitations-table">')
    assert email in row_with(r.text, email)
    # the form comes back empty, out of band, with the confirmation
    assert '<form id="invite-form"' in r.text
    assert 'hx-swap-oob="true"' in r.text
    assert f"Invitation sent to {email}." in r.text
    assert f'value="{email}"' not in r.text
    assert "hx-redirect" not in r.headers
    assert (await _invitation(acme, email)).role_keys == ["employee"]
    async with signed_in(app, acme, "ada") as b:  # no flash left over for the next page
        page = await b.get("/admin/invitations")
    assert f"Invitation sent to {email}." not in page.text


async def test_refused_htmx_invite_returns_the_form_with_errors(app, acme):
    before = await count(acme, Invitation)
    async with signed_in(app, acme, "ada") as b:
        await b.get("/admin/invitations")
        r = await b.htmx("POST", "/admin/invitations", {"email": "not-an-email", "locale": "xx"})
    assert r.status_code == 422
    assert r.headers["hx-retarget"] == "#invite-form"
    assert r.headers["hx-reswap"] == "outerHTML"
    assert is_fragment(r.text)
    assert r.text.lstrip().startswith('<form id="invite-form"')
    assert "Enter a valid e-mail address." in r.text
    assert "Choose at least one role." in r.text
    assert "Choose one of the supported languages." in r.text
    assert 'value="not-an-email"' in r.text  # what they typed stays
    assert await count(acme, Invitation) == before


async def test_refused_plain_invite_rerenders_the_page(app, acme):
    before = await count(acme, Invitation)
    async with signed_in(app, acme, "ada") as b:
        taken = await b.post(
            "/admin/invitations", {"email": "Alice@Acme.example", "roles": "employee", "locale": "en"}
        )
        no_team = await b.post(
            "/admin/invitations",
            {"email": "x@newhire.example", "roles": "employee", "team_id": "999999999", "locale": "en"},
        )
    assert taken.status_code == 422
    assert "<html" in taken.text
    assert "A user with the e-mail alice@acme.example already exists." in taken.text
    assert no_team.status_code == 422
    assert "Choose an existing team." in no_team.text
    assert await count(acme, Invitation) == before


async def test_list_filters_by_status_and_searches(app, acme):
    tag = marker("st")
    pending = await _make(acme, f"{tag}p")
    expired = await _make(acme, f"{tag}e", expires_at=utcnow() - timedelta(days=1))
    revoked = await _make(acme, f"{tag}r", revoked_at=utcnow())
    accepted = await _make(acme, f"{tag}a", accepted_at=utcnow())
    async with signed_in(app, acme, "ada") as b:
        everything = await b.get(f"/admin/invitations?q={tag}")
        shown = {
            status: await b.get(f"/admin/invitations?q={tag}&f_status={status}")
            for status in ("pending", "expired", "revoked", "accepted")
        }
        htmx = await b.htmx("GET", f"/admin/invitations?q={tag}&f_status=expired")
    assert pager_text(everything.text) == "1–4 of 4"
    for status, inv in [
        ("pending", pending),
        ("expired", expired),
        ("revoked", revoked),
        ("accepted", accepted),
    ]:
        assert pager_text(shown[status].text) == "1–1 of 1", status
        row = row_with(shown[status].text, inv.email)
        assert status.title() in row
    assert f"/admin/invitations/{pending.id}/resend" in everything.text
    assert f"/admin/invitations/{accepted.id}/resend" not in everything.text
    assert f"/admin/invitations/{revoked.id}/revoke" not in everything.text
    assert is_fragment(htmx.text)
    assert htmx.text.lstrip().startswith('<div id="invitations-table">')
    assert expired.email in htmx.text
    assert pending.email not in htmx.text


async def test_resend_renews_the_link_and_revoke_closes_it(app, acme):
    tag = marker("rs")
    inv = await _make(acme, tag, expires_at=utcnow() - timedelta(days=1), token_hash="ab" * 32)
    async with signed_in(app, acme, "ada") as b:
        r = await b.post(f"/admin/invitations/{inv.id}/resend")
        assert r.status_code == 303
        page = await b.get("/admin/invitations")
        assert f"A new invitation link was sent to {inv.email}." in page.text
        renewed = await get(acme, Invitation, inv.id)
        assert renewed.token_hash is None
        assert renewed.expires_at - utcnow() > timedelta(days=6, hours=23)
        r = await b.post(f"/admin/invitations/{inv.id}/revoke")
        assert r.status_code == 303
        page = await b.get("/admin/invitations")
        assert f"The invitation for {inv.email} is revoked." in page.text
        revoked = await get(acme, Invitation, inv.id)
        assert revoked.revoked_at is not None
        again = await b.post(f"/admin/invitations/{inv.id}/resend")
    assert again.status_code == 422
    assert "This invitation was already accepted or revoked." in again.text
    unchanged = await get(acme, Invitation, inv.id)
    assert (unchanged.expires_at, unchanged.revoked_at) == (revoked.expires_at, revoked.revoked_at)


async def test_an_accepted_invitation_cannot_be_revoked(app, acme):
    inv = await _make(acme, marker("ac"), accepted_at=utcnow())
    async with signed_in(app, acme, "ada") as b:
        r = await b.post(f"/admin/invitations/{inv.id}/revoke")
    assert r.status_code == 422
    assert "This invitation was already accepted." in r.text
    assert (await get(acme, Invitation, inv.id)).revoked_at is None


async def test_people_without_the_permission_get_403(app, acme):
    inv = await _make(acme, marker("np"))
    before = await count(acme, Invitation)
    async with signed_in(app, acme, "nora") as b:
        assert (await b.get("/admin/invitations")).status_code == 403
        r = await b.post("/admin/invitations", {"email": "x@y.example", "roles": "tenant_admin"})
        assert r.status_code == 403
        assert (await b.post(f"/admin/invitations/{inv.id}/revoke")).status_code == 403
    assert await count(acme, Invitation) == before
    assert (await get(acme, Invitation, inv.id)).revoked_at is None
    assert await count(acme, Invitation, Invitation.email == "x@y.example") == 0
