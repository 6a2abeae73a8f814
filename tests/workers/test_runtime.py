"""The actors' runtime: work for a tenant that is gone is skipped; a suspended tenant's events
are applied, but nobody is mailed a link into an organisation that is closed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select

from app.kernel.db import get_database
from app.kernel.events import Event
from app.kernel.outbox import OutboxEvent
from app.security.models import Invitation
from app.security.principal import Principal
from app.security.services.invitations import INVITATION_CREATED, invite_user
from tenants.provisioning import ProvisionRequest, provision_tenant
from tenants.service import in_tenant, suspend_tenant
from workers.models import ProcessedMessage
from workers.runtime import apply_event

MAIL_INVITATION = "app.security.handlers.mail_invitation"


async def _records(event_id: uuid.UUID) -> int:
    async with get_database().shared_session() as s:
        stmt = select(func.count()).select_from(ProcessedMessage).where(ProcessedMessage.event_id == event_id)
        return int(await s.scalar(stmt) or 0)


async def test_an_event_for_a_tenant_that_is_gone_is_skipped(world):
    event = Event(uuid.uuid4(), INVITATION_CREATED, 987_654_321, {"invitation_id": 1}, datetime.now(UTC))

    assert await apply_event(MAIL_INVITATION, event) is False
    assert await _records(event.event_id) == 0


async def test_a_suspended_tenant_gets_no_invitation_mail(world, mailbox):
    slug = f"paused{uuid.uuid4().hex[:6]}"
    made = await provision_tenant(
        get_database().engine,
        ProvisionRequest(
            slug=slug, name="Paused Ltd", admin_email=f"ada@{slug}.example", admin_password="x" * 12
        ),
    )
    email = f"late-{uuid.uuid4().hex[:6]}@example.com"
    async with in_tenant(slug) as (session, ref):
        admin = Principal(kind="user", id=made.admin_user_id, tenant=ref, label="ada", grants={})
        invitation = await invite_user(session, admin, email=email, role_keys=["employee"])
    await suspend_tenant(slug, reason="unpaid")
    async with get_database().shared_session() as s:
        row = (
            await s.execute(
                select(OutboxEvent).where(
                    OutboxEvent.tenant_id == made.tenant_id, OutboxEvent.topic == INVITATION_CREATED
                )
            )
        ).scalar_one()
    event = Event(row.event_id, row.topic, row.tenant_id, row.payload, row.created_at)

    assert await apply_event(MAIL_INVITATION, event) is True

    assert await _records(event.event_id) == 1
    assert mailbox.to(email) == []
    async with in_tenant(slug) as (session, _):
        assert (await session.get(Invitation, invitation.id)).token_hash is None  # type: ignore[union-attr]
