"""Fixtures of the finance tests."""

from __future__ import annotations

from typing import Any

import pytest

from app.finance.services.setup import ensure_finance
from tenants.service import in_tenant
from tests.tenants.conftest import make_tenant  # noqa: F401  (fixture)
from tests.world import TenantWorld


@pytest.fixture
async def books(make_tenant: Any) -> TenantWorld:  # noqa: F811
    """A fresh tenant keeping its books on 企业会计准则 (its language is Chinese): VAT 13 / 9 / 6 %,
    1122 应收账款, 6001 主营业务收入, 222101 销项税额, 1002 银行存款; only ``ada`` signs in."""
    tenant: TenantWorld = await make_tenant("ar", locale="zh_Hans")
    async with in_tenant(tenant.slug) as (session, _):
        await ensure_finance(session)
    return tenant
