"""Invitations over the API: invite, read, list, revoke (PLAT-9)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text

from tests.api.conftest import create_team, marker, problem_of


async def _outbox_payloads(topic: str) -> list[dict]:
    from app.kernel.db import get_database

    async with get_database().engine.connect() as conn:
        rows = await conn.execute(text("SELECT payload FROM public.outbox WHERE topic = :t"), {"t": topic})
        return [r[0] for r in rows]


async def test_inviting_answers_201_with_the_invitation_and_queues_the_mail(api, acme):
    m = marker()
    team_id = await create_team(acme, f"Team {m}")
    r = await api.post(
        "/api/v1/invitations",
        json={
            "email": f"{m}@Invited.example",
            "full_name": "Ida Invitee",
            "roles": ["sales_rep", "marketer"],
            "team_id": team_id,
            "locale": "zh_Hans",
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["location"] == f"/api/v1/invitations/{body['id']}"
    created = datetime.fromisoformat(body["created_at"])
    assert datetime.fromisoformat(body["expires_at"]) - created - timedelta(days=7) < timedelta(seconds=5)
    assert {k: v for k, v in body.items() if k not in ("id", "created_at", "expires_at")} == {
        "email": f"{m}@invited.example",
        "full_name": "Ida Invitee",
        "roles": ["marketer", "sales_rep"],
        "team_id": team_id,
        "status": "pending",
        "locale": "zh_Hans",
        "invited_by_id": None,  # an API client, not a person
        "accepted_at": None,
        "accepted_user_id": None,
        "revoked_at": None,
    }
    assert {"invitation_id": body["id"]} in await _outbox_payloads("security.invitation_created")
    assert (await api.get(f"/api/v1/invitations/{body['id']}")).json() == body


async def test_revoking_is_idempotent_and_closes_the_invitation(api):
    created = await api.post(
        "/api/v1/invitations", json={"email": f"{marker()}@x.example", "roles": ["employee"]}
    )
    url = f"/api/v1/invitations/{created.json()['id']}/revoke"
    first, second = await api.post(url), await api.post(url)
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["status"] == "revoked"
    assert second.json() == first.json()
    assert first.json()["revoked_at"] is not None


async def test_an_accepted_invitation_cannot_be_revoked(api, acme):
    from app.kernel.db import utcnow
    from app.security.models import Invitation
    from tenants.service import in_tenant

    created = await api.post(
        "/api/v1/invitations", json={"email": f"{marker()}@x.example", "roles": ["employee"]}
    )
    async with in_tenant(acme.slug) as (session, _ref):
        (await session.get(Invitation, created.json()["id"])).accepted_at = utcnow()
    r = await api.post(f"/api/v1/invitations/{created.json()['id']}/revoke")
    assert r.status_code == 409
    assert (problem_of(r)["code"], r.json()["detail"]) == (
        "invitation_closed",
        "This invitation was already accepted.",
    )


async def test_an_unknown_invitation_is_a_404(api):
    for r in (
        await api.get("/api/v1/invitations/987654321"),
        await api.post("/api/v1/invitations/987654321/revoke"),
    ):
        assert r.status_code == 404
        assert problem_of(r)["detail"] == "The invitation was not found."
