"""The P&L's "leave out year-end closings" part names the source type in its SQL text rather than
as a bound value, so even the prepared statement's generic plan finds the (rare) closings through
ix_fin_entries_source instead of reading every entry of the range (bench/README.md, section 8)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import event

from app.finance.services import statements
from tenants.service import in_tenant
from tests.tenants.conftest import make_tenant  # noqa: F401  (fixture)


async def test_the_year_end_filter_is_written_into_the_statement(make_tenant):  # noqa: F811
    tenant = await make_tenant("finplan", locale="zh_Hans")
    seen: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    async with in_tenant(tenant.slug) as (session, _):
        engine = session.bind.sync_engine  # type: ignore[union-attr]
        event.listen(engine, "before_cursor_execute", capture)
        try:
            await statements.profit_and_loss(session, date(2026, 3, 15), date(2026, 9, 14))
        finally:
            event.remove(engine, "before_cursor_execute", capture)
    assert any("source_type IN ('finance.year_end')" in s for s in seen), seen
