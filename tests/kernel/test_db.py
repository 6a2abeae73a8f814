"""The process's database connections carry Tessera's own settings (app/kernel/db.py)."""

from __future__ import annotations

from sqlalchemy import text

from app.kernel.db import Database, get_database
from app.settings import get_settings


async def test_connections_use_utc_and_the_ssd_page_cost(world):
    async with get_database().engine.connect() as conn:
        settings = (
            await conn.execute(
                text("SELECT current_setting('TimeZone'), current_setting('random_page_cost')")
            )
        ).one()
    assert tuple(settings) == ("UTC", "1.1")


async def test_an_empty_page_cost_leaves_the_servers_setting(world):
    db = Database(get_settings().database_url or "", pool_size=1, max_overflow=0, statement_cache_size=0)
    try:
        async with db.engine.connect() as conn:
            cost = (await conn.execute(text("SELECT current_setting('random_page_cost')"))).scalar_one()
    finally:
        await db.dispose()
    assert cost == "4"  # PostgreSQL's default, as the test servers are configured
