"""Record rules (PLAT-4): own / team / all, applied by restrict() and get_visible() alike."""

from __future__ import annotations

import pytest
from sqlalchemy import BigInteger, Identity, String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.kernel.db import get_database
from app.kernel.errors import NotFound
from app.security.permissions import CRM_LEAD_READ, CRM_LEAD_WRITE
from app.security.principal import load_user_principal
from app.security.record_rules import can_write, get_visible, restrict
from tenants.service import in_tenant


class _Base(DeclarativeBase):
    pass


class Deal(_Base):
    """A stand-in for a scoped CRM record (the real ones arrive with the CRM issue)."""

    __tablename__ = "rr_test_deals"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    title: Mapped[str] = mapped_column(String(50))
    owner_id: Mapped[int | None] = mapped_column(BigInteger)
    team_id: Mapped[int | None] = mapped_column(BigInteger)


@pytest.fixture(scope="module")
async def deals(acme):
    from app.security.models import User

    engine = get_database().tenant_engine(acme.schema)
    async with engine.begin() as conn:
        await conn.run_sync(_Base.metadata.create_all)
    async with in_tenant("acme") as (session, _):
        east = (
            await session.execute(select(User.team_id).where(User.id == acme.users["alice"]))
        ).scalar_one()
        rows = [
            ("alice-1", acme.users["alice"], east),
            ("alice-2", acme.users["alice"], east),
            ("sam-1", acme.users["sam"], east),
            ("bob-1", acme.users["bob"], None),
            ("orphan", None, None),
        ]
        session.add_all([Deal(title=t, owner_id=o, team_id=tm) for t, o, tm in rows])
    yield
    async with engine.begin() as conn:
        await conn.run_sync(_Base.metadata.drop_all)


async def _titles_for(acme, persona: str) -> list[str]:
    async with in_tenant("acme") as (session, ref):
        principal = await load_user_principal(session, ref, acme.users[persona])
        stmt = restrict(select(Deal.title), Deal, principal, CRM_LEAD_READ).order_by(Deal.title)
        return list((await session.execute(stmt)).scalars())


async def test_sales_rep_sees_own_records_only(acme, deals):
    assert await _titles_for(acme, "alice") == ["alice-1", "alice-2"]


async def test_sales_manager_sees_the_team(acme, deals):
    assert await _titles_for(acme, "sam") == ["alice-1", "alice-2", "sam-1"]


async def test_admin_sees_all(acme, deals):
    assert await _titles_for(acme, "ada") == ["alice-1", "alice-2", "bob-1", "orphan", "sam-1"]


async def test_without_the_permission_nothing_is_visible(acme, deals):
    assert await _titles_for(acme, "bob") == []


async def test_aggregates_obey_the_same_rule(acme, deals):
    async with in_tenant("acme") as (session, ref):
        alice = await load_user_principal(session, ref, acme.users["alice"])
        count = await session.scalar(restrict(select(func.count(Deal.id)), Deal, alice, CRM_LEAD_READ))
    assert count == 2


async def test_hidden_record_looks_missing_and_is_not_writable(acme, deals):
    async with in_tenant("acme") as (session, ref):
        alice = await load_user_principal(session, ref, acme.users["alice"])
        sam = await load_user_principal(session, ref, acme.users["sam"])
        sams_deal = (await session.execute(select(Deal).where(Deal.title == "sam-1"))).scalar_one()
        with pytest.raises(NotFound):
            await get_visible(session, Deal, sams_deal.id, alice, CRM_LEAD_READ, "lead")
        assert (await get_visible(session, Deal, sams_deal.id, sam, CRM_LEAD_READ, "lead")).title == "sam-1"
        alices = (await session.execute(select(Deal).where(Deal.title == "alice-1"))).scalar_one()
        assert can_write(alices, alice, CRM_LEAD_WRITE) is True
        assert can_write(sams_deal, alice, CRM_LEAD_WRITE) is False
        assert can_write(alices, sam, CRM_LEAD_WRITE) is True
