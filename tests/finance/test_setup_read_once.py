"""``ensure_finance`` reads the chart template once per transaction (every finance entry point of a
request asks for it), and never remembers it past the transaction or savepoint it was read in."""

from __future__ import annotations

from app.finance.services.setup import ensure_finance
from tenants.service import in_tenant
from tests.helpers import sql_sent
from tests.tenants.conftest import make_tenant  # noqa: F401  (fixture)


async def test_the_template_is_read_once_per_transaction(make_tenant):  # noqa: F811
    tenant = await make_tenant("finonce", locale="zh_Hans")
    async with in_tenant(tenant.slug) as (session, _):
        with sql_sent("fin_settings") as seen:
            assert [await ensure_finance(session) for _ in range(3)] == ["cas", "cas", "cas"]
            assert len(seen) == 1
            await session.commit()
            assert await ensure_finance(session) == "cas"  # a new transaction reads it again
            assert len(seen) == 2


async def test_nothing_read_in_a_savepoint_outlives_it(make_tenant):  # noqa: F811
    tenant = await make_tenant("finsave", locale="zh_Hans")
    async with in_tenant(tenant.slug) as (session, _):
        with sql_sent("fin_settings") as seen:
            savepoint = await session.begin_nested()
            assert await ensure_finance(session) == "cas"
            await savepoint.rollback()
            assert await ensure_finance(session) == "cas"
            assert len(seen) == 2  # read again after the savepoint, not answered from memory
