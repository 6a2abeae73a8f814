"""The service demo seeder (CRM-10/11): three months of tickets consistent with the SLA policies,
repair records to the cent, surveys on closed tickets — seeded once."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app.crm.models import (
    Account,
    Contact,
    Product,
    ServicePart,
    ServiceRecord,
    SlaPolicy,
    Survey,
    Ticket,
    TicketMessage,
)
from app.crm.services.satisfaction import satisfaction_results
from app.crm.services.service_demo import seed_service_demo
from app.kernel.db import utcnow
from app.security.principal import load_user_principal
from app.security.services.users import create_user
from tenants.service import in_tenant


async def count(session, model) -> int:  # type: ignore[no-untyped-def]
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_the_demo_seeder_builds_a_consistent_service_desk_once(world):
    from app.kernel.db import get_database
    from tenants.provisioning import ProvisionRequest, provision_tenant

    slug = f"svc{uuid.uuid4().hex[:8]}"
    result = await provision_tenant(
        get_database().engine, ProvisionRequest(slug=slug, name="Demo", admin_email=f"a@{slug}.example")
    )
    async with in_tenant(slug) as (s, ref):
        await seed_service_demo(s)  # no accounts yet: nothing to build on
        assert await count(s, Ticket) == 0
        for i in range(30):
            account = Account(name=f"Customer {i}", kind="company", lifecycle_stage="customer")
            s.add(account)
            await s.flush()
            s.add(Contact(account_id=account.id, full_name=f"Contact {i}", email=f"c{i}@customer.example"))
        await create_user(
            s, email=f"sid@{slug}.example", full_name="Sid", password="correct horse battery",
            role_keys=["service_agent"],
        )  # fmt: skip
        s.add_all(
            Product(sku=f"P{i}", name=f"Part {i}", list_price=Decimal(price), currency="CNY")
            for i, price in enumerate(["88.50", "260.00", "0.35"])
        )
        await s.flush()
        await seed_service_demo(s)
        first = {m.__name__: await count(s, m) for m in (Ticket, TicketMessage, ServiceRecord, Survey)}
        await seed_service_demo(s)
        assert {
            m.__name__: await count(s, m) for m in (Ticket, TicketMessage, ServiceRecord, Survey)
        } == first
        assert first["Ticket"] == 141
        tickets = list((await s.execute(select(Ticket))).scalars())
        by_status = {
            st: sum(t.status == st for t in tickets)
            for st in ("new", "open", "pending", "resolved", "closed")
        }
        assert by_status == {"new": 7, "open": 9, "pending": 7, "resolved": 8, "closed": 110}
        policies = {p.id: p for p in (await s.execute(select(SlaPolicy))).scalars()}
        for t in tickets:
            policy = policies[t.sla_policy_id]  # type: ignore[index]
            assert policy.priority == t.priority
            assert t.first_response_due_at == t.created_at + timedelta(minutes=policy.first_response_minutes)
            assert t.resolution_due_at == t.created_at + timedelta(minutes=policy.resolution_minutes)
            if t.status in ("resolved", "closed"):
                assert t.response_breached == (t.first_responded_at > t.first_response_due_at)  # type: ignore[operator]
                assert t.resolution_breached == (t.resolved_at > t.resolution_due_at)  # type: ignore[operator]
            assert t.escalation_level == int(t.response_breached) + int(t.resolution_breached)
            assert t.created_at <= t.updated_at <= utcnow()
        assert {t.status for t in tickets if t.response_breached} - {
            "closed",
            "resolved",
        }  # live overdue tickets
        assert await s.scalar(select(func.count()).select_from(Survey)) == by_status["closed"]
        for record in (await s.execute(select(ServiceRecord))).scalars():
            parts = list(
                (await s.execute(select(ServicePart).where(ServicePart.record_id == record.id))).scalars()
            )
            assert record.parts_total == sum((p.amount for p in parts), 0)
            assert record.total == record.labour_total + record.parts_total
            assert all(p.amount == (p.quantity * p.unit_cost).quantize(Decimal("0.01")) for p in parts)
        assert await count(s, ServicePart) > 0
        ada = await load_user_principal(s, ref, result.admin_user_id)
        assert ada is not None
        results = await satisfaction_results(
            s, ada, utcnow() - timedelta(days=120), utcnow() + timedelta(days=1)
        )
        assert len([r for r in results.by_agent if r.key is not None]) == 3  # Sid and the two who joined him
        assert 0 < results.total.responses < results.total.surveys
