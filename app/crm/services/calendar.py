"""The organisation's calendar: "today" for due dates, validity and order dates is the tenant's
local date (a payment due on 5 December is overdue from 6 December in Shanghai, not in UTC)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from app.kernel import context


def tenant_today() -> date:
    tenant = context.current_tenant()
    return datetime.now(ZoneInfo(tenant.timezone if tenant else "UTC")).date()
