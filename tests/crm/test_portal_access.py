"""Getting into the customer portal (CRM-12): staff invitations, sign-up against a known account,
and the linking rules — through the real invitation mail and acceptance pages."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from urllib.parse import unquote

import pytest
from sqlalchemy import select, update

from app.crm.models import Contact
from app.crm.services import portal_access
from app.kernel import mail
from app.kernel.events import Event
from app.kernel.redis import get_redis
from app.security import handlers as security_mail
from app.security.models import Invitation, User
from app.security.principal import Principal
from app.security.services import invitations
from app.security.services.invitations import INVITATION_CREATED
from tenants.service import in_tenant
from tests.crm.factories.portal import customer_browser, customer_user
from tests.crm.factories.sales import account_row
from tests.crm.support import table_counts
from tests.helpers import browser, signed_in
from tests.world import PASSWORD

ACCESS_TABLES = ("invitations", "crm_contacts", "users")
NEUTRAL = "belongs to one of our customer contacts, we have sent it a link"


def mark() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(autouse=True)
async def _clean_signup_limits() -> None:
    redis = get_redis()
    keys = [k async for k in redis.scan_iter(match="tessera:portal-signup:*")]
    if keys:
        await redis.delete(*keys)


async def new_contact(tenant, email: str | None, name: str = "Wang Fang") -> tuple[int, int]:
    """A customer account with one contact (no sign-in): (account id, contact id)."""
    async with in_tenant(tenant.slug) as (session, _):
        account = await account_row(session, f"Customer {mark()}", lifecycle_stage="customer")
        contact = Contact(account_id=account.id, full_name=name, email=email)
        session.add(contact)
        await session.flush()
        return account.id, contact.id


async def contact_row(tenant, contact_id: int) -> Contact:
    async with in_tenant(tenant.slug) as (session, _):
        contact = await session.get(Contact, contact_id)
        assert contact is not None
        return contact


async def mailed_link(tenant, invitation_id: int, monkeypatch) -> tuple[str, str]:
    """Run the platform's invitation mailer for the invitation; return (recipient, link path)."""
    sent: list[tuple[str, mail.RenderedMail]] = []

    async def capture(to, rendered, **_kw):
        sent.append((to, rendered))

    monkeypatch.setattr(mail, "send", capture)
    event = Event(
        uuid.uuid4(), INVITATION_CREATED, tenant.id, {"invitation_id": invitation_id}, datetime.now(UTC)
    )
    async with in_tenant(tenant.slug) as (session, _):
        await security_mail.mail_invitation(event, session)
    assert len(sent) == 1
    to, rendered = sent[0]
    link = re.search(r"https?://[^/\s]+(/invitation\?token=\S+)", rendered.text)
    assert link, rendered.text
    return to, link.group(1)


async def accept(app, tenant, path: str, name: str = "Wang Fang") -> tuple[int, str]:
    """Accept the invitation at ``path`` in a fresh browser; (status, where it leads)."""
    async with browser(app, tenant) as b:
        page = await b.get(path)
        assert page.status_code == 200, page.text[:300]
        token = unquote(path.split("token=", 1)[1])
        r = await b.post(
            "/invitation", {"token": token, "full_name": name, "password": PASSWORD, "confirm": PASSWORD}
        )
        assert r.status_code == 303
        start = await b.get(r.headers["location"])
        assert (start.status_code, start.headers["location"]) == (303, "/portal")
        portal = await b.get("/portal")
        return portal.status_code, portal.text


async def invitation_of(tenant, contact_id: int) -> Invitation:
    async with in_tenant(tenant.slug) as (session, _):
        contact = await session.get(Contact, contact_id)
        assert contact is not None
        assert contact.portal_invitation_id is not None
        invitation = await session.get(Invitation, contact.portal_invitation_id)
        assert invitation is not None
        return invitation


# --- staff invite a contact ------------------------------------------------------------------


async def test_an_invited_contact_accepts_and_lands_in_their_own_portal(app, acme, monkeypatch):
    email = f"wang.{mark()}@customer.example"
    account_id, contact_id = await new_contact(acme, email.upper())
    async with signed_in(app, acme, "ada") as admin:
        r = await admin.post(f"/crm/contacts/{contact_id}/portal-invitation", {"next": "/crm/accounts"})
        assert (r.status_code, r.headers["location"]) == (303, "/crm/accounts")
    invitation = await invitation_of(acme, contact_id)
    assert (invitation.email, invitation.role_keys, invitation.full_name) == (
        email,
        ["customer"],
        "Wang Fang",
    )
    assert invitation.invited_by_id == acme.users["ada"]
    to, path = await mailed_link(acme, invitation.id, monkeypatch)
    assert to == email
    status, portal = await accept(app, acme, path)
    assert status == 200
    assert "Welcome, Wang Fang" in portal
    async with in_tenant(acme.slug) as (session, _):
        user = (await session.execute(select(User).where(User.email == email))).scalar_one()
        contact = await session.get(Contact, contact_id)
    assert (user.is_external, contact.portal_user_id, contact.account_id) == (True, user.id, account_id)


async def test_inviting_with_htmx_answers_the_contact_pages_portal_card(app, acme):
    email = f"hx.{mark()}@customer.example"
    _, contact_id = await new_contact(acme, email)
    async with signed_in(app, acme, "ada") as admin:
        await admin.get("/")
        r = await admin.htmx("POST", f"/crm/contacts/{contact_id}/portal-invitation")
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<div class="card" id="portal-access">')
    assert f"Invitation sent to {email}. Once they accept it, they can use the customer portal." in r.text
    assert "The invitation has not been accepted yet." in r.text
    assert "Send a new invitation" in r.text
    assert (await invitation_of(acme, contact_id)).status == "pending"


async def test_carol_an_unlinked_customer_sign_in_is_linked_when_her_contact_is_invited(app, acme):
    carol = acme.users["carol"]
    async with in_tenant(acme.slug) as (session, _):  # carol starts linked to nobody
        await session.execute(
            update(Contact).where(Contact.portal_user_id == carol).values(portal_user_id=None)
        )
    async with customer_browser(app, acme, acme.email("carol")) as b:
        before = await b.get("/portal")
    assert before.status_code == 403
    assert "Your sign-in is not linked to a customer account yet" in before.text
    _, contact_id = await new_contact(acme, acme.email("carol"), name="Carol Customer")
    invitations_before = await table_counts(acme, "invitations")
    async with signed_in(app, acme, "ada") as admin:
        r = await admin.post(f"/crm/contacts/{contact_id}/portal-invitation", {"next": "/crm/accounts"})
        page = await admin.get("/")
    assert r.status_code == 303
    assert (
        f"{acme.email('carol')} already had a customer sign-in; it is now linked to this contact."
        in page.text
    )
    assert await table_counts(acme, "invitations") == invitations_before
    assert (await contact_row(acme, contact_id)).portal_user_id == carol
    async with customer_browser(app, acme, acme.email("carol")) as b:
        after = await b.get("/portal")
    assert after.status_code == 200
    assert "Welcome, Carol Customer" in after.text


async def test_refused_invitations_change_nothing(app, acme):
    _, no_email = await new_contact(acme, None)
    _, staff_email = await new_contact(acme, acme.email("alice"))
    linked_email = f"linked.{mark()}@customer.example"
    _, linked = await new_contact(acme, linked_email)
    async with in_tenant(acme.slug) as (session, _):
        user = await customer_user(session, linked_email, "Linked Person")
        (await session.get(Contact, linked)).portal_user_id = user.id
    cases = [
        (no_email, 409, "Add an e-mail address to this contact before inviting them to the portal."),
        (staff_email, 409, f"The e-mail address {acme.email('alice')} already belongs to another sign-in."),
        (linked, 409, "This contact already has a portal sign-in."),
        (987654321, 404, "not found"),
    ]
    before = await table_counts(acme, *ACCESS_TABLES)
    async with signed_in(app, acme, "ada") as admin:
        for contact_id, status, message in cases:
            r = await admin.post(f"/crm/contacts/{contact_id}/portal-invitation", {})
            assert r.status_code == status, (contact_id, r.status_code)
            assert message in r.text
        htmx = await admin.htmx("POST", f"/crm/contacts/{no_email}/portal-invitation")
    async with signed_in(app, acme, "alice") as rep:  # no admin.users.manage
        forbidden = await rep.post(f"/crm/contacts/{no_email}/portal-invitation", {})
    assert htmx.status_code == 409
    assert htmx.text.lstrip().startswith('<div class="card" id="portal-access">')
    assert forbidden.status_code == 403
    assert await table_counts(acme, *ACCESS_TABLES) == before
    assert (await contact_row(acme, no_email)).portal_invitation_id is None


# --- sign-up against a known account ---------------------------------------------------------


async def test_signup_answers_the_same_for_known_and_unknown_addresses(app, acme, monkeypatch):
    email = f"li.{mark()}@customer.example"
    _, contact_id = await new_contact(acme, email, name="Li Na")
    async with browser(app, acme) as b:
        await b.get("/portal/signup")
        known = await b.post("/portal/signup", {"email": f"  {email.upper()} "})
        before = await table_counts(acme, *ACCESS_TABLES)
        unknown = await b.post("/portal/signup", {"email": f"nobody.{mark()}@customer.example"})
        assert await table_counts(acme, *ACCESS_TABLES) == before
    assert (known.status_code, unknown.status_code) == (200, 200)

    def neutral(r) -> str:
        return re.sub(r"If \S+ belongs", "If … belongs", r.text.split('<div class="card">', 1)[1])

    assert NEUTRAL in known.text
    assert neutral(known) == neutral(unknown)
    invitation = await invitation_of(acme, contact_id)
    assert (invitation.email, invitation.role_keys, invitation.invited_by_id) == (email, ["customer"], None)
    _, path = await mailed_link(acme, invitation.id, monkeypatch)
    status, portal = await accept(app, acme, path, name="Li Na")
    assert (status, "Welcome, Li Na" in portal) == (200, True)
    assert (await contact_row(acme, contact_id)).portal_user_id is not None


async def test_the_signup_mail_speaks_the_language_chosen_on_the_page(app, acme):
    email = f"chen.{mark()}@customer.example"
    _, contact_id = await new_contact(acme, email, name="陈静")
    async with browser(app, acme) as b:
        await b.get("/portal/signup")
        await b.post("/i18n/locale", {"locale": "zh_Hant", "next": "/portal/signup"})
        await b.get("/portal/signup")
        assert (await b.post("/portal/signup", {"email": email})).status_code == 200
    invitation = await invitation_of(acme, contact_id)
    assert (invitation.locale, invitation.full_name) == ("zh_Hant", "陈静")


async def test_signup_sends_nothing_for_addresses_that_already_sign_in_or_are_linked(app, acme):
    _, staff = await new_contact(acme, acme.email("sam"))
    before = await table_counts(acme, *ACCESS_TABLES)
    async with browser(app, acme) as b:
        await b.get("/portal/signup")
        for email in (acme.email("sam"), acme.email("carol")):
            r = await b.post("/portal/signup", {"email": email})
            assert (r.status_code, NEUTRAL in r.text) == (200, True)
        bad = await b.post("/portal/signup", {"email": "not an address"})
    assert bad.status_code == 422
    assert "Enter a valid e-mail address." in bad.text
    assert await table_counts(acme, *ACCESS_TABLES) == before
    assert (await contact_row(acme, staff)).portal_invitation_id is None


async def test_signup_is_rate_limited_per_address_and_per_ip(app, acme):
    email = f"flood.{mark()}@customer.example"
    await new_contact(acme, email)
    async with browser(app, acme) as b:
        await b.get("/portal/signup")
        codes = [(await b.post("/portal/signup", {"email": email})).status_code for _ in range(4)]
        limited = await b.post("/portal/signup", {"email": email})
        others = [
            (await b.post("/portal/signup", {"email": f"n{i}.{mark()}@x.example"})).status_code
            for i in range(7)
        ]
    assert codes == [200, 200, 200, 429]
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 3000
    assert "Too many sign-up requests. Try again in 60 minutes." in limited.text
    assert others == [200] * 5 + [429] * 2  # ten requests per IP address per hour


# --- the linking rules -----------------------------------------------------------------------


async def _principal(tenant, user_id: int) -> Principal:
    from app.security.principal import load_user_principal

    async with in_tenant(tenant.slug) as (session, ref):
        principal = await load_user_principal(session, ref, user_id)
        assert principal is not None
        return principal


async def _invite_from_admin_pages(tenant, email: str) -> int:
    """An invitation with the customer role sent from Admin › Invitations (no contact records it)."""
    async with in_tenant(tenant.slug) as (session, ref):
        admin = Principal(kind="user", id=tenant.users["ada"], tenant=ref, label="ada", grants={})
        invitation = await invitations.invite_user(session, admin, email=email, role_keys=["customer"])
        return invitation.id


async def test_a_customer_invited_from_the_admin_pages_is_linked_to_the_one_contact_with_that_address(
    app, acme, monkeypatch
):
    email = f"solo.{mark()}@customer.example"
    _, contact_id = await new_contact(acme, email)
    _, path = await mailed_link(acme, await _invite_from_admin_pages(acme, email), monkeypatch)
    status, portal = await accept(app, acme, path)
    assert status == 200
    assert "Welcome, Wang Fang" in portal
    assert (await contact_row(acme, contact_id)).portal_user_id is not None


async def test_nobody_is_linked_when_the_address_is_ambiguous_or_was_never_proven(app, acme, monkeypatch):
    twice = f"twice.{mark()}@customer.example"
    _, first = await new_contact(acme, twice)
    _, second = await new_contact(acme, twice.upper())
    _, path = await mailed_link(acme, await _invite_from_admin_pages(acme, twice), monkeypatch)
    status, _page = await accept(app, acme, path)
    assert status == 403
    unproven = f"made.{mark()}@customer.example"
    _, third = await new_contact(acme, unproven)
    async with in_tenant(acme.slug) as (session, _):
        user = await customer_user(session, unproven, "Made Directly")
    async with in_tenant(acme.slug) as (session, _):
        assert await portal_access.link_invited_user(session, await _principal(acme, user.id)) is False
    for contact_id in (first, second, third):
        assert (await contact_row(acme, contact_id)).portal_user_id is None


async def test_the_first_portal_visit_links_an_accepted_invitation_the_hook_missed(app, acme, monkeypatch):
    email = f"late.{mark()}@customer.example"
    _, contact_id = await new_contact(acme, email)
    async with signed_in(app, acme, "ada") as admin:
        assert (await admin.post(f"/crm/contacts/{contact_id}/portal-invitation", {})).status_code == 303
    _, path = await mailed_link(acme, (await invitation_of(acme, contact_id)).id, monkeypatch)
    monkeypatch.setattr(invitations, "_ACCEPTANCE_HOOKS", [])
    status, portal = await accept(app, acme, path)
    assert status == 200
    assert "Welcome, Wang Fang" in portal
    async with in_tenant(acme.slug) as (session, _):
        user = (await session.execute(select(User).where(User.email == email))).scalar_one()
    assert (await contact_row(acme, contact_id)).portal_user_id == user.id
