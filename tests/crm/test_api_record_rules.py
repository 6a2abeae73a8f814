"""Record rules through the API (CRM issue: "in lists, boards, reports, exports and API alike"):
an API client created to act for a person gets that person's record scope (own / team / all) and
only the scopes both hold; a client of the whole organisation sees every record of its scopes."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, update

from app.crm.models import Lead
from app.kernel.errors import ValidationFailed
from app.security.models import ApiClient, User
from app.security.permissions import ADMIN_USERS_READ, CRM_LEAD_READ, CRM_LEAD_WRITE
from tenants.service import create_api_client, in_tenant
from tests.api.conftest import bearer, token_for
from tests.crm.factories.leads import add_lead
from tests.helpers import signed_in


async def _leads(acme, m: str) -> dict[str, int]:
    """Three leads named after the marker: alice's, sam's (same team, East) and dave's (West)."""
    ids = {}
    async with in_tenant(acme.slug) as (s, _):
        for who, team in (("alice", "East"), ("sam", "East"), ("dave", "West")):
            lead = await add_lead(s, f"Rule {m} {who}", owner_id=acme.users[who], team_id=acme.teams[team])
            ids[who] = lead.id
    return ids


async def _names(client, m: str) -> list[str]:
    r = await client.get("/api/v1/crm/leads", params={"q": f"Rule {m}", "limit": 50})
    assert r.status_code == 200, r.text
    return sorted(item["full_name"] for item in r.json()["items"])


async def test_a_client_acting_for_a_person_sees_what_that_person_sees(app, acme):
    m = uuid.uuid4().hex[:8]
    ids = await _leads(acme, m)
    scopes = [CRM_LEAD_READ, CRM_LEAD_WRITE]
    for_alice = await create_api_client(
        acme.slug, name="Alice's sync", scopes=scopes, acting_user=acme.email("alice")
    )
    for_sam = await create_api_client(
        acme.slug, name="Sam's sync", scopes=scopes, acting_user=acme.email("sam")
    )
    everyone = await create_api_client(acme.slug, name="Org sync", scopes=scopes)
    async with bearer(app, acme.host, await token_for(app, acme, for_alice)) as alice:
        me = (await alice.get("/api/v1/me")).json()
        assert (me["client_id"], me["acts_for"]) == (for_alice.client.client_id, acme.email("alice"))
        assert await _names(alice, m) == [f"Rule {m} alice"]  # own
        assert (await alice.get(f"/api/v1/crm/leads/{ids['alice']}")).status_code == 200
        assert (await alice.get(f"/api/v1/crm/leads/{ids['sam']}")).status_code == 404  # hidden = not found
        refused = await alice.patch(f"/api/v1/crm/leads/{ids['dave']}", json={"score": 99})
        assert refused.status_code == 404
    async with bearer(app, acme.host, await token_for(app, acme, for_sam)) as sam:
        assert await _names(sam, m) == [f"Rule {m} alice", f"Rule {m} sam"]  # the East team
    async with bearer(app, acme.host, await token_for(app, acme, everyone)) as org:
        assert (await org.get("/api/v1/me")).json()["acts_for"] is None
        assert await _names(org, m) == [f"Rule {m} alice", f"Rule {m} dave", f"Rule {m} sam"]
    async with in_tenant(acme.slug) as (s, _):
        score = await s.scalar(select(Lead.score).where(Lead.id == ids["dave"]))
    assert score != 99
    # The portal list of the same person shows the same leads.
    async with signed_in(app, acme, "alice") as b:
        page = await b.get(f"/sales/leads?q=Rule {m}")
    assert f"Rule {m} alice" in page.text
    assert f"Rule {m} sam" not in page.text


async def test_the_client_holds_only_what_its_person_holds_and_stops_with_them(app, acme, globex):
    # A scope the person lacks cannot be given to a client acting for them.
    with pytest.raises(ValidationFailed) as refused:
        await create_api_client(
            acme.slug, name="Too much", scopes=[ADMIN_USERS_READ], acting_user=acme.email("alice")
        )
    assert [(e.field, e.params.get("scopes")) for e in refused.value.errors] == [
        ("acting_user_id", ADMIN_USERS_READ)
    ]
    for who in (
        acme.email("carol"),
        "nobody@acme.example",
        globex.email("ada"),
    ):  # customer, unknown, other tenant
        with pytest.raises(ValidationFailed) as refused:
            await create_api_client(acme.slug, name="X", scopes=[CRM_LEAD_READ], acting_user=who)
        assert [e.field for e in refused.value.errors] == ["acting_user_id"], who
    async with in_tenant("acme") as (s, _):
        assert await s.scalar(select(ApiClient.id).where(ApiClient.name.in_(["Too much", "X"]))) is None

    # A person who leaves takes their clients' access with them, at once.
    m = uuid.uuid4().hex[:8]
    async with in_tenant(acme.slug) as (s, _):
        from app.security.services.users import create_user

        leaver = await create_user(
            s,
            email=f"leaver{m}@acme.example",
            full_name="Lee Ver",
            password="a long password 1",
            role_keys=["sales_rep"],
        )
    issued = await create_api_client(
        acme.slug, name="Leaver", scopes=[CRM_LEAD_READ], acting_user=leaver.email
    )
    assert issued.client.acting_user_id == leaver.id
    token = await token_for(app, acme, issued)
    async with bearer(app, acme.host, token) as client:
        assert (await client.get("/api/v1/crm/leads")).status_code == 200
        async with in_tenant(acme.slug) as (s, _):
            await s.execute(update(User).where(User.id == leaver.id).values(is_active=False))
        gone = await client.get("/api/v1/crm/leads")
    assert gone.status_code == 401
    assert "no longer active" in gone.json()["detail"]


async def test_the_admin_page_creates_a_client_for_a_person(app, acme):
    m = uuid.uuid4().hex[:8]
    async with signed_in(app, acme, "ada") as b:
        page = await b.get("/admin/api-clients")
        assert 'name="acting_user_id"' in page.text
        bad = await b.post(
            "/admin/api-clients",
            {"name": f"Bad {m}", "scopes": [ADMIN_USERS_READ], "acting_user_id": str(acme.users["alice"])},
        )
        assert bad.status_code == 422
        assert "does not hold these scopes" in bad.text
        ok = await b.post(
            "/admin/api-clients",
            {"name": f"Alice {m}", "scopes": [CRM_LEAD_READ], "acting_user_id": str(acme.users["alice"])},
        )
        assert ok.status_code == 303
        listing = await b.get("/admin/api-clients")
    async with in_tenant(acme.slug) as (s, _):
        rows = (
            await s.execute(
                select(ApiClient.name, ApiClient.acting_user_id).where(ApiClient.name.like(f"% {m}"))
            )
        ).all()
    assert rows == [(f"Alice {m}", acme.users["alice"])]
    assert "Alice Rep" in listing.text
